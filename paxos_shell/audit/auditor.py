"""The acceptor under audit, as the rules see it: requests, judged replies, fresh ids.

An Auditor holds the lanes to one acceptor, the recorder of every exchange, the
seeded random generator, and the ids used so far, so that every rule can start
above everything the acceptor has seen, whatever the rules before it left
behind. Its `prepare`, `accept` and `state` send one request and judge the reply
with expect.py; a reply that breaks a rule raises Broken with the exchanges that
prove it. The vocabulary of verdicts lives here too. It never decides a Paxos
question itself (expect.py and paxos.py do) and never prints.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from paxos_shell.audit import expect
from paxos_shell.audit.exchange import Exchange, Lane, Recorder
from paxos_shell.core.paxos import NONE, AcceptorState
from paxos_shell.core.vocab import Word
from paxos_shell.core.wire import ACCEPT, PREPARE, STATE, Phase

LANES = 8
"""Connections the concurrent rules open at once."""


class Verdict(Word):
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"


class Kind(Word):
    PAXOS = "paxos"
    DURABILITY = "durability"


class Broken(Exception):
    """A rule is broken: why, and the exchanges that prove it (the overlapping window, if any)."""

    def __init__(self, why: str, evidence: Sequence[Exchange], window: Sequence[Exchange] = ()) -> None:
        super().__init__(why)
        self.why = why
        self.evidence = tuple(evidence)
        self.window = tuple(window)


class SkipReason(Word):
    """Why a rule was skipped, as a closed vocabulary: what a report acts on (the --restart hint),
    since `why` is prose for people and may be reworded."""

    NEEDS_RESTART = "needs-restart"
    READ_ONLY = "read-only"
    UNDECIDED = "undecided"


class Skip(Exception):
    """A rule cannot run here (no restart command, read-only, an undecided search): why, and the reason."""

    def __init__(self, why: str, reason: SkipReason) -> None:
        super().__init__(why)
        self.reason = reason


@dataclass(frozen=True)
class Options:
    """How to audit: the knobs of paxos-audit and the shell's audit command."""

    seed: int = 0
    timeout: float = 2.0
    force: bool = False
    read_only: bool = False
    restart: Optional[str] = None
    restarter: Optional[Callable[[], None]] = None
    """Restarts the acceptor in-process instead of a command (the shell's own local pool)."""
    restart_wait: float = 20.0
    """Seconds a restart may take, until /health or the state route answers."""
    ident: int = 1
    """The acceptor's id, for {id} in the restart command."""
    lanes: int = LANES
    ops: int = 40
    """Requests per lane in the concurrent rules (bounded in time too)."""


class Auditor:
    """One acceptor's audit: lane 0 for the sequential rules, more lanes on demand."""

    def __init__(self, url: str, options: Options) -> None:
        self.url = url
        self.options = options
        self.rng = random.Random(options.seed)
        self.recorder = Recorder()
        self.lanes: list[Lane] = [Lane(url, 0, self.recorder, options.timeout)]
        self.top = NONE
        self.trail: list[Exchange] = []
        """The exchanges of the rule running now."""
        self.facts: list[str] = []
        self.memo: dict[str, object] = {}
        """What rules share (the durability rules' two restarts, run once)."""

    def lane(self, k: int) -> Lane:
        while len(self.lanes) <= k:
            self.lanes.append(Lane(self.url, len(self.lanes), self.recorder, self.options.timeout))
        return self.lanes[k]

    def close(self) -> None:
        for lane in self.lanes:
            lane.close()

    def ids(self, count: int) -> int:
        """The first of `count` ids above every id seen or used so far."""
        base = self.top + 1 + self.rng.randrange(1, 50)
        self.top = base + count
        return base

    def see(self, state: AcceptorState) -> AcceptorState:
        self.top = max(self.top, state.promised_id, state.accepted_id)
        return state

    def send(self, method: str, path: str, params: Optional[dict[str, str]] = None,
             phase: Optional[Phase] = None, lane: int = 0) -> Exchange:
        x = self.lane(lane).send(method, path, params, phase)
        self.trail.append(x)
        return x

    def prepare_raw(self, n: int, lane: int = 0) -> Exchange:
        return self.send("POST", PREPARE, {"id": str(n)}, Phase.PREPARE, lane)

    def accept_raw(self, n: int, value: str, lane: int = 0) -> Exchange:
        return self.send("POST", ACCEPT, {"id": str(n), "value": value}, Phase.ACCEPT, lane)

    def state(self, evidence: Sequence[Exchange] = (), strict: bool = False) -> AcceptorState:
        """The state the route reports; Broken when there is none, or (strict) when it is one no
        acceptor following the rules can be in. Only state-consistent is strict: the other rules
        judge what follows from any state, so one quirk does not fail them all."""
        x = self.send("GET", STATE, phase=Phase.STATE)
        st, why = expect.state_of(x.reply)
        if st is None or (why and strict):
            raise Broken(why or "no state", self.proof(evidence, x))
        return self.see(st)

    def prepare(self, before: AcceptorState, n: int, evidence: Sequence[Exchange] = ()) -> AcceptorState:
        """Prepare n, judged against `before`; the state after it."""
        x = self.prepare_raw(n)
        after, why = expect.prepare(before, n, x.reply)
        if why:
            raise Broken(why, self.proof(evidence, x))
        return self.see(after)

    def accept(self, before: AcceptorState, n: int, value: str, evidence: Sequence[Exchange] = ()) -> AcceptorState:
        """Accept n value, judged against `before`; the state after it."""
        x = self.accept_raw(n, value)
        after, why = expect.accept(before, n, value, x.reply)
        if why:
            raise Broken(why, self.proof(evidence, x))
        return self.see(after)

    def check_state(self, expected: AcceptorState, evidence: Sequence[Exchange] = (),
                    strict: bool = False) -> AcceptorState:
        """Read the state and require it to be `expected` (and, strict, a possible one)."""
        seen = self.state(evidence, strict)
        why = expect.same_state(expected, seen)
        if why:
            raise Broken(why, self.proof(evidence, self.trail[-1]))
        return seen

    def proof(self, evidence: Sequence[Exchange], x: Exchange) -> list[Exchange]:
        """The evidence of a failure at exchange x: the exchanges named, else the rule's
        last few (what it sent before x is what x is judged against)."""
        before = list(evidence) if evidence else [e for e in self.trail[-PROOF:] if e is not x]
        return [*before, x]


PROOF = 8
"""Exchanges of a rule shown as evidence when the rule names none."""
