"""The `linearizable` rule's checker: could one acceptor, taking requests one at a time, have given
every reply of a concurrent history?

A history is what several connections saw: each exchange's request and reply, and when it was sent
(`call`) and answered (`ret`). It is linearizable when some order of the exchanges respects real time
(one answered before another was sent comes first) and, applying paxos.py's acceptor transitions one
request at a time, gives every reply exactly as it came. An exchange without a reply is indefinite,
as in Jepsen: it may have taken effect at any moment after it was sent, or never. The search is Wing
& Gong's with Lowe's memo of (exchanges ordered, state), as porcupine and Knossos do it (wgl.py).
When no order exists, the evidence is the smallest window of the history that cannot be ordered on
its own (see `check`). This module never talks to an acceptor and holds no Paxos rule: a reply is
legal in a state exactly when paxos.py's transition of that state, as wire.py writes and reads a
reply body, gives that reply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Sequence

from paxos_shell.audit.wgl import Budget, OutOfTime, Search
from paxos_shell.core import paxos, wire
from paxos_shell.core.paxos import MAX_ID, NONE, AcceptorState
from paxos_shell.core.text import show_value
from paxos_shell.core.vocab import Word
from paxos_shell.core.wire import GRANTED, IGNORED, OK, Phase, Reply, ReplyKind

FRESH = AcceptorState()

ANYWHERE_SECONDS = 0.5
"""The most the search for a window that proves itself from any state may take (see the evidence)."""

Answer = tuple[Optional[bool], Optional[int], Optional[int], Optional[str]]
"""(granted, promisedId, acceptedId, acceptedValue) of one reply, as an Op records them."""


class Outcome(Word):
    """The three honest answers of the checker: unknown when the budget ran out first."""

    LINEARIZABLE = "linearizable"
    NOT_LINEARIZABLE = "not linearizable"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Op:
    """One exchange of the history: what a client asked and what it got, with invocation and reply times.

    The reply fields are the body's as wire.Reply reads it (NONE, -1, where the body has no such
    key); all four are None when no reply came (`ret` None), and `granted` is None for a state read.
    """

    client: int
    phase: Phase
    id: int
    value: Optional[str]
    call: float
    ret: Optional[float]
    granted: Optional[bool] = None
    promised_id: Optional[int] = None
    accepted_id: Optional[int] = None
    accepted_value: Optional[str] = None

    def __post_init__(self) -> None:
        if self.ret is not None and self.ret < self.call:
            raise ValueError(f"an exchange cannot be answered before it was sent: {self.call} > {self.ret}")
        if self.phase == Phase.ACCEPT and self.value is None:
            raise ValueError("an accept carries a value")

    @property
    def replied(self) -> bool:
        return self.ret is not None

    @property
    def answer(self) -> Answer:
        return (self.granted, self.promised_id, self.accepted_id, self.accepted_value)


def op_of(client: int, phase: Phase, n: int, value: Optional[str], call: float, ret: Optional[float],
          reply: Optional[Reply]) -> Optional[Op]:
    """The Op of one request and how it ended; None when the acceptor surely did not act on it.

    As wire.py reads replies: an error answer (4xx, 5xx, not an acceptor) or a refused connection
    changed nothing; silence after the request left (a timeout, a gateway's 502/504) is indefinite.
    """
    if reply is None or reply.may_have_acted:
        return Op(client, phase, n, value, call, None)
    if reply.kind not in (GRANTED, IGNORED, OK) or ret is None:
        return None
    granted = None if phase == Phase.STATE else reply.granted
    return Op(client, phase, n, value, call, ret, granted, reply.promised_id, reply.accepted_id, reply.accepted_value)


def _read(phase: Phase, body: dict) -> Answer:
    """A reply body as an Op records it: wire.Reply's reading, the one the auditor's replies get."""
    kind: ReplyKind = OK if phase == Phase.STATE else (IGNORED if body.get("ignored") else GRANTED)
    r = Reply(0, phase, kind, body)
    return (None if phase == Phase.STATE else r.granted, r.promised_id, r.accepted_id, r.accepted_value)


def transition(op: Op, state: AcceptorState) -> tuple[AcceptorState, Answer]:
    """The state after `op` and the reply the acceptor rules give: paxos.py, then wire.py's body."""
    if op.phase == Phase.PREPARE:
        t = paxos.on_prepare(state, op.id)
        return t.state, _read(op.phase, wire.prepare_reply(t))
    if op.phase == Phase.ACCEPT:
        t = paxos.on_accept(state, op.id, op.value or "")
        return t.state, _read(op.phase, wire.accept_reply(t))
    return state, _read(op.phase, wire.state_reply(state))


def legal(op: Op, state: AcceptorState) -> Optional[AcceptorState]:
    """The state after `op`, if the rules give its reply from `state` (any outcome when it has none)."""
    after, answer = transition(op, state)
    return after if not op.replied or answer == op.answer else None


@dataclass(frozen=True)
class Linearization:
    """The checker's answer, with its evidence.

    `order`: a witness order when linearizable (indefinite exchanges that need not take effect are
    left out). `window`: when not, the smallest window of the history that cannot be ordered on its
    own, sorted by call, and the interval it covers: from `start` (None: the history's beginning,
    from `initial`; else from any state the exchanges before can leave) to `end`, the reply no
    order explains. `why`: one line.
    `explored`: search states entered, the window's search included.
    """

    outcome: Outcome
    order: tuple[Op, ...]
    window: tuple[Op, ...]
    why: str
    explored: int
    start: Optional[float] = None
    end: Optional[float] = None

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.LINEARIZABLE


def check(ops: Sequence[Op], initial: AcceptorState = FRESH, budget: float = 5.0) -> Linearization:
    """Whether one acceptor, starting in `initial`, explains every reply of `ops`, within `budget` seconds.

    When the budget runs out first the outcome is UNKNOWN, never a failure. When the history
    cannot be ordered, the evidence is found within what is left of the budget; if that runs out,
    the window is a larger one that is still a proof (at worst the whole history).
    """
    spent = Budget(time.monotonic() + budget)
    history = sorted((o for o in ops if o.replied or o.phase != Phase.STATE), key=lambda o: o.call)
    try:
        order = _search(history, [o.replied for o in history], [initial], spent).first()
    except OutOfTime:
        return Linearization(Outcome.UNKNOWN, (), (), f"no answer within the budget of {budget:g} s "
                             f"({spent.explored} states explored)", spent.explored)
    if order is not None:
        return Linearization(Outcome.LINEARIZABLE, tuple(history[i] for i in order), (), "", spent.explored)
    window, start, culprit, states = _evidence(history, initial, spent)
    return Linearization(Outcome.NOT_LINEARIZABLE, (), tuple(window), _why(culprit, len(window), start, states),
                         spent.explored, start, culprit.ret)


def _search(ops: Sequence[Op], must: Sequence[bool], starts: Sequence[AcceptorState], spent: Budget) -> Search:
    """A search over `ops`, starting from any of `starts`; `must[i]`: op i has to be ordered."""
    return Search([o.call for o in ops], [o.ret if m else None for o, m in zip(ops, must)],
                  lambda i, s: legal(ops[i], s), starts, spent, [_quiet(o) for o in ops])


def _quiet(op: Op) -> bool:
    """A read, or a refusal: where it is legal it changed nothing (paxos.py: a refused request keeps
    the state), so the search may place it as soon as it fits."""
    return op.replied and (op.phase == Phase.STATE or op.granted is False)


# --- the evidence ---------------------------------------------------------------
#
# A window is the part of the history around a time interval [a, b]: the exchanges sent at or
# before b and answered at or after a (or never). Those sent at or after a and answered by b must be
# ordered; one sent before a may have taken effect before it, and one answered after b after it, so
# each of those is ordered only if that helps, its reply checked when it is. A window that starts
# with the history (a = None) starts from `initial`, which is known. Any other starts from any state
# an acceptor can be in (paxos.possible_state, up to what the window can tell apart): it assumes
# nothing about the rest of the history, so the window alone is the proof, as the user reads it,
# and it holds the exchanges that conflict (the two grants of a race, not only the last reply).
# Why that is a proof: take the linearization points of any linearization of the history; those in
# [a, b] are all window exchanges, in an order the window accepts from the state the points before
# a reached. So a window no state and no order explains shows the whole history has no order.
# From every state, though, old requests that never got a reply become live again and multiply the
# orders to try (two of seven 1,000-exchange histories with 2 % of them took 56 s and over 100 s).
# So that search gets ANYWHERE_SECONDS; past it, windows start from the states the exchanges before
# a can leave (every end state of their orders: `reached`), which the history does settle, cheaply;
# `why` then names those states, the claim the reader takes on trust. Either way the window shrinks
# in two steps, each monotone: the earliest b whose window from the start fails (the first reply
# nothing explains), then the latest a whose [a, b] still fails: no window inside it fails, and no
# failing window ends earlier.


def _window(history: Sequence[Op], a: Optional[float], b: float) -> tuple[list[Op], list[bool]]:
    ops = [o for o in history if o.call <= b and (a is None or o.ret is None or o.ret >= a)]
    must = [o.ret is not None and o.ret <= b and (a is None or o.call >= a) for o in ops]
    return ops, must


def reached(history: Sequence[Op], a: Optional[float], initial: AcceptorState, spent: Budget) -> list[AcceptorState]:
    """Every state the exchanges sent before `a` can leave the acceptor in (those answered before
    it all taken, those still open at it taken or not); [initial] when a is None."""
    if a is None:
        return [initial]
    ops = [o for o in history if o.call < a]
    found = _search(ops, [o.ret is not None and o.ret < a for o in ops], [initial], spent).finals()
    return sorted(found, key=lambda s: (s.promised_id, s.accepted_id, s.accepted_value or ""))


def _fails(history: Sequence[Op], a: Optional[float], b: float, initial: AcceptorState, spent: Budget,
           anywhere: bool = True) -> bool:
    """Whether no order explains the window [a, b]: from any state, or (`anywhere` False) from those
    the exchanges before a can leave."""
    ops, must = _window(history, a, b)
    if a is None:
        froms = [initial]
    else:
        froms = starts(ops) if anywhere else reached(history, a, initial, spent)
    return bool(froms) and _search(ops, must, froms, spent).first() is None


def starts(window: Sequence[Op]) -> list[AcceptorState]:
    """Every state an acceptor may be in before `window`, one per class the window can tell apart.

    The rules compare a promise only with request ids, and replies report a promise or an
    accepted pair exactly; so the promise ranges over the ids the window names and one id just
    above each, and the accepted pair over none and the pairs the window reports (a pair no
    reply reports can only make a reply wrong that none would make wrong).
    """
    ids = {NONE} | {o.id for o in window if o.phase != Phase.STATE}
    pairs: set[tuple[int, Optional[str]]] = {(NONE, None)}
    for o in window:
        if o.promised_id is not None:
            ids.add(o.promised_id)
        if o.accepted_id is not None and o.accepted_id != NONE:
            ids.add(o.accepted_id)
            pairs.add((o.accepted_id, o.accepted_value))
    found = []
    for promised in sorted(ids | {i + 1 for i in ids if i < MAX_ID}):
        for accepted, value in sorted(pairs, key=lambda p: (p[0], p[1] or "")):
            try:
                found.append(paxos.possible_state(promised, accepted, value))
            except ValueError:
                continue
    return found


def _evidence(history: Sequence[Op], initial: AcceptorState,
              spent: Budget) -> tuple[list[Op], Optional[float], Op, Optional[list[AcceptorState]]]:
    """The smallest failing window, its start (None: the history's), the reply at its end, and the
    states it starts from (None: any state)."""
    ends = sorted({o.ret for o in history if o.ret is not None})
    lo, hi = 0, len(ends) - 1
    try:
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if _fails(history, None, ends[mid], initial, spent) else (mid + 1, hi)
    except OutOfTime:
        pass  # the best window so far stands: every window tried that failed is a proof
    b = ends[hi]
    culprit = next(o for o in history if o.ret == b)
    for anywhere in (True, False):
        left = max(0.0, spent.deadline - time.monotonic())
        part = Budget(time.monotonic() + (min(ANYWHERE_SECONDS, left / 2) if anywhere else left))
        try:
            a = _latest_start(history, b, initial, part, anywhere)
            if a is None or a <= history[0].call:  # it starts with the history
                break
            froms = None if anywhere else reached(history, a, initial, part)
            return _window(history, a, b)[0], a, culprit, froms
        except OutOfTime:
            continue
        finally:
            spent.explored += part.explored
    return _window(history, None, b)[0], None, culprit, [initial]


def _latest_start(history: Sequence[Op], b: float, initial: AcceptorState, spent: Budget,
                  anywhere: bool) -> Optional[float]:
    """The latest a whose window [a, b] fails on its own (None if only the whole prefix does).

    Galloping back from the last call (1, 2, 4, ... calls back), then halving: violations are
    local, and a small window costs little while a long one, from any state, costs much.
    """
    calls = sorted({o.call for o in history if o.call <= b}, reverse=True)
    passed, step = -1, 1
    failed = None
    while failed is None and passed < len(calls) - 1:
        k = min(passed + step, len(calls) - 1)
        if _fails(history, calls[k], b, initial, spent, anywhere):
            failed = k
        else:
            passed, step = k, step * 2
    if failed is None:
        return None
    while failed - passed > 1:
        mid = (passed + failed) // 2
        passed, failed = (passed, mid) if _fails(history, calls[mid], b, initial, spent, anywhere) else (mid, failed)
    return calls[failed]


def describe(op: Op) -> str:
    """One exchange in one line: the request, the client, and the reply."""
    asked = {Phase.PREPARE: f"prepare {op.id}", Phase.ACCEPT: f"accept {op.id} {show_value(op.value)}",
             Phase.STATE: "state"}[op.phase]
    if not op.replied:
        return f"{asked} (client {op.client}): no reply"
    pair = f"acceptedId {op.accepted_id}, acceptedValue {show_value(op.accepted_value)}"
    if op.phase == Phase.STATE:
        return f"{asked} (client {op.client}): promisedId {op.promised_id}, {pair}"
    said = "granted" if op.granted else "ignored"
    if op.phase == Phase.PREPARE and op.promised_id != NONE:
        said += f", promisedId {op.promised_id}"
    if op.accepted_id != NONE and (op.phase == Phase.PREPARE or op.granted):
        said += f", {pair}"
    return f"{asked} (client {op.client}): {said}"


def _state(s: AcceptorState) -> str:
    return f"promisedId {s.promised_id}, acceptedId {s.accepted_id}, acceptedValue {show_value(s.accepted_value)}"


def _why(culprit: Op, size: int, start: Optional[float], states: Optional[Sequence[AcceptorState]]) -> str:
    if states is None:
        origin = "from any state the acceptor could be in when the first was sent"
    elif start is None:
        origin = "from a fresh acceptor" if states == [FRESH] else f"from the initial state ({_state(states[0])})"
    elif len(states) == 1:
        origin = f"from the state the exchanges before them leave ({_state(states[0])})"
    else:
        shown = "; ".join(_state(s) for s in states[:3]) + ("; ..." if len(states) > 3 else "")
        origin = f"from any of the {len(states)} states the exchanges before them can leave ({shown})"
    return f"no order of these {size} exchanges, {origin}, gives the reply to {describe(culprit)}"
