"""Several connections at once: the storm of requests, and the `linearizable` rule.

A storm sends prepares and accepts from 8 or more lanes at once (one thread and
one connection each, started together at a barrier), bounded in count and in
time, and keeps every exchange with its invocation and reply times. The
linearizable rule hands that history to the checker (audit/linear.py, a
Wing-Gong search with memoisation over the rules in paxos.py) and reports the
smallest window of overlapping exchanges no order explains. The durability
rules reuse the storm while the acceptor restarts. No Paxos judgement here.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from paxos_shell.audit import linear
from paxos_shell.audit.auditor import Auditor, Broken, Skip, SkipReason
from paxos_shell.audit.exchange import Exchange
from paxos_shell.core.text import visible
from paxos_shell.core.wire import ACCEPT, PREPARE, Phase, ReplyKind

WIDTH = 12
"""Ids the linearizable storm shares among its lanes: few, so that requests collide."""
STORM_SECONDS = 3.0
STORMS = 3
"""Storms per run: a race shows in about 19 storms of 20 (the test acceptor's), so in 3 almost surely."""
CHECK_BUDGET = 5.0


@dataclass(frozen=True)
class Sent:
    """One request of a storm: who sent what, and the exchange it became."""

    lane: int
    phase: Phase
    n: int
    value: Optional[str]
    x: Exchange

    @property
    def acted(self) -> bool:
        """Whether the acceptor may have acted: a protocol reply, or none at all (indefinite)."""
        return self.x.reply is None or self.x.reply.kind != ReplyKind.ERROR

    @property
    def silent(self) -> bool:
        return self.x.reply is None or self.x.reply.kind == ReplyKind.NO_RESPONSE


def storm(a: Auditor, pick: Callable[[random.Random], int], count: int, seconds: float,
          stop: Optional[threading.Event] = None, sent_one: Optional[Callable[[], None]] = None) -> list[Sent]:
    """Every lane sends `count` requests (fewer past `seconds` or once `stop` is set, and none
    after its first silence), ids drawn by `pick`; the requests of all lanes, by start time."""
    lanes = [a.lane(k) for k in range(1, a.options.lanes + 1)]
    gate = threading.Barrier(len(lanes))
    out: list[list[Sent]] = [[] for _ in lanes]
    deadline = time.monotonic() + seconds

    def run(k: int) -> None:
        rng = random.Random(a.options.seed * 1009 + k)
        lane = lanes[k]
        try:
            gate.wait(timeout=seconds)
        except threading.BrokenBarrierError:
            return
        for i in range(count):
            if time.monotonic() > deadline or (stop is not None and stop.is_set()):
                return
            s = _one(lane.number, lane.send, rng, pick(rng), i)
            out[k].append(s)
            if sent_one is not None:
                sent_one()
            if s.silent:
                return

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(len(lanes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 2 * a.options.timeout + 1)
    sent = sorted((s for lane in out for s in lane), key=lambda s: s.x.start)
    a.trail.extend(s.x for s in sent)
    return sent


def _one(number: int, send: Callable[..., Exchange], rng: random.Random, n: int, i: int) -> Sent:
    if rng.random() < 0.5:
        return Sent(number, Phase.PREPARE, n, None, send("POST", PREPARE, {"id": str(n)}, Phase.PREPARE))
    value = f"c{number}-{i}"
    return Sent(number, Phase.ACCEPT, n, value, send("POST", ACCEPT, {"id": str(n), "value": value}, Phase.ACCEPT))


def linearizable(a: Auditor) -> str:
    """8+ connections on overlapping ids, STORMS times: each history must be one acceptor's, taking
    the requests one at a time. A race hides in some storms; a sound acceptor passes them all."""
    undecided = []
    total = explored = 0
    for _ in range(STORMS):
        result, ops = _one_storm(a)
        if result.outcome == linear.Outcome.UNKNOWN:
            undecided.append(result.why)
            continue
        if not result.ok:
            window = [ops[o] for o in result.window if o in ops]
            raise Broken(f"no order of one acceptor taking the requests one at a time explains these "
                         f"{len(window)} overlapping exchanges: {visible(result.why)}", window, window)
        total, explored = total + len(ops), explored + result.explored
    if len(undecided) == STORMS:
        raise Skip(f"undecided: {undecided[0]}", SkipReason.UNDECIDED)
    return (f"{STORMS - len(undecided)} storms, {total} requests from {a.options.lanes} connections on "
            f"{WIDTH} shared ids: one order explains each ({explored:,} states explored)")


def _one_storm(a: Auditor) -> tuple[linear.Linearization, dict[linear.Op, Exchange]]:
    st = a.state()
    base = a.ids(WIDTH)
    sent = storm(a, lambda rng: base + rng.randrange(WIDTH), a.options.ops, STORM_SECONDS)
    ops: dict[linear.Op, Exchange] = {}
    for s in sent:
        op = linear.op_of(s.lane, s.phase, s.n, s.value, s.x.start, s.x.end, s.x.reply)
        if op is not None:
            ops[op] = s.x
    return linear.check(list(ops), initial=st, budget=CHECK_BUDGET), ops
