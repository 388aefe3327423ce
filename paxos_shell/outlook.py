"""The answers the knowledge model gives, as data that can also speak.

Its job: the records knowledge.py returns (a chosen value with its proof, a
caveat, the whole outlook on an instance) and the sentences a shell prints
from them, violations always first. Pure data and words; no judgement here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional

from .breaks import Violation
from .facts import Observation, Sent
from .futures import Futures, Rule, Vote, names
from .text import show_value


@dataclass(frozen=True)
class ChosenValue:
    """A value a quorum of distinct acceptors accepted at one id, with the replies."""

    proposal_id: int
    value: Optional[str]
    acceptors: tuple[int, ...]
    evidence: tuple[Observation, ...] = ()

    def sentence(self) -> str:
        return f"{show_value(self.value)} is chosen: {names(self.acceptors)} accepted it at id {self.proposal_id}"


class Caution(str, Enum):
    """Why a guarantee is conditional although no rule was broken."""

    VOLATILE = "volatile acceptors"
    FORCED = "forced accept"
    STALE = "states from different moments"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Caveat:
    """A condition on what follows: the acceptors, the forced accept, or the vote
    that no quorum of promises covers (`others` are the acceptors that report one)."""

    kind: Caution
    acceptors: tuple[int, ...] = ()
    sent: Optional[Sent] = None
    vote: Optional[Vote] = None
    others: tuple[int, ...] = ()

    def sentence(self) -> str:
        if self.vote is not None:
            v, d = self.vote, self.vote.proposal_id
            verb = "reports" if len(self.others) == 1 else "report"
            return (f"acceptor {self.acceptors[0]} accepted {show_value(v.value)} at id {d}, yet only "
                    f"{names(self.others)} {verb} a promise of {d} or more, not a quorum: these states were not all "
                    "read at one moment (is another proposer at work?), so what follows is best effort")
        if self.sent is not None:
            s = self.sent
            return (f"accept {s.proposal_id} {show_value(s.value)} was forced in round {s.round_no}: every "
                    "guarantee assumes that proposers follow Paxos, so what follows is best effort")
        one = len(self.acceptors) == 1
        return (f"this holds only while {names(self.acceptors)} {'does' if one else 'do'} not restart: "
                f"{'it keeps its' if one else 'they keep their'} state in memory only")


@dataclass(frozen=True)
class Outlook:
    """Everything the shell may say about the instance: violations first."""

    futures: Futures
    chosen: tuple[ChosenValue, ...]
    violations: tuple[Violation, ...]
    caveats: tuple[Caveat, ...]

    @property
    def guaranteed(self) -> bool:
        """Paxos's guarantees hold (perhaps conditionally on volatile acceptors)."""
        return not self.violations and not any(c.kind == Caution.FORCED for c in self.caveats)

    @property
    def best_effort(self) -> bool:
        """The futures rest on states that break an assumption (a chosen value,
        while the guarantees hold, does not rest on the states)."""
        from_states = not (self.futures.reasons and self.futures.reasons[0].rule == Rule.CHOSEN)
        return not self.guaranteed or (from_states and any(c.kind == Caution.STALE for c in self.caveats))

    def sentences(self) -> list[str]:
        """Violations first, then what is chosen and what can be, then the caveats."""
        lines = [f"SAFETY VIOLATION: {v.sentence()}." for v in self.violations]
        lines += [_capital(c.sentence()) for c in self.caveats if c.kind in (Caution.FORCED, Caution.STALE)]
        if not self.guaranteed:
            lines += [f"{c.sentence()}." for c in self.chosen]
        if self.best_effort:
            lines.append(f"Best effort from the current states: {self.futures.sentence()}")
        else:
            lines.append(self.futures.sentence())
        lines += [_capital(c.sentence()) for c in self.caveats if c.kind == Caution.VOLATILE]
        return lines


def _capital(sentence: str) -> str:
    return f"{sentence[:1].upper()}{sentence[1:]}."
