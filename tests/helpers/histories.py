"""Histories for the linearizability checker: ones a correct acceptor produced, and ones none could.

`linearizable` simulates clients (8 by default) each sending prepares, accepts and state reads one
after another over overlapping intervals, and one acceptor obeying paxos.py applying each request at
a random instant inside its interval (an indefinite one at any instant after its call, or never):
such a history is linearizable by construction. Replies are built as our acceptor builds them
(wire.py's bodies, as JSON) and read back as the auditor reads them (wire.interpret, linear.op_of).

The planted violations are appended after such a history, with ids above any it used, so nothing
before them can explain them away: a check-then-act race (two overlapping prepares both granted, then
a prepare between them granted too: the lower grant wrote last), an accept granted below a promise
granted before it was sent, and a lost accept (a later prepare reports the accepted pair from before
it). Each returns the exchanges that prove it. Times are seconds on a made-up clock.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Callable, Optional

from paxos_shell.audit.linear import Op, op_of
from paxos_shell.core import paxos, wire
from paxos_shell.core.paxos import NONE, AcceptorState
from paxos_shell.core.wire import Phase

FRESH = AcceptorState()


def answered(client: int, phase: Phase, n: int, value: Optional[str], call: float, ret: Optional[float],
             state: AcceptorState) -> tuple[Op, AcceptorState]:
    """The exchange a correct acceptor in `state` gives (no reply when `ret` is None), and its state after."""
    if phase == Phase.PREPARE:
        t = paxos.on_prepare(state, n)
        body, after = wire.prepare_reply(t), t.state
    elif phase == Phase.ACCEPT:
        t = paxos.on_accept(state, n, value or "")
        body, after = wire.accept_reply(t), t.state
    else:
        body, after = wire.state_reply(state), state
    reply = wire.interpret(1, phase, 200, json.dumps(body).encode()) if ret is not None else None
    op = op_of(client, phase, n, value, call, ret, reply)
    assert op is not None
    return op, after


@dataclass
class History:
    """Exchanges, and what a correct acceptor would hold after them (as simulated)."""

    ops: list[Op] = field(default_factory=list)
    state: AcceptorState = FRESH
    end: float = 0.0
    proof: list[Op] = field(default_factory=list)
    """The planted exchanges, when a violation was planted."""

    @property
    def top(self) -> int:
        """An id above every id the history names."""
        ids = [o.id for o in self.ops] + [o.promised_id for o in self.ops if o.promised_id is not None]
        ids.append(self.state.promised_id)
        return max(ids, default=NONE) + 10


def _requests(rng: random.Random, count: int, clients: int, t0: float, base: int,
              reads: float) -> list[tuple[int, Phase, int, Optional[str], float, float]]:
    """(client, phase, id, value, call, ret) for `count` requests, each client's one after another."""
    out = []
    clock = [t0 + rng.uniform(0, 0.5) for _ in range(clients)]
    for k in range(count):
        c = k % clients
        call = clock[c] + rng.uniform(0, 0.2)
        ret = call + rng.uniform(0.05, 1.5)
        clock[c] = ret
        roll = rng.random()
        phase = Phase.STATE if roll < reads else Phase.PREPARE if roll < (1 + reads) / 2 else Phase.ACCEPT
        n = max(0, base + int((call - t0) * 3) + rng.randint(-6, 6)) if phase != Phase.STATE else 0
        out.append((c, phase, n, f"v{rng.randint(0, 3)}" if phase == Phase.ACCEPT else None, call, ret))
    return out


def linearizable(rng: random.Random, count: int = 200, clients: int = 8, pending: float = 0.0,
                 reads: float = 0.1, after: Optional[History] = None) -> History:
    """A history a correct acceptor produced; `pending` is the share of requests left without a reply.

    With `after`, it continues that history: later, from its state, with ids above its own.
    """
    h = History(list(after.ops), after.state, after.end) if after else History()
    base = h.top if after else 0
    plan = []
    for c, phase, n, value, call, ret in _requests(rng, count, clients, h.end + 1.0, base, reads):
        lost = phase != Phase.STATE and rng.random() < pending
        instant = call + rng.uniform(0, 3 * (ret - call)) if lost else rng.uniform(call, ret)
        if lost and rng.random() < 0.5:
            instant = float("inf")  # never took effect
        plan.append((instant, c, phase, n, value, call, None if lost else ret))
    state = h.state
    for instant, c, phase, n, value, call, ret in sorted(plan, key=lambda p: p[0]):
        op, later = answered(c, phase, n, value, call, ret, state)
        h.ops.append(op)
        state = state if instant == float("inf") else later
    h.state = state
    h.end = max([o.ret or o.call for o in h.ops], default=h.end)
    return h


def _plant(h: History, steps: list[tuple[Phase, int, Optional[str], float, float, Optional[AcceptorState]]]) -> History:
    """Exchanges after `h`, at times relative to its end; a step with a state answers from it."""
    out = History(list(h.ops), h.state, h.end)
    t0 = h.end + 1.0
    for k, (phase, n, value, call, ret, seen) in enumerate(steps):
        op, after = answered(90 + k, phase, n, value, t0 + call, t0 + ret, seen or out.state)
        out.ops.append(op)
        out.proof.append(op)
        out.state = after
    out.end = max(o.ret or o.call for o in out.ops)
    return out


def race(h: History) -> History:
    """Prepares hi and lo overlap, both granted; a prepare between them is granted after both: lo wrote last."""
    lo, mid, hi = h.top, h.top + 1, h.top + 2
    s = h.state
    after_lo = paxos.on_prepare(s, lo).state
    return _plant(h, [(Phase.PREPARE, hi, None, 0.0, 2.0, s), (Phase.PREPARE, lo, None, 1.0, 3.0, s),
                      (Phase.PREPARE, mid, None, 4.0, 5.0, after_lo)])


def accept_below_promise(h: History) -> History:
    """Promise n is granted; an accept below n, sent after that reply, is granted too."""
    n = h.top + 5
    s = h.state
    return _plant(h, [(Phase.PREPARE, n, None, 0.0, 1.0, None), (Phase.ACCEPT, n - 3, "late", 2.0, 3.0, s)])


def lost_accept(h: History) -> History:
    """An accept is granted, and a prepare sent after its reply reports the accepted pair from before it."""
    n = h.top
    s = h.state
    return _plant(h, [(Phase.ACCEPT, n, "lost", 0.0, 1.0, None), (Phase.PREPARE, n + 1, None, 2.0, 3.0, s)])


VIOLATIONS: dict[str, Callable[[History], History]] = {
    "race": race, "accept-below-promise": accept_below_promise, "lost-accept": lost_accept,
}
