"""The answers the knowledge model gives, as data that can also speak.

Its job: the records model.py returns (a chosen value with its proof, a
caveat, the whole outlook on an instance) and the sentences a shell prints
from them, violations always first. Pure data and words; the one judgement
here is `guaranteed` (do Paxos's guarantees hold?), asked by the knowledge
model and by the outlook alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from paxos_shell.core.text import counted, listing, show_value
from paxos_shell.core.vocab import Word
from paxos_shell.knowledge.breaks import Violation
from paxos_shell.knowledge.facts import Observation, Sent
from paxos_shell.knowledge.possible import Futures, Kind, Rule, Vote, alternatives
from paxos_shell.knowledge.proposers import ProposerViolation


@dataclass(frozen=True)
class ChosenValue:
    """A value a quorum of distinct acceptors accepted at one id, with the replies."""

    proposal_id: int
    value: Optional[str]
    acceptors: tuple[int, ...]
    evidence: tuple[Observation, ...] = ()

    def sentence(self) -> str:
        return f"{show_value(self.value)} is chosen: {listing(self.acceptors)} accepted it at id {self.proposal_id}"


class Caution(Word):
    """Why a guarantee is conditional although no rule was broken."""

    VOLATILE = "volatile acceptors"
    FORCED = "forced accept"
    STALE = "states from different moments"
    FORGOTTEN = "proposals let go"
    """The model's memory cap let go of proposals that could still gain votes (ledger.py)."""


@dataclass(frozen=True)
class Caveat:
    """A condition on what follows: the acceptors, the forced accept, or the vote
    that no quorum of promises covers (`others` are the acceptors that report one)."""

    kind: Caution
    acceptors: tuple[int, ...] = ()
    sent: Optional[Sent] = None
    vote: Optional[Vote] = None
    others: tuple[int, ...] = ()
    count: int = 0
    """FORGOTTEN: how many proposals were let go, the highest id among them in `top`."""
    top: int = 0

    def sentence(self) -> str:
        if self.kind == Caution.FORGOTTEN:
            let = counted(self.count, "proposal")
            return (f"to keep its memory bounded, the shell let go of {let} up to id {self.top} "
                    "that could still gain votes (an acceptor's promise stayed below them): a value chosen through "
                    "them would not be seen, so what follows is best effort")
        if self.vote is not None:
            v, d = self.vote, self.vote.proposal_id
            # `others` includes acceptors whose state is unknown: they may hold one, they reported none.
            return (f"acceptor {self.acceptors[0]} accepted {show_value(v.value)} at id {d}, yet as far as this "
                    f"shell last heard only {listing(self.others)} can hold a promise of {d} or more, not a quorum: "
                    "these states were not all read at one moment (is another proposer at work?), so what follows "
                    "is best effort")
        if self.sent is not None:
            s = self.sent
            return (f"accept {s.proposal_id} {show_value(s.value)} was forced in round {s.round_no}: every "
                    "guarantee assumes that proposers follow Paxos, so what follows is best effort")
        one = len(self.acceptors) == 1
        return (f"this holds only while {listing(self.acceptors)} {'does' if one else 'do'} not restart: "
                f"{'it keeps its' if one else 'they keep their'} state in memory only")


class Standing(Word):
    """Where the instance stands, in one word for the toolbar and the live view."""

    BROKEN = "safety violation"
    CHOSEN = "chosen"
    OPEN = "nothing chosen yet"
    """No value is chosen: some quorum has accepted nothing, so none can have been."""
    UNSURE = "not known to be chosen"
    """No chosen value is known, but one may have been chosen unseen, or states are unknown."""


def guaranteed(violations: Sequence[Violation], caveats: Iterable[Caveat],
               proposers: Sequence[ProposerViolation] = ()) -> bool:
    """Paxos's guarantees hold (perhaps conditionally on volatile acceptors): no rule was
    broken, no accept was forced against Paxos, and no other proposer broke a proposer rule
    (the shell's own forced accepts are weighed by the FORCED caveat, which knows when one
    left the pool as a correct proposal would)."""
    return (not violations and not any(c.kind == Caution.FORCED for c in caveats)
            and all(p.own for p in proposers))


@dataclass(frozen=True)
class Outlook:
    """Everything the shell may say about the instance: violations first."""

    futures: Futures
    chosen: tuple[ChosenValue, ...]
    violations: tuple[Violation, ...]
    caveats: tuple[Caveat, ...]
    proposers: tuple[ProposerViolation, ...] = ()
    """Proposer rules broken (proposers.py), the shell's own proposers' included."""
    unlisted: int = 0
    """Chosen (id, value) pairs counted but no longer listed in `chosen` (model.py keeps the latest)."""
    more_violations: int = 0
    """Violations found beyond those kept in `violations`."""

    @property
    def guaranteed(self) -> bool:
        """Paxos's guarantees hold (perhaps conditionally on volatile acceptors)."""
        return guaranteed(self.violations, self.caveats, self.proposers)

    @property
    def best_effort(self) -> bool:
        """The futures rest on states that break an assumption (a chosen value,
        while the guarantees hold, does not rest on the states)."""
        from_states = not (self.futures.reasons and self.futures.reasons[0].rule == Rule.CHOSEN)
        return not self.guaranteed or (from_states and any(c.kind in (Caution.STALE, Caution.FORGOTTEN)
                                                           for c in self.caveats))

    @property
    def standing(self) -> Standing:
        if self.violations:
            return Standing.BROKEN
        if self.chosen:
            return Standing.CHOSEN
        # Votes are never taken back: while some quorum has accepted nothing, no quorum can
        # ever have accepted one value, so nothing was chosen, even unseen.
        if self.futures.kind == Kind.ANY and not self.best_effort and self._from_empty_quorum():
            return Standing.OPEN
        return Standing.UNSURE

    def at_risk(self) -> tuple[int, ...]:
        """The volatile acceptors whose restart could undo what is said. A value a quorum of
        durable acceptors accepted stays the only one any proposer can get chosen, whatever the
        others forget: every later quorum meets that one, whose members refuse lower ids and
        report the value. Otherwise every volatile acceptor matters."""
        volatile = {a for c in self.caveats if c.kind == Caution.VOLATILE for a in c.acceptors}
        if volatile and self.standing == Standing.CHOSEN and self.guaranteed:
            return min((tuple(sorted(volatile.intersection(c.acceptors))) for c in self.chosen), key=len)
        return tuple(sorted(volatile))

    def shown_caveats(self) -> tuple[Caveat, ...]:
        """The caveats as printed: the volatile one names only the acceptors at risk (at_risk)."""
        risk = self.at_risk()
        return tuple(c for c in self.caveats if c.kind != Caution.VOLATILE) + (
            (Caveat(Caution.VOLATILE, risk),) if risk else ())

    def _from_empty_quorum(self) -> bool:
        return any(r.rule == Rule.EMPTY_QUORUM for r in self.futures.reasons)

    def headline(self) -> str:
        """A few words: 'chosen: A', 'nothing chosen yet', 'only A or B', 'unknown', 'SAFETY VIOLATION'."""
        if self.standing == Standing.BROKEN:
            return "SAFETY VIOLATION"
        if self.standing == Standing.CHOSEN:
            return "chosen: " + ", ".join(dict.fromkeys(show_value(c.value) for c in self.chosen))
        if self.standing == Standing.OPEN:
            return "nothing chosen yet"
        if self.futures.kind == Kind.ONLY:
            return f"only {alternatives(self.futures.values)}"
        return "any value" if self.futures.kind == Kind.ANY else "unknown"

    def summary(self, quorum: int, pool_size: int) -> list[str]:
        """What `state` and `check` print under the table: the standing first, then its reasons,
        then the proposer rules broken."""
        return self._summary(quorum, pool_size) + self.proposer_lines()

    def proposer_lines(self, most: int = 3) -> list[str]:
        """The first `most` proposer rules broken, one line each, and how many more."""
        lines = [f"PROPOSER VIOLATION: {p.sentence()}." for p in self.proposers[:most]]
        if len(self.proposers) > most:
            lines.append(f"And {counted(len(self.proposers) - most, 'more proposer violation')}: see 'check'.")
        return lines

    def _summary(self, quorum: int, pool_size: int) -> list[str]:
        size = f"quorum is {quorum} of {pool_size}"
        if self.standing == Standing.BROKEN or self.best_effort:
            return self.sentences()
        if self.standing == Standing.CHOSEN:
            c = self.chosen[-1]
            head = f"Chosen: {show_value(c.value)} (accepted at id {c.proposal_id} by {listing(c.acceptors)}, {size})"
            return [head] + [_capital(x.sentence()) for x in self.shown_caveats()]
        head = (f"No value is chosen yet ({size})." if self.standing == Standing.OPEN
                else f"No value is known to be chosen ({size}).")
        return [head, *self.sentences()]

    def sentences(self) -> list[str]:
        """Violations first, then what is chosen and what can be, then the caveats."""
        lines = [f"SAFETY VIOLATION: {v.sentence()}." for v in self.violations]
        if self.more_violations:
            lines.append(f"And {counted(self.more_violations, 'more safety violation')}, counted but not kept.")
        lines += [_capital(c.sentence()) for c in self.caveats
                  if c.kind in (Caution.FORCED, Caution.STALE, Caution.FORGOTTEN)]
        if not self.guaranteed:
            lines += [f"{c.sentence()}." for c in self.chosen]
            if self.unlisted:
                more = counted(self.unlisted, "earlier (id, value) pair")
                lines.append(f"And {more} chosen, counted but not listed.")
        if self.best_effort:
            lines.append(f"Best effort from the current states: {self.futures.sentence()}")
        else:
            lines.append(self.futures.sentence())
        lines += [_capital(c.sentence()) for c in self.shown_caveats() if c.kind == Caution.VOLATILE]
        return lines


def _capital(sentence: str) -> str:
    return f"{sentence[:1].upper()}{sentence[1:]}."
