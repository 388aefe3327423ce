"""What the proposer's steps return: results of state, prepare, accept and propose, and the
progress events of a propose.

Records only: the Engine (proposer.py) makes them, the shell renders them, the diagram marks
them. A result's outlook and hint are the knowledge model's, asked for when first shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from paxos_shell.core.errors import UserError
from paxos_shell.core.paxos import Chosen, ProposeOutcome, Safety, ValueChoice, Verdict
from paxos_shell.core.wire import Round
from paxos_shell.knowledge.breaks import Violation
from paxos_shell.knowledge.hints import Hint
from paxos_shell.knowledge.outlook import Outlook
from paxos_shell.knowledge.trust import SetAside


class ProposerError(UserError):
    """A request the proposer refuses to send; its text is one line for the user."""


class Judgement:
    """What the knowledge model says right after a round, worked out when first asked.

    Every round is folded into the knowledge model as it ends (that is cheap); the
    outlook and the hint are analyses, asked for when a result is shown. The shell
    asks at once (Shell.remember), so they describe the pool as it was after the
    round; a benchmark of rounds never asks, and never pays for them.
    """

    def __init__(self, outlook: Callable[[], Outlook], hint: Callable[[], Hint]) -> None:
        self._ask_outlook, self._ask_hint = outlook, hint
        self._outlook: Optional[Outlook] = None
        self._hint: Optional[Hint] = None

    @property
    def outlook(self) -> Outlook:
        if self._outlook is None:
            self._outlook = self._ask_outlook()
        return self._outlook

    @property
    def hint(self) -> Hint:
        if self._hint is None:
            self._hint = self._ask_hint()
        return self._hint

    def settle(self) -> None:
        """Work both out now, before anything else changes the session."""
        _ = self.outlook, self.hint


class Judged:
    """A result whose outlook and hint come from its Judgement."""

    judgement: Judgement

    @property
    def outlook(self) -> Outlook:
        return self.judgement.outlook

    @property
    def hint(self) -> Hint:
        return self.judgement.hint


@dataclass
class StateResult(Judged):
    round: Round
    judgement: Judgement
    breaks: tuple[Violation, ...] = ()


@dataclass
class PrepareResult(Judged):
    round: Round
    n: int
    promised: list[int]
    quorum: int
    choice: Optional[ValueChoice]
    prior_chosen: Optional[Chosen]
    judgement: Judgement
    breaks: tuple[Violation, ...] = ()
    set_aside: tuple[SetAside, ...] = ()
    """Granted replies the knowledge model set aside for a broken rule: not in `promised`."""

    @property
    def quorum_reached(self) -> bool:
        """A quorum promised id n (the request reaching an acceptor is Reply.reached)."""
        return len(self.promised) >= self.quorum


@dataclass
class AcceptResult(Judged):
    round: Round
    n: int
    value: str
    safety: Safety
    forced: bool
    outcome: ProposeOutcome
    judgement: Judgement
    breaks: tuple[Violation, ...] = ()


@dataclass
class Attempt:
    servers: list[int]
    prepare: PrepareResult
    accept: Optional[AcceptResult] = None
    refused: Optional[Safety] = None
    """The core's judgement when it found the accept unsafe, so phase 2 was never sent."""


@dataclass
class ProposeResult:
    client_value: str
    verdict: Verdict
    reason: str
    proposal_id: Optional[int] = None
    value: Optional[str] = None
    attempts: list[Attempt] = field(default_factory=list)
    early: bool = False
    judgement: Optional[Judgement] = None
    """What the knowledge model says once the proposal is over."""

    @property
    def outlook(self) -> Optional[Outlook]:
        return self.judgement.outlook if self.judgement is not None else None

    @property
    def ok(self) -> bool:
        return self.verdict == Verdict.CHOSEN


# -- progress events of a propose, shown as they happen (h11-style events) -------


@dataclass(frozen=True)
class Started:
    """An attempt begins: these acceptors, this id."""

    targets: tuple[int, ...]
    n: int


@dataclass(frozen=True)
class Prepared:
    attempt: Attempt


@dataclass(frozen=True)
class AlreadyChosen:
    """The promises show a quorum holding one accepted pair: that value is chosen."""

    chosen: Chosen


@dataclass(frozen=True)
class Accepted:
    """Phase 2 ran for this attempt (its accept round is attempt.accept)."""

    attempt: Attempt


@dataclass(frozen=True)
class Retrying:
    attempt: int
    pause: float


ProposeEvent = Union[Started, Prepared, AlreadyChosen, Accepted, Retrying]
Step = Callable[[ProposeEvent], None]
