"""Rounds on kept-alive connections: every request sent before any reply is waited for, each reply
read within the round's deadline, and what is cut short never reused.

The first round to an acceptor opens its connection (tests/test_client.py covers that); each test
here warms the connection with one ordinary round before the behaviour under test begins, so the
round under test runs on the open connection.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
import trustme

from paxos_shell.core import wire
from paxos_shell.core.wire import ERROR, GRANTED, NO_RESPONSE, Phase
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.net.courier import Courier

from .helpers.fake import HOST, Fake, Handler, trickle, warm
from .helpers.wait import wait_until


def ports(f: Fake) -> set[int]:
    return {s.peer_port for s in f.seen}


@pytest.mark.parametrize("warmed", [(1, 2), (1,)], ids=["both-open", "one-open-one-new"])
def test_every_request_is_written_before_any_reply_is_read(fake: Any, client: Any, warmed: tuple[int, ...]) -> None:
    """Acceptor 1 answers only once acceptor 2 has its request: asking them one after another
    from one thread would wait out the round's timeout here."""
    second_asked = threading.Event()
    f1 = fake(lambda h: (second_asked.wait(10), h.protocol()))
    f2 = fake(lambda h: (second_asked.set(), h.protocol()))
    c = client({1: f1.url, 2: f2.url}, timeout=10)
    warm(c, {i: (f1, f2)[i - 1] for i in warmed})
    second_asked.clear()
    rnd = c.prepare(5, [1, 2])
    assert [(r.acceptor, r.kind, r.promised_id) for r in rnd.replies] == [(1, GRANTED, 5), (2, GRANTED, 5)]
    assert rnd.elapsed < 5, f"the round took {rnd.elapsed:.1f} s: the requests went out one reply at a time"
    assert len(ports(f1)) == 1, "the open connection was not the one used"


HEAD_1000 = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"


def test_a_trickling_reply_on_an_open_connection_ends_at_the_deadline(fake: Any, client: Any) -> None:
    stop = threading.Event()
    f = fake(trickle(HEAD_1000, stop, 0.1))
    c = client({1: f.url}, timeout=0.5)
    warm(c, {1: f})
    rnd = c.state([1])
    stop.set()
    assert (rnd.replies[0].kind, rnd.replies[0].cause, rnd.replies[0].reached) == (NO_RESPONSE, "timeout", True)
    assert rnd.elapsed < 5, f"the trickle held the round {rnd.elapsed:.1f} s past its 0.5 s timeout"
    f.behaviour = Handler.protocol
    assert c.prepare(2, [1]).replies[0].kind == GRANTED
    assert len(ports(f)) == 2, "the connection cut at the deadline was used again"


def test_a_timeout_shortened_after_a_long_one_is_kept(fake: Any, client: Any) -> None:
    """A round's deadline is its own: a 0.5 s round after one of 30 s ends at 0.5 s."""
    stop = threading.Event()
    f = fake()
    c = client({1: f.url}, timeout=30)
    warm(c, {1: f})
    assert c.prepare(2, [1]).replies[0].kind == GRANTED  # a 30 s round on the open connection
    c.timeout = 0.5
    f.behaviour = trickle(HEAD_1000, stop, 0.1)
    rnd = c.state([1])
    stop.set()
    assert (rnd.replies[0].kind, rnd.replies[0].cause) == (NO_RESPONSE, "timeout")
    assert rnd.elapsed < 5, f"the round took {rnd.elapsed:.1f} s with a 0.5 s timeout"


def test_ctrl_c_while_reading_returns_at_once_and_cuts_the_request(acceptors: Any, fake: Any, client: Any) -> None:
    got, hung_up = threading.Event(), threading.Event()

    def hang(h: Handler) -> None:
        got.set()
        h.rfile.read(1)  # returns when the client shuts its socket down
        hung_up.set()
        h.close_connection = True

    (a,) = acceptors(1)
    f = fake()
    c = client({1: f.url, 2: a.url}, timeout=60)
    warm(c, {1: f})
    assert c.prepare(1, [2]).replies[0].kind == GRANTED
    f.behaviour = hang

    def interrupt() -> None:
        # Acceptor 1 holds the request, and acceptor 2's grant is the round's (not merely "not in
        # flight": 2 may not have been asked yet when 1 already holds its request).
        if got.wait(30) and wait_until(lambda: c.in_flight() == [1] and c.answered() == [2], 30):
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    rnd = c.prepare(3, [1, 2])
    assert rnd.interrupted and rnd.elapsed < 30
    assert [(r.kind, r.cause) for r in rnd.replies] == [(NO_RESPONSE, "interrupted"), (GRANTED, None)]
    assert hung_up.wait(10), "the abandoned request was left to run into its 60 s timeout"
    f.behaviour = Handler.protocol
    assert c.prepare(4, [1]).replies[0].kind == GRANTED


def test_a_reply_broken_off_on_an_open_connection_may_have_acted(fake: Any, client: Any) -> None:
    def broken(h: Handler) -> None:
        h.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ignored": false')
        h.close_connection = True

    f = fake(broken)
    c = client({1: f.url})
    warm(c, {1: f})
    r = c.prepare(2, [1]).replies[0]
    assert (r.kind, r.cause, r.may_have_acted) == (NO_RESPONSE, "connection closed mid-reply", True)


def test_a_huge_reply_on_an_open_connection_is_cut_and_the_connection_dropped(fake: Any, client: Any) -> None:
    sent = [0]

    def huge(h: Handler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 67108864\r\n\r\n")
        try:
            while sent[0] < 64 << 20:
                h.wfile.write(b" " * 65536)
                sent[0] += 65536
        except OSError:
            pass
        h.close_connection = True

    f = fake(huge)
    c = client({1: f.url})
    warm(c, {1: f})
    r = c.prepare(2, [1]).replies[0]
    assert (r.kind, r.cause) == (ERROR, "reply larger than 1 MiB: cut off")
    f.behaviour = Handler.protocol
    assert c.prepare(3, [1]).replies[0].kind == GRANTED
    assert len(ports(f)) == 2 and sent[0] < 64 << 20


def test_a_restarted_acceptor_on_an_open_connection_is_silence_then_reached_again(acceptors: Any,
                                                                                  client: Any) -> None:
    (a,) = acceptors(1)
    c = client({1: a.url})
    assert c.prepare(1, [1]).replies[0].kind == GRANTED
    a.kill()
    sock = c.connection(1)
    assert sock is not None and select.select([sock], [], [], 10)[0]  # the kernel closed it: FIN arrived
    r = c.prepare(2, [1]).replies[0]
    assert (r.kind, r.cause, r.reached) == (NO_RESPONSE, wire.REFUSED, False)
    a.start()
    assert c.round(Phase.PREPARE, [1], {"id": 3}).replies[0].kind == GRANTED


def test_nothing_is_left_to_read_on_a_connection_after_a_round(fake: Any, client: Any) -> None:
    """Every reply is read to its end: a byte left behind would be taken for the next reply."""
    f = fake()
    c = client({1: f.url})
    warm(c, {1: f})
    for n in range(2, 30):
        assert c.prepare(n, [1]).replies[0].promised_id == n
        sock = c.connection(1)
        assert isinstance(sock, socket.socket) and not select.select([sock], [], [], 0)[0]
    assert len(ports(f)) == 1  # only the first round opened a connection


def test_rounds_over_tls_use_the_verified_connection(fake: Any, client: Any, tmp_path: Path) -> None:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(ctx)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    f = fake(tls=ctx)
    c = client({1: f.url}, options=ClientOptions(ca_bundle=str(bundle)))
    for n in range(1, 11):
        assert c.prepare(n, [1]).replies[0].promised_id == n
    assert c.state([1]).replies[0].body == {"promisedId": 10, "acceptedId": -1, "acceptedValue": None}
    assert len(ports(f)) == 1


def blocked_signals(native_id: int) -> set[int]:
    """The signals a thread of this process blocks, from the kernel's own account of it."""
    with open(f"/proc/self/task/{native_id}/status") as f:
        mask = int(next(line for line in f if line.startswith("SigBlk:")).split()[1], 16)
    return {sig for sig in range(1, 65) if mask >> (sig - 1) & 1}


def test_signals_for_the_shell_reach_its_main_thread_only(fake: Any, client: Any) -> None:
    """A Ctrl-C the kernel handed to a round's worker thread would leave the main thread asleep
    in the round's wait until its timeout; every helper thread blocks them."""
    f = fake()
    c = client({1: f.url})
    warm(c, {1: f})
    assert c.prepare(2, [1]).replies[0].kind == GRANTED
    helpers = [t for t in threading.enumerate() if t.name.startswith("round")]
    assert helpers and {t.name.split("_")[0] for t in helpers} == {"round"}
    for t in helpers:
        assert t.native_id is not None
        assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} <= blocked_signals(t.native_id), t.name
    assert signal.SIGINT not in blocked_signals(threading.main_thread().native_id or 0)


def test_a_request_on_the_open_connection_is_the_one_sent_on_a_new_one(fake: Any, client: Any) -> None:
    """Same method, request-target, headers (credentials included) and header order on a kept-alive
    connection as on the one just opened."""
    f = fake()
    options = ClientOptions(headers=(("X-Api-Key", "k-1"),), auth=("ann", "pw"))
    c = client({1: f.url + "/"}, options=options)
    assert c.prepare(1, [1]).replies[0].kind == GRANTED  # it opens the connection
    assert c.prepare(2, [1]).replies[0].kind == GRANTED  # on the open connection
    first, second = f.seen
    assert (first.method, first.target.replace("id=1", "id=2")) == (second.method, second.target)
    assert list(first.headers.items()) == list(second.headers.items())
    assert first.headers["Authorization"].startswith("Basic ") and first.headers["X-Api-Key"] == "k-1"
    assert first.peer_port == second.peer_port


def test_ctrl_c_after_a_request_left_on_the_open_connection_says_it_may_have_acted(
        fake: Any, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On an open connection the round's own thread writes the request before the acceptor's
    courier takes over (Link.write_ahead): a Ctrl-C between the two finds it gone, and says so.
    On a new connection nothing has left by then, and the reply says that instead."""
    f_open, f_new = fake(), fake()
    c = client({1: f_open.url, 2: f_new.url})
    warm(c, {1: f_open})

    def ctrl_c(courier: Courier, job: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Courier, "send", ctrl_c)
    rnd = c.prepare(7, [1])
    assert rnd.interrupted
    r = rnd.replies[0]
    assert (r.kind, r.cause, r.may_have_acted) == (NO_RESPONSE, "interrupted", True)
    assert wait_until(lambda: f_open.state.promised_id == 7, 10), "the request written ahead never arrived"
    r = c.prepare(8, [2]).replies[0]
    assert (r.kind, r.cause, r.may_have_acted) == (NO_RESPONSE, "interrupted", False)
    monkeypatch.undo()
    assert c.prepare(9, [1, 2]).replies[0].kind == GRANTED
    assert [s.target for s in f_new.seen] == ["/api/paxos/prepare?id=9"], "the interrupted request left"


@pytest.mark.parametrize("secure", [False, True], ids=["http", "tls"])
def test_an_acceptor_that_stopped_reading_never_holds_up_the_round(fake: Any, client: Any, tls: Any,
                                                                   secure: bool) -> None:
    """Acceptor 1 answers, then stops reading that connection: the next request does not fit in
    the socket's buffers. The round's thread never waits on a write: the request goes once, on a
    new connection (what left on the old one is incomplete, over TLS part of a record: never a
    request it could act on)."""
    release = threading.Event()

    def answer_then_stop_reading(h: Handler) -> None:
        h.protocol()
        if len(f.seen) == 1:
            release.wait(60)

    f = fake(answer_then_stop_reading, tls=tls[0] if secure else None)
    f.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    pad = tuple((f"X-Pad-{i}", "x" * 16000) for i in range(8))  # 128 KB of headers in every request
    c = client({1: f.url}, timeout=30,
               options=ClientOptions(ca_bundle=tls[1].ca_bundle if secure else None, headers=pad))
    try:
        assert c.prepare(1, [1]).replies[0].kind == GRANTED
        sock = c.connection(1)
        assert sock is not None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        rnd = c.prepare(2, [1])
        assert (rnd.replies[0].kind, rnd.replies[0].promised_id) == (GRANTED, 2)
        assert rnd.elapsed < 15, f"the round waited {rnd.elapsed:.1f} s on a write the acceptor never read"
        assert [s.target for s in f.seen] == ["/api/paxos/prepare?id=1", "/api/paxos/prepare?id=2"]
        assert len(ports(f)) == 2
    finally:
        release.set()
