"""Adversarial tests of the request written ahead (transport.Link.write_ahead) and of what a round
says about a request it gave up on.

A round says an acceptor may have acted (Reply.reached) for every request that may have left;
False means the acceptor surely holds nothing from it. These tests place a timeout or a Ctrl-C at
exact points of a round (a courier thread held at a seam stands for one the scheduler left
waiting) and check that what the round says matches what the acceptor did.
"""

from __future__ import annotations

import http.client
import os
import random
import select
import signal
import threading
from typing import Any, Callable

import pytest

from paxos_shell.core import wire
from paxos_shell.core.wire import GRANTED, NO_RESPONSE, PREPARE
from paxos_shell.net import client as client_module
from paxos_shell.net.client import Client, FaultsUnavailable
from paxos_shell.net.courier import Courier
from paxos_shell.net.tap import Tap, TappedHTTPConnection
from paxos_shell.net.transport import Link

from .helpers.fake import Handler, warm, wire_json
from .helpers.wait import wait_until


@pytest.mark.parametrize("how", ["timeout", "ctrl-c"])
def test_a_request_answered_as_the_round_gives_up_may_have_acted(fake: Any, client: Any,
                                                                 monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """The acceptor promised and its reply was read whole; the round's deadline (or a Ctrl-C) comes
    while the courier is still turning the reply into the round's (it holds the link no more). The
    round must say the acceptor may have acted: it holds a promise the session would not know of."""
    f = fake()
    c = client({1: f.url}, timeout=0.3 if how == "timeout" else 30)
    warm(c, {1: f})
    answered, settled = threading.Event(), threading.Event()
    interpret, give_up = client_module._interpret, Client._give_up

    def slow_interpret(*args: Any) -> Any:
        answered.set()
        settled.wait(10)  # the courier thread, not scheduled until the round has settled
        return interpret(*args)

    def settle(self: Client, sid: int) -> bool:
        try:
            return give_up(self, sid)
        finally:
            settled.set()

    monkeypatch.setattr(client_module, "_interpret", slow_interpret)
    monkeypatch.setattr(Client, "_give_up", settle)
    def ctrl_c() -> None:
        if answered.wait(10):
            os.kill(os.getpid(), signal.SIGINT)

    if how == "ctrl-c":
        threading.Thread(target=ctrl_c, daemon=True).start()
    rnd = c.prepare(7, [1])
    r = rnd.replies[0]
    assert f.state.promised_id == 7 and r.kind == NO_RESPONSE
    assert r.may_have_acted, f"the acceptor promised 7, and the round says it cannot have acted ({r.cause})"


def closed_ports(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The client ports whose connection a fake has finished with (read to its end, or cut)."""
    ports: list[int] = []
    finish = Handler.finish

    def finished(h: Handler) -> None:
        try:
            finish(h)
        finally:
            ports.append(h.client_address[1])

    monkeypatch.setattr(Handler, "finish", finished)
    return ports


def opened_and_closed(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """The client ports of the connections fakes accept from now on, and of those they finished."""
    opened: list[int] = []
    finished = closed_ports(monkeypatch)
    setup = Handler.setup

    def started(h: Handler) -> None:
        opened.append(h.client_address[1])
        setup(h)

    monkeypatch.setattr(Handler, "setup", started)
    return opened, finished


def ctrl_c_in_a_round(signum: int, frame: Any) -> None:
    """Ctrl-C, felt only while a round waits or hands out its requests (as the shell's would be):
    one landing after the round has begun to settle, or between rounds, is dropped."""
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    # Not while a link and its courier are being made: test_ctrl_c_while_a_courier_starts_* below.
    if "round" in names and "_settle" not in names and "_link" not in names:
        raise KeyboardInterrupt


def raising(owner: Any, name: str, when: str) -> Any:
    """owner.name, raising KeyboardInterrupt (once, where Ctrl-C would land) before or after it runs."""
    original = owner.__dict__[name]
    fired: list[bool] = []

    def fire() -> None:
        if not fired:
            fired.append(True)
            raise KeyboardInterrupt

    if isinstance(original, property):
        getter: Callable[[Any], Any] = original.fget  # type: ignore[assignment]

        def get(self: Any) -> Any:
            if when == "before":
                fire()
            value = getter(self)
            fire()
            return value
        return property(get)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if when == "before":
            fire()
        result = original(*args, **kwargs)
        fire()
        return result

    return wrapped


POINTS = [(Client, "_link"), (Link, "write_ahead"), (TappedHTTPConnection, "is_connected"), (Tap, "begin"),
          (Tap, "start_writing"), (TappedHTTPConnection, "request"), (http.client.HTTPConnection, "send"),
          (Courier, "send")]


IN_BETWEEN = {("start_writing", "after"), ("send", "before")}
"""Points where the request has begun to be written and not left yet: 'may have acted' is what is known."""


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("owner,name", POINTS, ids=[f"{o.__name__}.{n}" for o, n in POINTS])
def test_ctrl_c_anywhere_in_handing_out_a_request_says_whether_it_left(
        fake: Any, client: Any, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, when: str) -> None:
    """Ctrl-C lands at one exact point as the round hands out acceptor 1's request on its open
    connection. Whatever the point: if the acceptor ever read the request, the round said it may
    have acted; the request is never sent again; the next round is answered on a new connection."""
    f = fake()
    c = client({1: f.url}, timeout=30)
    warm(c, {1: f})
    sock = c.connection(1)
    assert sock is not None
    port = sock.getsockname()[1]
    done = closed_ports(monkeypatch)
    with monkeypatch.context() as m:
        m.setattr(owner, name, raising(owner, name, when))
        rnd = c.prepare(7, [1])
    assert rnd.interrupted and rnd.elapsed < 5
    if c.connection(1) is not sock:  # dropped: once the acceptor is done with it, all it read is seen
        assert wait_until(lambda: port in done, 10), "the interrupted request's connection was left open"
    r = rnd.replies[0]
    arrived = "/api/paxos/prepare?id=7" in [s.target for s in f.seen]
    assert r.may_have_acted or not arrived, "the acceptor read the request, and the round says it cannot have acted"
    if (name, when) not in IN_BETWEEN:
        assert r.may_have_acted == arrived, "a request that never began to be written may have acted, says the round"
    r = c.prepare(8, [1]).replies[0]
    assert (r.kind, r.promised_id) == (GRANTED, 8)
    assert [s.target for s in f.seen].count("/api/paxos/prepare?id=7") <= 1
    assert not arrived or f.seen[-1].peer_port != port, "the next round reused the interrupted connection"


def couriers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("round_")]


def misbehave(h: Handler, what: str) -> None:
    """One of the ways an acceptor answers (or does not) a request it has read."""
    if what == "hang":  # until the client cuts the request
        h.rfile.read(1)
        h.close_connection = True
        return
    if what in ("reset", "close"):  # read, acted on, never answered
        h.server.fake.apply(h.path.split("?")[0], {"id": h.path.rpartition("=")[2]})
        if what == "reset":
            h.reset()
        h.close_connection = True
        return
    if what in ("twice", "stray"):  # in the reply's own write: bytes written later are a race no client wins
        body = wire_json(h.server.fake.apply(h.path.split("?")[0], {"id": h.path.rpartition("=")[2]}))
        reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        h.wfile.write(reply + (reply if what == "twice" else b"HTTP/1.1 200 OK\r\n"))
        return
    if what in ("hints", "continue"):
        h.wfile.write(b"HTTP/1.1 103 Early Hints\r\n\r\n" if what == "hints" else b"HTTP/1.1 100 Continue\r\n\r\n")
    h.protocol()
    if what == "then-close":  # a FIN on the idle connection, as the next round may be writing
        h.close_connection = True
    elif what == "then-reset":
        h.reset()


WAYS = ["answer", "answer", "answer", "hang", "reset", "close", "hints", "continue", "twice", "stray",
        "then-close", "then-reset"]


def test_many_rounds_against_acceptors_that_misbehave_at_random(fake: Any, client: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Three acceptors, each request met by a way chosen at random (seeded), some rounds cut by a
    Ctrl-C at a random instant: every round ends by its deadline, a grant is always the reply to
    its own request, no request is read twice, and none said 'cannot have acted' was ever read."""
    rng = random.Random(20261206)
    plan: dict[tuple[int, str], str] = {}

    def planned(h: Handler) -> None:
        misbehave(h, plan.get((h.server.fake.port, h.path), "answer"))

    fakes = {sid: fake(planned) for sid in (1, 2, 3)}
    opened, done = opened_and_closed(monkeypatch)
    c = client({sid: f.url for sid, f in fakes.items()}, timeout=0.1)
    said_not_acted: list[tuple[int, str]] = []
    timers: list[threading.Timer] = []
    signal.signal(signal.SIGINT, ctrl_c_in_a_round)
    try:
        for n in range(1, 41):
            for f in fakes.values():
                plan[(f.port, f"/api/paxos/prepare?id={n}")] = rng.choice(WAYS)
            if rng.random() < 0.2:
                timers.append(threading.Timer(rng.random() * 0.004, os.kill, (os.getpid(), signal.SIGINT)))
                timers[-1].start()
            rnd = c.prepare(n, [1, 2, 3])
            # The deadline is 0.15 s; the margin is for a loaded machine. A round that waited on a
            # request it gave up on would wait for good ('hang' answers only once cut).
            assert rnd.elapsed < 0.1 + 0.05 + 1.0, f"round {n} took {rnd.elapsed:.2f} s"
            for r in rnd.replies:
                assert r.body is None or r.promised_id == n, f"round {n}: another request's reply was taken: {r}"
                if not r.reached:
                    said_not_acted.append((r.acceptor, f"/api/paxos/prepare?id={n}"))
            if rng.random() < 0.1:
                c.forget(rng.choice([1, 2, 3]))
    finally:
        for t in timers:
            t.join()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    c.close()
    assert wait_until(lambda: len(done) == len(opened), 10), "a connection was left open after close()"
    assert wait_until(lambda: not couriers(), 10), f"threads left after close(): {couriers()}"
    for sid, f in fakes.items():
        targets = [s.target for s in f.seen]
        assert len(targets) == len(set(targets)), f"acceptor {sid} read a request twice"
    read = {(sid, s.target) for sid, f in fakes.items() for s in f.seen} & set(said_not_acted)
    assert not read, f"requests said not to have left were read: {sorted(read)}"


def test_ctrl_c_while_a_courier_starts_leaves_the_acceptor_askable(fake: Any, client: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The first round to an acceptor makes its link, then its courier thread; Ctrl-C lands as the
    thread starts (Thread.start waits for it to run, a wait a signal interrupts). The round says
    the acceptor was not asked; the next round must ask it, and close() must leave no thread."""
    f = fake()
    c = client({1: f.url})
    start = threading.Thread.start

    def interrupted(thread: threading.Thread) -> None:
        start(thread)
        if thread.name.startswith("round_"):  # as start() waits for the courier to run
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(threading.Thread, "start", interrupted)
        rnd = c.prepare(1, [1])
    assert rnd.interrupted and rnd.replies[0].may_have_acted is False
    try:
        r = c.prepare(2, [1]).replies[0]
    except KeyError as e:
        pytest.fail(f"the next round to acceptor 1 failed: KeyError {e} (its link has no courier)")
    assert (r.kind, r.promised_id) == (GRANTED, 2)
    c.close()
    assert wait_until(lambda: not couriers(), 10), f"threads left after close(): {couriers()}"


def test_a_proxied_acceptor_is_never_written_ahead_and_ctrl_c_before_its_courier_says_so(
        fake: Any, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a proxy the courier sends every request (requests decides the proxied form): a
    Ctrl-C before the courier runs leaves nothing sent, and the round says the acceptor cannot
    have acted; the next round goes through the proxy as before."""
    proxy = fake()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, proxy.url)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "")
    remote = f"http://0.0.0.0:{fake().port}"  # not loopback by its name: asked through the proxy
    c = client({1: remote})
    assert c.prepare(1, [1]).replies[0].kind == GRANTED
    assert c.prepare(2, [1]).replies[0].kind == GRANTED
    with monkeypatch.context() as m:
        m.setattr(Courier, "send", raising(Courier, "send", "before"))
        rnd = c.prepare(3, [1])
    assert rnd.interrupted and rnd.replies[0].may_have_acted is False
    r = c.prepare(4, [1]).replies[0]
    assert (r.kind, r.promised_id) == (GRANTED, 4)
    assert [s.target for s in proxy.seen] == [f"{remote}/api/paxos/prepare?id={n}" for n in (1, 2, 4)]


def test_a_request_outside_a_round_after_one_written_ahead_is_sent_and_answered(fake: Any, client: Any) -> None:
    """admin_faults asks outside any round (Client._bounded) on the link a round just wrote ahead
    on: it sends its own request (nothing is left marked as written ahead) and reads its own reply."""
    f = fake()
    c = client({1: f.url})
    warm(c, {1: f})
    assert c.prepare(2, [1]).replies[0].promised_id == 2  # written ahead on the open connection
    with pytest.raises(FaultsUnavailable, match="answered 404"):
        c.admin_faults(1, "delay_ms=0")
    assert c.prepare(3, [1]).replies[0].promised_id == 3
    assert [s.path for s in f.seen] == [PREPARE, PREPARE, wire.ADMIN_FAULTS, PREPARE]
    assert len({s.peer_port for s in f.seen}) == 1


def test_ctrl_c_as_a_round_gives_up_still_returns_the_round_and_cuts_every_request(
        fake: Any, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both acceptors hold their requests (written ahead) past the deadline; Ctrl-C lands as the
    round begins to give up on them (in its first Link.abort). The round must still come back,
    interrupted, saying both may have acted, with neither request left running: a Ctrl-C that
    escaped instead would lose the round (the session never learns that they may hold promise 5)
    and leave acceptor 2's request in flight after the command ended."""
    cut = [threading.Event(), threading.Event()]
    stop = threading.Event()

    def trickle(i: int) -> Callable[[Handler], None]:
        def behave(h: Handler) -> None:
            if not h.path.endswith("id=5"):
                h.protocol()
                return
            h.close_connection = True
            try:  # a reply that keeps coming: no socket timeout fires, only the round's deadline
                h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                while not stop.wait(0.02):
                    h.wfile.write(b" ")
            except OSError:
                cut[i].set()
        return behave

    f1, f2 = fake(trickle(0)), fake(trickle(1))
    c = client({1: f1.url, 2: f2.url}, timeout=0.3)
    warm(c, {1: f1, 2: f2})
    abort, signalled = Link.abort, threading.Event()

    def ctrl_c_then_abort(link: Link) -> bool:
        if not signalled.is_set():  # delivered here, where the main thread gives up on acceptor 1
            signalled.set()
            os.kill(os.getpid(), signal.SIGINT)
        return abort(link)

    with monkeypatch.context() as m:
        m.setattr(Link, "abort", ctrl_c_then_abort)
        try:
            rnd = c.prepare(5, [1, 2])
        except KeyboardInterrupt:
            stop.set()
            pytest.fail(f"Ctrl-C escaped the round; requests still in flight: {c.in_flight()}")
    try:
        assert rnd.interrupted and [r.may_have_acted for r in rnd.replies] == [True, True]
        assert cut[0].wait(10) and cut[1].wait(10), "a request was left running after the round"
    finally:
        stop.set()


def test_a_fin_just_after_the_open_check_is_silence_that_may_have_acted_never_sent_again(
        fake: Any, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The acceptor closes the idle connection just after the round found it open and before the
    request is written ahead: the write lands on a closed socket (the kernel answers with a
    reset). Nothing tells the client whether it was read, so the round says the acceptor may have
    acted, and the request is never sent again; the next round goes on a new connection."""
    close_now = threading.Event()

    def answer_then_close_when_told(h: Handler) -> None:
        h.protocol()
        if close_now.wait(10):
            h.close_connection = True

    f = fake(answer_then_close_when_told)
    c = client({1: f.url}, timeout=10)
    assert c.prepare(1, [1]).replies[0].kind == GRANTED
    sock = c.connection(1)
    assert sock is not None
    check = TappedHTTPConnection.__dict__["is_connected"]

    def stale_check(conn: TappedHTTPConnection) -> bool:
        value = bool(check.fget(conn))
        if not close_now.is_set():
            close_now.set()
            assert select.select([sock], [], [], 10)[0], "the acceptor's FIN never came"
        return value

    with monkeypatch.context() as m:
        m.setattr(TappedHTTPConnection, "is_connected", property(stale_check))
        r = c.prepare(2, [1]).replies[0]
    assert (r.kind, r.may_have_acted) == (NO_RESPONSE, True), r
    r = c.prepare(3, [1]).replies[0]
    assert (r.kind, r.promised_id) == (GRANTED, 3)
    assert [s.target for s in f.seen] == ["/api/paxos/prepare?id=1", "/api/paxos/prepare?id=3"]
