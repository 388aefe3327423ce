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
import signal
import threading
from typing import Any, Callable

import pytest

from paxos_shell.core.wire import GRANTED, NO_RESPONSE
from paxos_shell.net import client as client_module
from paxos_shell.net.client import Client
from paxos_shell.net.courier import Courier
from paxos_shell.net.tap import Tap, TappedHTTPConnection
from paxos_shell.net.transport import Link

from .helpers.fake import Handler, warm
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
    if how == "ctrl-c":
        threading.Thread(target=lambda: answered.wait(10) and os.kill(os.getpid(), signal.SIGINT), daemon=True).start()
    rnd = c.prepare(7, [1])
    r = rnd.replies[0]
    assert f.state.promised_id == 7 and r.kind == NO_RESPONSE
    assert r.may_have_acted, f"the acceptor promised 7, and the round says it cannot have acted ({r.cause})"


def closed_ports(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """The client ports whose connection a fake has finished with (read to its end, or cut)."""
    ports: set[int] = set()
    finish = Handler.finish

    def finished(h: Handler) -> None:
        try:
            finish(h)
        finally:
            ports.add(h.client_address[1])

    monkeypatch.setattr(Handler, "finish", finished)
    return ports


def raising(owner: Any, name: str, when: str) -> Callable[..., Any]:
    """owner.name, raising KeyboardInterrupt (once, where Ctrl-C would land) before or after it runs."""
    original = owner.__dict__[name]
    fired: list[bool] = []

    def fire() -> None:
        if not fired:
            fired.append(True)
            raise KeyboardInterrupt

    if isinstance(original, property):
        def get(self: Any) -> Any:
            if when == "before":
                fire()
            value = original.fget(self)
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
