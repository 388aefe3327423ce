"""Two proposers in lockstep against the real pool: the livelock, and the backoff that ends it.

Paxos guarantees safety, not progress: two proposers can overtake each other
forever, each prepare invalidating the other's promises just before its
accept. A duel takes turns between two named proposers of the session; in its
turn a proposer prepares, or accepts with the value Paxos requires, and when
refused it prepares again at once (livelock) or, with backoff, first sits out
a random number of turns that doubles with each refusal (what ends it). Every
round is a real round, recorded in the session like any other, so `trace`
shows the interleaving. The decisions are the Engine's and paxos.py's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Optional

from paxos_shell.core import paxos
from paxos_shell.core.errors import UserError
from paxos_shell.core.paxos import Verdict
from paxos_shell.engine.proposer import Engine
from paxos_shell.engine.results import AcceptResult, PrepareResult

MAX_TURNS = 200


@dataclass(frozen=True)
class Turn:
    """What one proposer did in its turn: a round, or a wait."""

    number: int
    proposer: str
    prepare: Optional[PrepareResult] = None
    accept: Optional[AcceptResult] = None
    chose_wait: int = 0
    """Turns it decided to sit out after being refused here."""


@dataclass
class Duelist:
    name: str
    value: str
    ready: bool = False
    """Holds a quorum of promises for its current id."""
    refusals: int = 0
    wait: int = 0


@dataclass
class DuelResult:
    turns: list[Turn] = field(default_factory=list)
    winner: Optional[str] = None
    value: Optional[str] = None
    proposal_id: Optional[int] = None


def duel(engine: Engine, sides: tuple[tuple[str, str], tuple[str, str]], turns: int, backoff: bool,
         rng: Optional[random.Random] = None, on_turn: Optional[Callable[[Turn], None]] = None) -> DuelResult:
    """Alternate turns between two proposers until a value is chosen or `turns` run out."""
    if not 2 <= turns <= MAX_TURNS:
        raise UserError(f"bad turn count {turns}: choose 2 to {MAX_TURNS}")
    if sides[0][0] == sides[1][0]:
        raise UserError("a duel needs two different proposers")
    rng = rng or random.Random()
    session = engine.session
    was_active = session.active
    duelists = [Duelist(name, value) for name, value in sides]
    result = DuelResult()
    try:
        for k in range(turns):
            turn = _play(engine, duelists[k % 2], k + 1, backoff, rng)
            if turn is None:
                continue
            result.turns.append(turn)
            if on_turn:
                on_turn(turn)
            if turn.accept is not None and turn.accept.outcome.verdict == Verdict.CHOSEN:
                result.winner, result.value, result.proposal_id = turn.proposer, turn.accept.value, turn.accept.n
                break
    finally:
        session.switch(was_active)
    return result


def _play(engine: Engine, d: Duelist, number: int, backoff: bool, rng: random.Random) -> Optional[Turn]:
    """One turn of one proposer; None when it sits this turn out."""
    if d.wait > 0:
        d.wait -= 1
        return None
    session = engine.session
    p, _ = session.switch(d.name)
    p.client_value = d.value
    if not d.ready:
        prep = engine.prepare()
        d.ready = prep.quorum_reached
        return Turn(number, d.name, prepare=prep)
    acc = engine.accept()
    if acc.outcome.verdict == Verdict.CHOSEN:
        return Turn(number, d.name, accept=acc)
    d.ready, d.refusals = False, d.refusals + 1
    # paxos.backoff in turns instead of seconds: 0 .. 2**refusals - 1, capped as propose --retry is.
    d.wait = int(paxos.backoff(d.refusals, rng, base=1.0)) if backoff else 0
    if d.wait:
        return Turn(number, d.name, accept=acc, chose_wait=d.wait)
    prep = engine.prepare()  # refused, and straight back in with a higher id: the livelock
    d.ready = prep.quorum_reached
    return Turn(number, d.name, prepare=prep, accept=acc)
