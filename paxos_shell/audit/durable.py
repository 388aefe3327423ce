"""The durability rules: `durable-promise` and `durable-accept`, over restarts (--restart).

Two restarts: one of a quiet acceptor (an accept, then a higher promise, both
acknowledged), and one while 8 connections send prepares and accepts at rising
ids. After each, the state must hold every promise and accept acknowledged
before it. A request that got no reply when the restart hit is indefinite, as in
Jepsen: it may or may not have taken effect, so an accepted pair above the last
acknowledged one must be one that was sent. Both rules judge the same two
restarts, run once. An acceptor that does not come back fails both with one line.
This module drives the restarts; expect.py judges what they left (pure).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import cast

from paxos_shell.audit import expect
from paxos_shell.audit.auditor import Auditor, Broken, Skip, SkipReason
from paxos_shell.audit.concurrent import Sent, storm
from paxos_shell.audit.exchange import Exchange, Lane
from paxos_shell.audit.restart import RestartFailed, restart, run_command
from paxos_shell.audit.rules import tag
from paxos_shell.core.paxos import AcceptorState
from paxos_shell.core.wire import HEALTH, STATE, Phase, ReplyKind

HOW = ("needs --restart CMD: a command that restarts the acceptor on its data (kill -9 and start); "
       "{url} and {id} in it are substituted")
BUSY_OPS = 400
BUSY_SECONDS = 15.0


@dataclass(frozen=True)
class Restarted:
    """One restart: what was sent before it, and the state read after it."""

    what: str
    sent: tuple[Sent, ...]
    state: AcceptorState
    read: Exchange


def _answers(lane: Lane) -> bool:
    x = lane.send("GET", HEALTH)
    if x.status == 200:
        return True
    y = lane.send("GET", STATE, phase=Phase.STATE)
    return y.reply is not None and y.reply.kind == ReplyKind.OK


def _restart(a: Auditor) -> None:
    probe = Lane(a.url, 99, a.recorder, min(a.options.timeout, 1.0))
    try:
        wait = a.options.restart_wait
        restart(a.options.restarter or (lambda: run_command(a.options.restart or "", a.url, a.options.ident, wait)),
                lambda: _answers(probe), wait)
    except RestartFailed as e:
        last = a.recorder.exchanges[-1:] or a.trail[-1:]
        raise Broken(str(e), last) from None
    finally:
        probe.close()


def _quiet(a: Auditor) -> Restarted:
    st = a.state()
    b = a.ids(20)
    before = len(a.trail)
    st = a.accept(st, b, tag(a, "durable", 1))
    st = a.prepare(st, b + 10)
    xs = a.trail[before:]
    sent = (Sent(0, Phase.ACCEPT, b, tag(a, "durable", 1), xs[0]), Sent(0, Phase.PREPARE, b + 10, None, xs[1]))
    _restart(a)
    after = a.state()
    return Restarted("a quiet acceptor", sent, after, a.trail[-1])


def _busy(a: Auditor) -> Restarted:
    a.state()
    counter = itertools.count(a.ids(100_000))
    lock = threading.Lock()
    stop, warm = threading.Event(), threading.Event()
    done = itertools.count(1)
    need = 5 * a.options.lanes

    def pick(_rng: object) -> int:
        with lock:
            return next(counter)

    def sent_one() -> None:
        if next(done) >= need:
            warm.set()

    result: list[list[Sent]] = []
    t = threading.Thread(target=lambda: result.append(storm(a, pick, BUSY_OPS, BUSY_SECONDS, stop, sent_one)),
                         daemon=True)
    t.start()
    warm.wait(BUSY_SECONDS)
    try:
        _restart(a)
    finally:
        stop.set()
        t.join(BUSY_SECONDS + 10)
    after = a.state()
    return Restarted(f"an acceptor restarted while {a.options.lanes} connections were sending", tuple(
        result[0] if result else ()), after, a.trail[-1])


def restarts(a: Auditor) -> tuple[Restarted, ...]:
    """The two restarts, run once for both rules (kept on the auditor)."""
    if not a.options.restart and a.options.restarter is None:
        raise Skip(HOW, SkipReason.NEEDS_RESTART)
    if a.options.read_only:
        raise Skip("sends prepares and accepts: not run with --read-only", SkipReason.READ_ONLY)
    if "restarts" not in a.memo:
        try:
            a.memo["restarts"] = (_quiet(a), _busy(a))
        except Broken as e:
            a.memo["restarts"] = e
    kept = a.memo["restarts"]
    if isinstance(kept, Broken):
        raise kept
    return cast("tuple[Restarted, ...]", kept)


def durable_promise(a: Auditor) -> str:
    """After each restart the promise is at least every id promised or accepted before it."""
    for r in restarts(a):
        lost = expect.promise_lost(r.state, _asked(r))
        if lost is not None:
            raise Broken(f"after restarting {r.what}, {lost[1]}", [r.sent[lost[0]].x, r.read])
    return "after both restarts (quiet, and under 8 connections) every acknowledged promise held"


def durable_accept(a: Auditor) -> str:
    """After each restart the accepted pair is the last acknowledged one, or one sent after it."""
    for r in restarts(a):
        lost = expect.accept_lost(r.state, _asked(r))
        if lost is not None:
            raise Broken(f"after restarting {r.what}, {lost[1]}", [r.sent[lost[0]].x, r.read])
    return "after both restarts (quiet, and under 8 connections) every acknowledged accept held"


def _asked(r: Restarted) -> list[expect.Asked]:
    return [expect.Asked(s.phase, s.n, s.value, s.x.reply is not None and s.x.reply.granted, s.acted)
            for s in r.sent]
