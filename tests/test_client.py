"""The client: concurrent rounds, kept-alive connections, and acceptors that are slow, dead, restarted,
hostile, behind TLS or a proxy, or not acceptors at all."""

from __future__ import annotations

import gzip
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import pytest
import trustme

from paxos_shell.core import wire
from paxos_shell.core.urls import redacted
from paxos_shell.core.wire import ERROR, GRANTED, IGNORED, NO_RESPONSE, OK, Phase
from paxos_shell.engine.session import Session
from paxos_shell.net.client import Client, ClientOptions, FaultsUnavailable, TransportBug
from paxos_shell.net.clientopts import parse_auth, parse_header
from paxos_shell.net.tap import TappedHTTPConnection

from .helpers import dead_url, free_port, reset_arrived
from .helpers.fake import HOST, Handler, trickle
from .helpers.wait import wait_until

SECRET = "s3cret-Zq9"


def one(c: Client, phase: Phase = Phase.PREPARE, n: int = 1) -> wire.Reply:
    params = {"id": n, "value": "v"} if phase == Phase.ACCEPT else {} if phase == Phase.STATE else {"id": n}
    return c.round(phase, [1], params).replies[0]


class TestRounds:
    def test_replies_come_in_the_order_asked_with_latency(self, acceptors: Any, client: Any) -> None:
        c = client({a.id: a.url for a in acceptors(3)})
        rnd = c.prepare(7, [3, 1])
        assert [(r.acceptor, r.kind, r.promised_id) for r in rnd.replies] == [(3, GRANTED, 7), (1, GRANTED, 7)]
        assert all(r.latency > 0 and r.params == {"id": 7} for r in rnd.replies)
        assert [r.kind for r in c.prepare(7, [1]).replies] == [IGNORED]  # same id again: the rule is strict

    def test_dead_acceptors_cost_one_timeout_and_say_why(self, acceptors: Any, blackhole: Any, client: Any) -> None:
        (a,) = acceptors(1)
        urls = {1: a.url, 2: blackhole().url, 3: blackhole().url, 4: dead_url(), 5: dead_url()}
        c = client(urls, timeout=0.5)
        session = Session(urls)
        rnd = c.prepare(3, [1, 2, 3, 4, 5])
        session.record(rnd)
        got = {r.acceptor: (r.kind, r.cause, r.may_have_acted) for r in rnd.replies}
        assert got[1] == (GRANTED, None, False)
        assert got[2] == got[3] == (NO_RESPONSE, "timeout", True)  # silence after sending: it may have acted
        assert got[4] == got[5] == (NO_RESPONSE, "connection refused (down)", False)  # never reached it
        assert rnd.elapsed < 0.5 * 2, f"round took {rnd.elapsed:.2f}s: dead acceptors were waited for one by one"
        assert session.statuses[4].kind == "down" and session.statuses[2].kind == "timeout"

    def test_ctrl_c_returns_at_once_and_cuts_the_hung_request_short(self, acceptors: Any, fake: Any,
                                                                     client: Any) -> None:
        got, hung_up = threading.Event(), threading.Event()

        def hang(h: Handler) -> None:
            got.set()
            h.rfile.read(1)  # returns when the client shuts its socket down
            hung_up.set()
            h.close_connection = True

        (a,) = acceptors(1)
        c = client({1: a.url, 2: fake(hang).url}, timeout=60)

        def interrupt() -> None:
            # Acceptor 2 holds the request, and acceptor 1's grant is the round's: only 2 is in flight.
            if got.wait(30) and wait_until(lambda: c.in_flight() == [2], 30):
                os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt, daemon=True).start()
        rnd = c.prepare(1, [1, 2])
        assert rnd.interrupted and rnd.elapsed < 30
        assert [(r.kind, r.cause) for r in rnd.replies] == [(GRANTED, None), (NO_RESPONSE, "interrupted")]
        assert hung_up.wait(10), "the abandoned request was left to run into its 60 s timeout"

    def test_restarted_acceptor_is_reached_again(self, acceptors: Any, client: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
        connects: list[int] = []
        opened = TappedHTTPConnection.connect

        def counted(conn: Any) -> None:
            connects.append(1)
            opened(conn)

        monkeypatch.setattr(TappedHTTPConnection, "connect", counted)
        (a,) = acceptors(1)
        c = client({1: a.url})
        assert one(c, n=1).kind == GRANTED
        a.kill()
        r = one(c, n=2)
        assert (r.kind, r.cause, r.reached) == (NO_RESPONSE, "connection refused (down)", False)
        assert len(connects) == 2  # one for the first round; refused once, not tried again
        a.start()
        assert one(c, n=3).kind == GRANTED

    def test_a_changed_url_is_followed(self, fake: Any, client: Any) -> None:
        first, second = fake(), fake()
        c = client({1: first.url})
        one(c, Phase.STATE)
        c.urls[1] = second.url
        one(c, Phase.STATE)
        assert (len(first.seen), len(second.seen)) == (1, 1)

    def test_a_base_path_prefixes_every_route(self, fake: Any, client: Any) -> None:
        f = fake()
        c = client({1: f"{f.url}/paxos-1/", 2: f"{f.url}/"})
        rnd = c.prepare(1, [1, 2])
        assert sorted(s.target for s in f.seen) == ["/api/paxos/prepare?id=1", "/paxos-1/api/paxos/prepare?id=1"]
        assert [(r.kind, r.cause) for r in rnd.replies] == [
            (ERROR, "not a paxos acceptor: /paxos-1/api/paxos/prepare answered 404"), (GRANTED, None)]

    def test_a_bad_url_is_a_reply_not_a_crash(self, client: Any) -> None:
        r = one(client({1: "ftp://127.0.0.1:1"}))
        assert (r.kind, r.reached) == (NO_RESPONSE, False)
        assert r.cause == "bad URL ftp://127.0.0.1:1: the scheme must be http or https"


def connecting(port: int) -> bool:
    """A socket of this machine is still connecting to `port` (TCP state SYN_SENT, from /proc/net/tcp)."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return any(int(row[2].split(":")[1], 16) == port and row[3] == "02" for row in rows)


def test_a_request_abandoned_while_connecting_is_never_sent(client: Any) -> None:
    """Ctrl-C while the connection is still being set up (the acceptor's accept queue is full):
    the round says the request never reached it, and when the connection completes later,
    the request does not go out after the round reported."""
    with socket.socket() as srv:
        srv.bind((HOST, 0))
        srv.listen(0)
        port = srv.getsockname()[1]
        filler = socket.create_connection(srv.getsockname(), timeout=5)  # the accept queue is full now
        c = client({1: f"http://{HOST}:{port}"}, timeout=60)

        def interrupt() -> None:
            if wait_until(lambda: connecting(port), 30):
                os.kill(os.getpid(), signal.SIGINT)

        t = threading.Thread(target=interrupt, daemon=True)
        t.start()
        r = one(c)
        t.join(30)
        srv.settimeout(10)
        srv.accept()[0].close()  # room in the queue: the client's retried SYN completes its connection
        late, _ = srv.accept()
        with late:
            late.settimeout(10)
            assert late.recv(4096) == b"", "the abandoned request was sent"
        filler.close()
    assert (r.kind, r.cause, r.may_have_acted) == (NO_RESPONSE, "interrupted", False)


def test_an_undocumented_library_failure_is_an_internal_error_not_silence(fake: Any, client: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """requests or urllib3 raising what they do not document (after an upgrade, say) must not pass
    for an acceptor's silence, which the shell would teach as "may have acted": the round fails,
    naming the acceptor and the exception, and the shell reports it as an internal error."""

    def changed(conn: Any, *args: Any, **kwargs: Any) -> None:
        raise TypeError("request() got an unexpected keyword argument")

    f = fake()
    c = client({1: f.url, 2: fake().url})
    monkeypatch.setattr(TappedHTTPConnection, "request", changed)
    with pytest.raises(TransportBug, match=r"^asking acceptor 1 failed unexpectedly \(TypeError\): a bug, or a change"):
        c.prepare(1, [1])
    assert f.seen == [] and c.in_flight() == []


class TestKeepAlive:
    def test_one_connection_serves_every_round(self, fake: Any, client: Any) -> None:
        f = fake()
        c = client({1: f.url})
        for n in range(1, 21):
            assert one(c, n=n).kind == GRANTED
        assert len({s.peer_port for s in f.seen}) == 1 and len(f.seen) == 20

    def test_a_connection_the_acceptor_closed_while_idle_is_reopened(self, fake: Any, client: Any) -> None:
        closed = threading.Event()

        def answer_then_close(h: Handler) -> None:
            h.protocol()  # keep-alive is not refused: the client believes the connection stays
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            closed.set()

        f = fake(answer_then_close)
        c = client({1: f.url})
        assert one(c, n=1).kind == GRANTED
        assert closed.wait(10)
        sock = c.connection(1)
        assert sock is not None and select.select([sock], [], [], 10)[0]  # the FIN has arrived
        assert one(c, n=2).kind == GRANTED
        assert [s.target for s in f.seen] == ["/api/paxos/prepare?id=1", "/api/paxos/prepare?id=2"]

    def test_a_request_that_left_is_never_sent_again(self, fake: Any, client: Any) -> None:
        """The acceptor applies the prepare and closes without a word: a retry would come back
        'ignored' and lie, so the reply is silence that may have acted."""

        def apply_then_vanish(h: Handler) -> None:
            f.apply(wire.PREPARE, {"id": "5"})
            h.close_connection = True

        f = fake(apply_then_vanish)
        c = client({1: f.url})
        r = one(c, n=5)
        assert (r.kind, r.cause, r.may_have_acted) == (NO_RESPONSE, "connection closed without reply", True)
        assert len(f.seen) == 1 and f.state.promised_id == 5

    def test_a_request_that_never_left_is_sent_again_once(self, fake: Any, client: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
        """The acceptor reset the idle connection, and the check before sending missed it
        (the reset raced it): sending fails, nothing reached the acceptor, so it is sent again."""
        reset = threading.Event()

        def answer_then_reset(h: Handler) -> None:
            h.protocol()
            if len(f.seen) == 1:
                h.reset()
                reset.set()

        f = fake(answer_then_reset)
        c = client({1: f.url})
        assert one(c, n=1).kind == GRANTED
        assert reset.wait(10)
        sock = c.connection(1)
        assert isinstance(sock, socket.socket) and reset_arrived(sock)
        # urllib3's check before reuse, as if it ran just before the reset arrived.
        monkeypatch.setattr(TappedHTTPConnection, "is_connected", property(lambda conn: not conn.is_closed))
        r = one(c, n=2)
        assert (r.kind, r.promised_id) == (GRANTED, 2)
        assert [s.target for s in f.seen] == ["/api/paxos/prepare?id=1", "/api/paxos/prepare?id=2"]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or (HOST, "localhost"))).configure_cert(ctx)
    return ctx


class TestTLS:
    def test_verified_against_the_ca_bundle(self, ca: trustme.CA, fake: Any, client: Any, tmp_path: Path) -> None:
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        f = fake(tls=tls_server(ca))
        c = client({1: f.url}, options=ClientOptions(ca_bundle=str(bundle)))
        assert f.url.startswith("https://")
        assert one(c, n=4).kind == GRANTED and one(c, Phase.STATE).kind == OK
        assert not c.insecure

    def test_refused_without_the_ca_and_nothing_is_sent(self, ca: trustme.CA, fake: Any, client: Any) -> None:
        f = fake(tls=tls_server(ca))
        r = one(client({1: f.url}))
        assert r.kind == NO_RESPONSE and not r.may_have_acted
        assert r.cause == "TLS: certificate verify failed: unable to get local issuer certificate"
        assert f.seen == []

    def test_a_certificate_for_another_host_is_refused(self, ca: trustme.CA, fake: Any, client: Any,
                                                        tmp_path: Path) -> None:
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        f = fake(tls=tls_server(ca, "other.example"))
        r = one(client({1: f.url}, options=ClientOptions(ca_bundle=str(bundle))))
        assert r.cause is not None and r.cause.startswith("TLS: certificate verify failed: IP address mismatch")
        assert r.cause.endswith("not valid for '127.0.0.1'.") and f.seen == []

    def test_insecure_mode_accepts_any_certificate_quietly(self, ca: trustme.CA, fake: Any, client: Any,
                                                           recwarn: pytest.WarningsRecorder) -> None:
        f = fake(tls=tls_server(ca))
        c = client({1: f.url}, options=ClientOptions(insecure=True))
        assert c.insecure and one(c, n=1).kind == GRANTED and one(c, n=2).kind == GRANTED
        assert [w for w in recwarn if "nsecure" in str(w.category)] == []

    def test_bad_options_are_refused_in_one_line(self, tmp_path: Path) -> None:
        junk = tmp_path / "junk.pem"
        junk.write_text("not a certificate\n")
        cases = [
            (ClientOptions(ca_bundle=str(tmp_path / "none.pem")), f"CA bundle {tmp_path}/none.pem: no such file"),
            (ClientOptions(ca_bundle=str(junk)), f"CA bundle {junk}: not a PEM certificate bundle"),
            (ClientOptions(ca_bundle=str(junk), insecure=True), "a CA bundle and insecure mode contradict"),
        ]
        for options, message in cases:
            with pytest.raises(ValueError, match="^" + re.escape(message)) as e:
                Client({1: "https://127.0.0.1:1"}, options=options)
            assert "\n" not in str(e.value)


class TestCredentials:
    def test_auth_and_headers_go_with_every_request(self, fake: Any, client: Any) -> None:
        f = fake()
        options = ClientOptions(headers=(parse_header("X-Api-Key: k-1"), parse_header("Accept: application/json")),
                                auth=parse_auth(f"ann:{SECRET}"))
        c = client({1: f.url}, options=options)
        one(c, n=1), one(c, Phase.ACCEPT), one(c, Phase.STATE)
        with pytest.raises(FaultsUnavailable):
            c.admin_faults(1, "delay_ms=1")
        import base64

        basic = "Basic " + base64.b64encode(f"ann:{SECRET}".encode()).decode()
        assert [(s.path, s.headers.get("Authorization"), s.headers.get("X-Api-Key")) for s in f.seen] == [
            (p, basic, "k-1") for p in (wire.PREPARE, wire.ACCEPT, wire.STATE, wire.ADMIN_FAULTS)]

    def test_credentials_in_the_url_are_sent_and_never_shown(self, fake: Any, client: Any) -> None:
        f = fake()
        url = f"http://ann:{SECRET}@{HOST}:{f.port}"
        assert one(client({1: url})).kind == GRANTED
        assert f.seen[0].headers["Authorization"].startswith("Basic ")
        causes = [one(client({1: f"http://ann:{SECRET}@{HOST}:{free_port()}"})).cause,
                  one(client({1: f"ftp://ann:{SECRET}@{HOST}:1"})).cause]
        assert causes[1] == f"bad URL ftp://ann:***@{HOST}:1: the scheme must be http or https"
        assert all(c and SECRET not in c for c in causes)

    def test_a_password_with_a_raw_slash_is_never_shown(self, client: Any) -> None:
        """`/` ends a URL's authority, so `pa` reads as a port and `ss@...` as a path: the error must
        show neither part of what the user meant as the password."""
        r = one(client({1: f"http://ann:pa/{SECRET}@{HOST}:1"}))
        assert (r.kind, r.cause) == (NO_RESPONSE, f"bad URL http://ann:***@{HOST}:1: not a valid host and port")

    @pytest.mark.parametrize("url,shown", [
        (f"http://ann:{SECRET}@h:8081/x?y=1", "http://ann:***@h:8081/x?y=1"),
        (f"https://{SECRET}@h", "https://***@h"),
        (f"http://ann:{SECRET}@[::1", "http://ann:***@[::1"),  # malformed: still redacted
        ("http://h:8081/a@b", "http://h:8081/a@b"),  # an @ in the path is not userinfo
        ("http://ann:pa/ss@h:1/x", "http://ann:***@h:1/x"),  # a "/" in the password, typed raw
        ("http://ann:pa#s?s@h:1", "http://ann:***@h:1"),
        ("http://[::1]/a@b", "http://[::1]/a@b"),
        (f"ann:{SECRET}@h:1", "ann:***@h:1"),
        ("http://h:8081", "http://h:8081"),
    ])
    def test_redacted(self, url: str, shown: str) -> None:
        assert redacted(url) == shown

    def test_options_never_show_their_secrets(self) -> None:
        options = ClientOptions(headers=(("Authorization", f"Bearer {SECRET}"),), auth=("ann", SECRET))
        assert repr(options) == "ClientOptions(header Authorization: ***, auth ann:***)"
        for text in (f"X-Key {SECRET}", f"X-Key: a\r\nX-Evil: {SECRET}", f"{SECRET}"):
            with pytest.raises(ValueError) as e:
                parse_header(text) if ":" in text or " " in text else parse_auth(text)
            assert SECRET not in str(e.value)


def proxy_env(monkeypatch: pytest.MonkeyPatch, url: str, no_proxy: str = "") -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, url)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, no_proxy)


class TestProxies:
    def test_a_dead_proxy_does_not_break_a_loopback_pool(self, acceptors: Any, client: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
        proxy_env(monkeypatch, dead_url())
        a, b = acceptors(2)
        c = client({1: a.url, 2: f"http://localhost:{b.port}"})
        assert [r.kind for r in c.prepare(1, [1, 2]).replies] == [GRANTED, GRANTED]

    def test_remote_acceptors_go_through_the_proxy_unless_told_not_to(self, fake: Any, client: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
        proxy, acceptor = fake(), fake()
        proxy_env(monkeypatch, proxy.url)
        remote = f"http://0.0.0.0:{acceptor.port}"  # not loopback by its name; reachable here
        assert one(client({1: remote}), n=1).kind == GRANTED
        assert [s.target for s in proxy.seen] == [f"{remote}/api/paxos/prepare?id=1"] and acceptor.seen == []
        assert one(client({1: remote}, options=ClientOptions(no_proxy=True)), n=2).kind == GRANTED
        proxy_env(monkeypatch, proxy.url, no_proxy="0.0.0.0")
        assert one(client({1: remote}), n=3).kind == GRANTED
        assert len(proxy.seen) == 1 and [s.target for s in acceptor.seen] == [
            "/api/paxos/prepare?id=2", "/api/paxos/prepare?id=3"]

    def test_a_failing_proxy_is_named_without_its_password(self, client: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
        port = free_port()
        proxy_env(monkeypatch, f"http://pat:{SECRET}@{HOST}:{port}")
        r = one(client({1: "http://0.0.0.0:1"}))
        assert (r.kind, r.cause, r.reached) == (NO_RESPONSE, f"proxy http://pat:***@{HOST}:{port}: cannot connect",
                                                False)


def stream(total: int, declared: bool, sent: list[int]) -> Callable[[Handler], None]:
    """A reply of `total` bytes, written until the client stops reading."""

    def send(h: Handler) -> None:
        length = f"Content-Length: {total}" if declared else "Connection: close"
        h.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n\r\n".encode())
        chunk = b" " * 65536
        h.close_connection = True
        try:
            while sent[0] < total:
                h.wfile.write(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass

    return send


class TestHostileReplies:
    @pytest.mark.parametrize("declared", [True, False])
    def test_a_huge_reply_is_cut_off_unread(self, fake: Any, client: Any, declared: bool) -> None:
        total, sent = 64 << 20, [0]
        f = fake(stream(total, declared, sent))
        c = client({1: f.url})
        tracemalloc.start()
        try:
            r = one(c)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (r.kind, r.cause, r.may_have_acted) == (ERROR, "reply larger than 1 MiB: cut off", False)
        assert peak < 4 << 20, f"the client held {peak >> 20} MiB for one reply"
        f.behaviour = Handler.protocol
        assert one(c, n=2).kind == GRANTED  # the cut connection was dropped, a new one works
        assert sent[0] < total

    def test_a_redirect_is_reported_not_followed(self, fake: Any, client: Any) -> None:
        elsewhere = fake()
        target = f"http://ann:{SECRET}@{HOST}:{elsewhere.port}/api/paxos/prepare?id=1"
        f = fake(lambda h: h.respond(307, headers=(f"Location: {target}",)))
        r = one(client({1: f.url}))
        assert (r.kind, r.may_have_acted) == (ERROR, False)
        assert r.cause == (f"HTTP 307: redirected to http://ann:***@{HOST}:{elsewhere.port}/api/paxos/prepare?id=1;"
                           " redirects are not followed")
        assert elsewhere.seen == []

    @pytest.mark.parametrize("status,body,ctype,extra,cause", [
        (404, b"<html><body>Not Found</body></html>", "text/html", (),
         "not a paxos acceptor: /api/paxos/prepare answered 404"),
        (200, b"<!DOCTYPE html><html>Welcome to nginx!</html>", "text/html", (),
         "not a paxos acceptor: the reply is HTML, not JSON"),
        (200, b'{"status": "UP"}', "application/json", (), "not a paxos acceptor: the reply has no boolean 'ignored'"),
        (200, b'["ignored", false]', "application/json", (),
         "not a paxos acceptor: the reply is a JSON array, not an object"),
        (200, gzip.compress(b'{"ignored": false, "promisedId": 1}'), "application/json", ("Content-Encoding: gzip",),
         "not a paxos acceptor: the reply is gzip-encoded although identity was asked"),
        (500, b'{"status": 500, "error": "Internal Server Error", "message": "disk \\u001b[2J full"}',
         "application/json", (), "HTTP 500: disk \\x1b[2J full"),
        (401, b"", "text/plain", (), "HTTP 401 Unauthorized"),
    ])
    def test_what_answers_but_is_not_a_protocol_reply(self, fake: Any, client: Any, status: int, body: bytes,
                                                      ctype: str, extra: tuple[str, ...], cause: str) -> None:
        f = fake(lambda h: h.respond(status, body, ctype, extra))
        r = one(client({1: f.url}))
        assert (r.kind, r.cause, r.may_have_acted) == (ERROR, cause, False)

    def test_a_reply_broken_off_may_have_acted(self, fake: Any, client: Any) -> None:
        def broken(h: Handler) -> None:
            h.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ignored": false')
            h.close_connection = True

        r = one(client({1: fake(broken).url}))
        assert (r.kind, r.cause, r.may_have_acted) == (NO_RESPONSE, "connection closed mid-reply", True)

    def test_a_trickling_reply_ends_at_the_round_timeout(self, fake: Any, client: Any) -> None:
        """Each byte comes within the socket timeout; only the round's own deadline stops it."""
        stop = threading.Event()
        c = client({1: fake(trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", stop, 0.1)).url},
                   timeout=0.5)
        rnd = c.state([1])
        stop.set()
        assert (rnd.replies[0].kind, rnd.replies[0].cause) == (NO_RESPONSE, "timeout") and rnd.elapsed < 5

    def test_a_gateway_timeout_may_have_acted(self, fake: Any, client: Any) -> None:
        r = one(client({1: fake(lambda h: h.respond(504, b"<html>504</html>", "text/html")).url}))
        assert (r.kind, r.may_have_acted) == (NO_RESPONSE, True)
        assert r.cause == "HTTP 504 Gateway Timeout (from a gateway: the acceptor may have acted)"

    def test_a_server_that_does_not_speak_http(self, client: Any) -> None:
        with socket.socket() as srv:
            srv.bind((HOST, 0))
            srv.listen(1)

            def banner() -> None:
                conn, _ = srv.accept()
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
                conn.close()

            t = threading.Thread(target=banner, daemon=True)
            t.start()
            r = one(client({1: f"http://{HOST}:{srv.getsockname()[1]}"}))
            t.join()
        assert (r.kind, r.cause, r.may_have_acted) == (NO_RESPONSE, "not a paxos acceptor: the reply is not HTTP", True)


class TestFaults:
    def test_our_acceptor_with_faults(self, acceptors: Any, client: Any) -> None:
        (a,) = acceptors(1, "--faults")
        c = client({1: a.url})
        assert c.admin_faults(1, "delay_ms=5") == {"delay_ms": 5, "drop_requests": 0, "drop_replies": 0}
        with pytest.raises(ValueError, match=r"^refused these faults: drop_replies must be an integer from 0 to 100$"):
            c.admin_faults(1, "drop_replies=101")

    def test_acceptors_without_fault_injection_say_so(self, acceptors: Any, fake: Any, client: Any) -> None:
        (plain,) = acceptors(1)
        html = fake(lambda h: h.respond(200, b"<html>hi</html>", "text/html"))
        c = client({1: plain.url, 2: html.url, 3: dead_url()})
        advice = "it must be our paxos-acceptor started with --faults, asked from its own machine"
        with pytest.raises(FaultsUnavailable) as e:
            c.admin_faults(1, "delay_ms=5")
        assert str(e.value) == f"does not offer fault injection (/admin/faults answered 404): {advice}"
        with pytest.raises(FaultsUnavailable, match=r"^does not offer fault injection \(/admin/faults answered, but"):
            c.admin_faults(2, "delay_ms=5")
        with pytest.raises(OSError, match=r"^connection refused \(down\)$"):
            c.admin_faults(3, "delay_ms=5")


def imported(*args: str) -> set[str]:
    """The top-level packages a paxos-shell run imported (from -X importtime on stderr)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "paxos_shell", *args],
                         capture_output=True, text=True, timeout=60)
    return {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}


def test_the_shell_starts_without_requests() -> None:
    """requests costs ~0.1 s to import: the shell starts without it and loads it for its first round."""
    pool = ["--url", f"1=http://{HOST}:{free_port()}"]
    assert {"prompt_toolkit", "paxos_shell.shell"} & imported(*pool, "-c", "help")
    assert not {"requests", "urllib3"} & imported(*pool, "-c", "help")
    assert {"requests", "urllib3"} <= imported(*pool, "-c", "state")
    code = ("import sys, paxos_shell.cli, paxos_shell.net.client, paxos_shell.engine.proposer, "
            "paxos_shell.engine.session; "
            "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
