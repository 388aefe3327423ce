"""Adversarial rounds on kept-alive connections (each request on its acceptor's thread, cut at the round's
deadline) mixed with acceptors that are new, dead, hung, slow, trickling, resetting, misframing or
hostile.

Every test warms the connections it means to test with one ordinary round first, so the round under
test runs on the open connection. An adversarial review of an earlier design (the round's own thread
writing every request and reading whole replies) wrote these; each docstring says the scenario and
what the user saw when the client got it wrong. They hold for any design.
"""

from __future__ import annotations

import array
import fcntl
import os
import select
import signal
import socket
import termios
import threading
import time
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from paxos_shell.core.wire import ERROR, GRANTED, NO_RESPONSE, REFUSED
from paxos_shell.net.transport import Link
from paxos_shell.runtime import signals

from .helpers import dead_url
from .helpers.fake import HOST, Fake, Handler, trickle, warm, wire_json
from .helpers.wait import wait_until


def ports(f: Fake) -> set[int]:
    return {s.peer_port for s in f.seen}


def summary(rnd: Any) -> list[tuple[int, str, Any]]:
    return [(r.acceptor, r.kind, r.cause) for r in rnd.replies]


# -- one slow reply must not hide the others ------------------------------------------------


SLOW_BODY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
SLOW_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: "
SLOW_UNSIZED = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"ignored": false, '
"""Starts of a grant that then trickles: in the body, in a header line, in a body whose end is the close."""


def test_a_trickling_reply_does_not_hold_up_a_reply_that_came_in_time(fake: Any, client: Any) -> None:
    """Acceptor 1 starts its reply and then trickles it; acceptor 2 grants at once, well inside the
    timeout. A round thread that sat in acceptor 1's read until the deadline reported acceptor 2's
    grant as a timeout (no quorum) or with the trickler's latency. Each reply is read on a thread
    of its own, so acceptor 2 is granted with its own latency."""
    written, stop = threading.Event(), threading.Event()
    f1 = fake(trickle(SLOW_BODY, stop, written=written))
    f2 = fake(lambda h: (written.wait(10), h.protocol()))
    c = client({1: f1.url, 2: f2.url}, timeout=0.5)
    warm(c, {1: f1, 2: f2})
    try:
        rnd = c.prepare(5, [1, 2])
    finally:
        stop.set()
    assert [s.target for s in f2.seen][-1] == "/api/paxos/prepare?id=5" and f2.state.promised_id == 5
    first, second = rnd.replies
    assert (first.kind, first.cause) == (NO_RESPONSE, "timeout")
    assert (second.kind, second.promised_id) == (GRANTED, 5), second
    assert second.latency < first.latency, "acceptor 2's reply was read only after acceptor 1's was given up"


@pytest.mark.parametrize("start", [SLOW_HEAD, SLOW_UNSIZED], ids=["in-a-header", "in-an-unsized-body"])
def test_a_reply_cut_at_the_deadline_is_a_timeout_that_may_have_acted(fake: Any, client: Any, start: bytes) -> None:
    """The acceptor applied the prepare and its grant is still trickling in at the deadline. A cut
    socket looks like a normal end to http.client inside a header block or an unsized body, so a
    read cut at the deadline once came back as "not a paxos acceptor", an answer that did not act,
    about an acceptor that did. It must be a timeout that may have acted."""
    written, stop = threading.Event(), threading.Event()
    f = fake(trickle(start, stop, written=written))
    c = client({1: f.url}, timeout=1.0)
    warm(c, {1: f})
    try:
        r = c.prepare(5, [1]).replies[0]
    finally:
        stop.set()
    assert (r.kind, r.cause, r.may_have_acted) == (NO_RESPONSE, "timeout", True), r


# -- what is left on a kept-alive connection -------------------------------------------------


def next_request_arrived(h: Handler) -> bool:
    """The client has written its next request on this connection (bounded wait)."""
    return bool(select.select([h.connection], [], [], 10)[0])


def test_an_early_hints_reply_does_not_leave_the_real_reply_for_the_next_round(fake: Any, client: Any) -> None:
    """The acceptor (or a CDN in front of it) sends 103 Early Hints, then its real reply. http.client
    skips only 100 Continue and takes the 103 for the answer; the client used to keep the
    connection, and prepare 3 then read the late reply to prepare 2 as its own (promisedId 2).
    An interim reply ends the exchange as silence that may have acted, its connection closed."""

    def hints_first(h: Handler) -> None:
        if h.path.endswith("id=2"):
            h.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            next_request_arrived(h)
        h.protocol()

    f = fake(hints_first)
    c = client({1: f.url})
    warm(c, {1: f})
    f.behaviour = hints_first
    second = c.prepare(2, [1]).replies[0]
    third = c.prepare(3, [1]).replies[0]
    assert f.state.promised_id == 3 and [s.target[-4:] for s in f.seen] == ["id=1", "id=2", "id=3"]
    assert (third.kind, third.promised_id) == (GRANTED, 3), third
    assert second.kind != ERROR or second.may_have_acted, second


def http_reply(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


READ_SIZE = 8192
"""What http.client asks of the socket per read (io.DEFAULT_BUFFER_SIZE): bytes past it stay unread."""


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_bytes_left_after_a_reply_are_never_read_as_the_next_reply(fake: Any, client: Any, tls: Any,
                                                                   scheme: str) -> None:
    """A misbehaving acceptor writes its reply to prepare 2, padding, and the same reply again, in one
    write. Over plain HTTP the leftover waits in the kernel, where the kept-alive check sees it. Over
    TLS it waits decrypted in the TLS layer, where poll cannot see it: prepare 3 used to go out on
    that connection and read the stale copy as its answer (promisedId 2). The connection must be
    replaced either way."""

    def twice(h: Handler) -> None:
        if not h.path.endswith("id=2"):
            h.protocol()
            return
        reply = http_reply(wire_json(h.server.fake.apply(h.path.split("?")[0], {"id": "2"})))
        h.wfile.write(reply + b" " * (READ_SIZE - len(reply)) + reply)  # one write: one TLS record

    f = fake(tls=tls[0] if scheme == "https" else None)
    c = client({1: f.url}, options=tls[1] if scheme == "https" else None)
    warm(c, {1: f})
    f.behaviour = twice
    assert c.prepare(2, [1]).replies[0].promised_id == 2
    third = c.prepare(3, [1]).replies[0]
    assert (third.kind, third.promised_id) == (GRANTED, 3), third
    assert f.state.promised_id == 3


def test_a_reply_that_comes_after_the_deadline_is_never_taken_by_the_next_round(fake: Any, client: Any) -> None:
    """Prepare 2 times out on the open connection; its reply comes later, once prepare 3 is on its
    way (after the check that no stray bytes wait on a kept connection). Prepare 3 must read its
    own reply (promisedId 3, on a new connection), not the late one."""
    answered = threading.Event()

    def late(h: Handler) -> None:
        if not h.path.endswith("id=2"):
            h.protocol()
            return
        next_request_arrived(h)  # or the client's hang-up
        try:
            h.protocol()  # applies prepare 2, answering a client that gave up on it
        except OSError:
            h.close_connection = True
        finally:
            answered.set()

    f = fake()
    c = client({1: f.url}, timeout=0.3)
    warm(c, {1: f})
    f.behaviour = late
    second = c.prepare(2, [1]).replies[0]
    third = c.prepare(3, [1]).replies[0]
    assert answered.wait(10)
    assert (second.kind, second.cause, second.may_have_acted) == (NO_RESPONSE, "timeout", True)
    assert (third.kind, third.promised_id) == (GRANTED, 3), third
    assert len(ports(f)) == 2 and f.state.promised_id == 3


def unread(sock: Any) -> int:
    """Bytes that have arrived on a client socket and that the client has not read yet."""
    buf = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, buf)
    return buf[0]


def consumed(sock: Any, timeout: float = 10.0) -> bool:
    """Until the client has read everything that arrived on `sock` (bounded)."""
    return wait_until(lambda: not unread(sock), timeout)


def hang_until_cut(got: threading.Event, cut: threading.Event, first: bytes = b"") -> Callable[[Handler], None]:
    """Optionally starts a reply, then waits for the client to hang up (its read then ends)."""

    def hang(h: Handler) -> None:
        if first:
            h.wfile.write(first)
        got.set()
        h.rfile.read(1)
        cut.set()
        h.close_connection = True

    return hang


def test_ctrl_c_while_reading_a_body_returns_at_once_and_cuts_every_request_in_flight(fake: Any,
                                                                                     client: Any) -> None:
    """Acceptor 3 (open) has answered; acceptor 1 (open) is halfway through its body and the round
    thread is reading it; acceptor 2 (a new connection, on a worker) has its request and is silent.
    Ctrl-C: the round returns now, in the order asked, with 3's grant; both requests in flight are
    cut (each acceptor sees the hang-up); no link is left busy, and the next round reaches all."""
    got1, cut1, got2, cut2 = (threading.Event() for _ in range(4))
    f1, f2, f3 = fake(), fake(), fake()
    c = client({1: f1.url, 2: f2.url, 3: f3.url}, timeout=20)
    warm(c, {1: f1, 3: f3})
    sock1 = c.connection(1)
    three_read = threading.Event()
    body = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{"ignored": '

    def after_three(h: Handler) -> None:
        three_read.wait(10)
        hang_until_cut(got1, cut1, body)(h)

    three_answered = threading.Event()
    f1.behaviour, f2.behaviour = after_three, hang_until_cut(got2, cut2)

    def answer(h: Handler) -> None:
        h.protocol()
        three_answered.set()

    f3.behaviour = answer

    def interrupt() -> None:
        if not (three_answered.wait(10) and wait_until(lambda: 3 not in c.in_flight())):
            return
        three_read.set()
        if got1.wait(10) and got2.wait(10) and consumed(sock1):
            os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt, daemon=True)
    t.start()
    rnd = c.prepare(5, [3, 1, 2])
    t.join(10)
    assert rnd.interrupted and rnd.elapsed < 15
    assert summary(rnd) == [(3, GRANTED, None), (1, NO_RESPONSE, "interrupted"), (2, NO_RESPONSE, "interrupted")]
    assert cut1.wait(10) and cut2.wait(10), "a request in flight was left to run into its timeout"
    assert c.in_flight() == []
    f1.behaviour = f2.behaviour = Handler.protocol
    assert [r.kind for r in c.prepare(6, [1, 2, 3]).replies] == [GRANTED] * 3


def test_a_round_of_every_kind_of_acceptor_costs_one_timeout(fake: Any, client: Any, blackhole: Any) -> None:
    """Open and answering, open and hung (four of them), new and answering, refused, new and hung:
    the replies come in the order asked, each with its own cause, and the hung ones cost one
    timeout between them, not one each. The hung requests are cut when the round gives up."""
    got, cuts = threading.Event(), [threading.Event() for _ in range(4)]
    fast, hung = fake(), [fake() for _ in range(4)]
    newcomer, hole = fake(), blackhole()
    urls = {1: fast.url, **{i: f.url for i, f in enumerate(hung, 2)}, 6: newcomer.url, 7: dead_url(), 8: hole.url}
    c = client(urls, timeout=0.5)
    warm(c, {1: fast, **dict(enumerate(hung, 2))})
    for f, cut in zip(hung, cuts):
        f.behaviour = hang_until_cut(got, cut)
    rnd = c.prepare(5, [8, 7, 6, 5, 4, 3, 2, 1])
    assert summary(rnd) == [(8, NO_RESPONSE, "timeout"), (7, NO_RESPONSE, REFUSED), (6, GRANTED, None),
                            *[(i, NO_RESPONSE, "timeout") for i in (5, 4, 3, 2)], (1, GRANTED, None)]
    assert [r.may_have_acted for r in rnd.replies] == [True, False, False, True, True, True, True, False]
    assert rnd.elapsed < 2.0, f"{rnd.elapsed:.2f} s: the hung acceptors were waited for one after another"
    assert all(cut.wait(10) for cut in cuts), "a hung request on an open connection was left open"
    assert c.in_flight() == []


def test_sigterm_during_a_round_ends_it_at_once_and_cuts_what_is_in_flight(fake: Any, client: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM (outside a prompt) ends the shell with 143 from wherever the main thread is: here,
    polling its open connections while a worker waits on a new one. The round ends now, both
    requests in flight are cut (their acceptors see the hang-up), and no link is left busy for the
    session's cleanup."""
    monkeypatch.setattr(signals, "_pending", [])
    previous = signal.signal(signal.SIGTERM, signals._on_signal)
    got1, cut1, got2, cut2 = (threading.Event() for _ in range(4))
    f1, f2 = fake(), fake()
    c = client({1: f1.url, 2: f2.url}, timeout=20)
    warm(c, {1: f1})
    assert c.prepare(2, [1]).replies[0].kind == GRANTED  # a round on the open connection
    f1.behaviour, f2.behaviour = hang_until_cut(got1, cut1), hang_until_cut(got2, cut2)

    def terminate() -> None:
        if got1.wait(10) and got2.wait(10):
            os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=terminate, daemon=True)
    t.start()
    started = time.monotonic()
    try:
        with pytest.raises(SystemExit) as e:
            c.prepare(5, [1, 2])
    finally:
        signal.signal(signal.SIGTERM, previous)
        t.join(10)
    assert e.value.code == 128 + signal.SIGTERM and time.monotonic() - started < 15
    assert cut1.wait(10) and cut2.wait(10), "a request in flight was left to run into its timeout"
    assert c.in_flight() == []


def test_an_acceptor_named_twice_is_asked_once(fake: Any, client: Any) -> None:
    """Client.round([1, 1]) used to send prepare 5 twice and show the second reply (ignored: the
    same id again) in both places, losing the grant. An acceptor is asked once per round."""
    f = fake()
    c = client({1: f.url, 2: fake().url})
    warm(c, {1: f})
    rnd = c.prepare(5, [1, 2, 1])
    assert [(r.acceptor, r.kind, r.promised_id) for r in rnd.replies] == [(1, GRANTED, 5), (2, GRANTED, 5)]
    assert [s.target for s in f.seen].count("/api/paxos/prepare?id=5") == 1


def chunked(h: Handler) -> None:
    """The protocol's reply, in two chunks."""
    parts = urlsplit(h.path)
    body = wire_json(h.server.fake.apply(parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    h.wfile.write(head + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (5, body[:5], len(body) - 5, body[5:]))


def http10(h: Handler) -> None:
    """The protocol's reply as HTTP/1.0 without a Content-Length: the body ends at the close."""
    parts = urlsplit(h.path)
    body = wire_json(h.server.fake.apply(parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}))
    h.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body)
    h.close_connection = True


@pytest.mark.parametrize("framing,connections", [(chunked, 1), (http10, 6)], ids=["chunked", "http-1.0"])
def test_replies_framed_otherwise_are_read_whole_on_the_open_connection(fake: Any, client: Any, framing: Any,
                                                                        connections: int) -> None:
    """A chunked reply is read to its last chunk and the connection kept, nothing left on it; an
    HTTP/1.0 reply ends at the close, and the next round opens a new connection."""
    f = fake(framing)
    c = client({1: f.url})
    for n in range(1, 7):
        assert c.prepare(n, [1]).replies[0].promised_id == n
        sock = c.connection(1)
        assert sock is None or not select.select([sock], [], [], 0)[0]  # closed, or nothing left on it
    assert len(ports(f)) == connections


def test_a_huge_chunked_reply_on_the_open_connection_is_cut_off_unread(fake: Any, client: Any) -> None:
    sent = [0]

    def huge(h: Handler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        try:
            while sent[0] < 64 << 20:
                h.wfile.write(chunk)
                sent[0] += 65536
        except OSError:
            pass
        h.close_connection = True

    f = fake()
    c = client({1: f.url})
    warm(c, {1: f})
    f.behaviour = huge
    r = c.prepare(2, [1]).replies[0]
    assert (r.kind, r.cause, r.may_have_acted) == (ERROR, "reply larger than 1 MiB: cut off", False)
    f.behaviour = Handler.protocol
    assert c.prepare(3, [1]).replies[0].kind == GRANTED
    assert len(ports(f)) == 2 and sent[0] < 64 << 20


# -- requests that cannot be written at once -------------------------------------------------


class Deaf:
    """An acceptor that grants the first request on its first connection, then never reads again
    (a stopped process, a wedged event loop): a large request fills the buffers and its write blocks."""

    def __init__(self) -> None:
        self.sock = socket.create_server((HOST, 0))
        self.url = f"http://{HOST}:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            if len(self.conns) == 1:
                conn.settimeout(10)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    head += conn.recv(4096) or b"\r\n\r\n"
                conn.sendall(http_reply(b'{"ignored": false, "promisedId": 1}'))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def deaf() -> Iterator[Callable[[], Deaf]]:
    made: list[Deaf] = []

    def make() -> Deaf:
        made.append(Deaf())
        return made[-1]

    yield make
    for d in made:
        d.close()


BIG = "v" * (8 << 20)
"""A value far over the protocol's 8 KiB (wire.MAX_VALUE_BYTES), which the client sends all the same."""


def test_acceptors_that_stopped_reading_cost_one_timeout_even_for_a_large_request(client: Any, deaf: Any) -> None:
    """Four acceptors stopped reading (SIGSTOP, a wedged loop) with their connections open, and the
    user accepts a value of 8 MiB (the client does not hold values to the protocol's 8 KiB). Written
    in turn from one thread, each blocked write cost a timeout of its own; each is written on a
    thread of its own, and the round ends at its deadline."""
    deafs = [deaf() for _ in range(4)]
    c = client({i: d.url for i, d in enumerate(deafs, 1)}, timeout=0.5)
    for i in range(1, 5):
        assert c.prepare(1, [i]).replies[0].kind == GRANTED
    rnd = c.accept(2, BIG, [1, 2, 3, 4])
    assert [r.kind for r in rnd.replies] == [NO_RESPONSE] * 4
    assert rnd.elapsed < 1.5, f"{rnd.elapsed:.2f} s: each blocked write was waited out in turn"


def test_ctrl_c_while_handing_out_requests_leaves_the_acceptors_not_yet_asked_untouched(
        fake: Any, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands as the round begins to hand out acceptor 2's request (raised there, exactly:
    its job recorded, nothing written). Acceptor 2's request was never begun, so it cannot have
    acted: its reply must say so, or the session would treat acceptor 2 as possibly holding a
    value it never saw. (Once written, it may have: tests/test_open_connection.py.)"""
    f1, f2 = fake(), fake()
    c = client({1: f1.url, 2: f2.url}, timeout=20)
    warm(c, {1: f1, 2: f2})
    handing = Link.write_ahead
    calls: list[int] = []

    def interrupted(link: Link, method: str, route: str) -> bool:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return handing(link, method, route)

    with monkeypatch.context() as m:
        m.setattr(Link, "write_ahead", interrupted)
        rnd = c.accept(2, "v", [1, 2])
    assert rnd.interrupted
    assert summary(rnd) == [(1, NO_RESPONSE, "interrupted"), (2, NO_RESPONSE, "interrupted")]
    assert rnd.replies[1].may_have_acted is False  # 2's never began (1's may have left)
    assert [s.target for s in f2.seen] == ["/api/paxos/prepare?id=1"], "acceptor 2 was asked after all"
    assert c.accept(3, "w", [1, 2]).ids(GRANTED) == [1, 2]


def test_an_answered_connection_survives_a_round_that_waited_for_a_slow_acceptor(fake: Any, client: Any) -> None:
    """Acceptor 1 answers on its open connection and the round reads it; then acceptor 2 (open too)
    starts a reply that trickles, and keeps the round to its deadline. A deadline watchdog that cut
    every socket the round wrote on also cut acceptor 1's, answered and idle, so the next round
    opened a new connection. Only what is still unanswered is cut."""
    answered, written, stop = threading.Event(), threading.Event(), threading.Event()
    f, slow = fake(), fake()
    c = client({1: f.url, 2: slow.url}, timeout=0.5)
    warm(c, {1: f, 2: slow})
    sock = c.connection(1)

    def answer(h: Handler) -> None:
        h.protocol()
        answered.set()

    def after_one(h: Handler) -> None:
        if answered.wait(10) and consumed(sock):
            trickle(SLOW_BODY, stop, written=written)(h)

    f.behaviour, slow.behaviour = answer, after_one
    try:
        assert summary(c.prepare(2, [1, 2])) == [(1, GRANTED, None), (2, NO_RESPONSE, "timeout")]
    finally:
        stop.set()
    f.behaviour = Handler.protocol
    assert c.prepare(3, [1]).replies[0].kind == GRANTED
    assert len(ports(f)) == 1, "acceptor 1's connection was cut although it had answered"


# -- framings a foreign acceptor may send --------------------------------------------------------


FRAMINGS = {
    "content-length-twice": lambda b: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n%s" % (
        len(b), len(b), b),
    "bare-lf": lambda b: b"HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: %d\n\n%s" % (len(b), b),
    "plus-sign-length": lambda b: b"HTTP/1.1 200 OK\r\nContent-Length: +%d\r\n\r\n%s" % (len(b), b),
    "chunked-and-length": lambda b: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                                    b"%x\r\n%s\r\n0\r\n\r\n" % (len(b), b),
    "bytes-after-the-body": lambda b: http_reply(b) + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    "interim-then-final": lambda b: b"HTTP/1.1 102 Processing\r\n\r\n" + http_reply(b),
}


@pytest.mark.parametrize("framing", list(FRAMINGS))
def test_odd_framings_never_reach_the_next_round(fake: Any, client: Any, framing: str) -> None:
    """A foreign acceptor frames its grant of prepare 2 oddly. Whatever the HTTP library makes of
    it (the grant, a bad reply, or silence that may have acted), the round ends with a reply of
    its own, and prepare 3 reads its own grant, not what prepare 2 left on the connection."""

    def odd(h: Handler) -> None:
        if not h.path.endswith("id=2"):
            h.protocol()
            return
        h.wfile.write(FRAMINGS[framing](wire_json(h.server.fake.apply(h.path.split("?")[0], {"id": "2"}))))

    f = fake()
    c = client({1: f.url}, timeout=2.0)
    warm(c, {1: f})
    f.behaviour = odd
    second = c.prepare(2, [1]).replies[0]
    assert second.kind != GRANTED or second.promised_id == 2, second
    third = c.prepare(3, [1]).replies[0]
    assert (third.kind, third.promised_id) == (GRANTED, 3), third
