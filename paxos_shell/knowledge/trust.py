"""Which replies a proposer may act on: a reply that breaks a rule is set aside.

Its job: given one reply and the rules it broke (breaks.py judges those, on the
reply alone or against the same acceptor's earlier replies), say whether the
reply is set aside, and why, in words. A set-aside reply is no promise: it
never counts towards a quorum, never decides the value of phase 2, never
proves a value chosen and never moves the proposer's next id, however high the
ids it reports. Pure: no I/O; it remembers only the latest round (LastRound),
which model.py holds and the session and the proposer ask through it.

Why: an acceptor that answers prepare N with acceptedId N+1000 cannot hold
what it says (an accept also promises its id), and obeying it would make two
honest acceptors accept a value no client proposed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from paxos_shell.core.paxos import Chosen, chosen_values
from paxos_shell.knowledge.breaks import Violation, pool_wide
from paxos_shell.knowledge.facts import ANSWERS, Observation, Outcome, Request


@dataclass(frozen=True)
class SetAside:
    """One reply the proposer does not act on, and the rules it broke (the reasons)."""

    reply: Observation
    reasons: tuple[Violation, ...]

    @property
    def acceptor(self) -> int:
        return self.reply.acceptor

    @property
    def promise(self) -> bool:
        """Whether the reply was granted a prepare: a promise that is not counted."""
        return self.reply.request == Request.PREPARE and self.reply.outcome == Outcome.GRANTED

    def why(self) -> str:
        """The broken rules, with the acceptor as 'it': 'it reported acceptedId 2001 above promisedId 1001'."""
        own = f"acceptor {self.acceptor} "
        return "; ".join(f"it {v.situation[len(own):]}" if v.situation.startswith(own) else v.situation
                         for v in self.reasons)

    def sentence(self) -> str:
        """'acceptor 3's promise of 1001 is not counted, because it reported acceptedId 2001 above ...'."""
        o = self.reply
        what = f"promise of {o.proposal_id} is not counted" if self.promise else f"reply to {o.asked()} moves no id"
        return f"acceptor {self.acceptor}'s {what}, because {self.why()}"


def judge(o: Observation, broken: Sequence[Violation]) -> Optional[SetAside]:
    """The reply `o` set aside for the rules it broke (`broken`: what breaks.check found
    for it), or None when it broke none. Pool-wide violations (two values at one id, two
    chosen) are not this reply's own fault and set nothing aside."""
    own = tuple(v for v in broken if not pool_wide(v.rule))
    if o.outcome not in ANSWERS or not own:
        return None
    return SetAside(o, own)


@dataclass
class LastRound:
    """The latest round's set-aside replies, and the accepted pairs its other answers reported:
    what that round shows chosen (the proposer's 'already chosen', counted once, here)."""

    round_no: int = -1
    aside: dict[int, SetAside] = field(default_factory=dict)
    reports: list[tuple[int, int, Optional[str]]] = field(default_factory=list)

    def note(self, o: Observation, broken: Sequence[Violation]) -> None:
        """One answer and the rules it broke (a new round number starts afresh)."""
        if o.round_no != self.round_no:
            self.round_no, self.aside, self.reports = o.round_no, {}, []
        aside, vote = judge(o, broken), o.reported.vote
        if aside is not None:
            self.aside[o.acceptor] = aside
        elif vote is not None and o.request != Request.ACCEPT:
            self.reports.append((o.acceptor, vote.proposal_id, vote.value))

    def set_aside(self, round_no: int) -> tuple[SetAside, ...]:
        found = self.aside if round_no == self.round_no else {}
        return tuple(found[a] for a in sorted(found))

    def shown_chosen(self, round_no: int, pool_size: int) -> Optional[Chosen]:
        """The highest pair a quorum of the round's trusted answers report accepted."""
        found = chosen_values(self.reports, pool_size) if round_no == self.round_no else []
        return found[-1] if found else None
