"""The facts the shell learns about the pool, in the knowledge model's own words.

Its job: small frozen records of what happened (a reply to a request, an
accept this shell sent, a reset, a crash, a restart) and the words that
describe a reply to a person. The shell converts wire replies and pool
commands into these; nothing here does I/O or judges Paxos (breaks.py and
model.py do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from paxos_shell.core.text import show_value
from paxos_shell.core.vocab import Word
from paxos_shell.knowledge.possible import Vote


class Request(Word):
    """What the shell asked an acceptor."""

    PREPARE = "prepare"
    ACCEPT = "accept"
    STATE = "state"


class Outcome(Word):
    """How a request ended, as far as Paxos is concerned.

    GRANTED, IGNORED and ANSWERED (a state read) are protocol answers. ERROR (an
    HTTP error answer) and UNREACHED (connection refused) mean the acceptor did
    not act. SILENT (a timeout, a connection dropped after sending, an
    interrupted round) means it may have acted.
    """

    GRANTED = "granted"
    IGNORED = "ignored"
    ANSWERED = "answered"
    ERROR = "error"
    UNREACHED = "unreached"
    SILENT = "silent"


ANSWERS = (Outcome.GRANTED, Outcome.IGNORED, Outcome.ANSWERED)
"""The outcomes that carry a body: what the acceptor said about itself."""


class Recovery(Word):
    """What an acceptor holds when it comes back up."""

    DURABLE = "with its state"
    EMPTY = "empty"
    OLDER = "with an older state"


@dataclass(frozen=True)
class Reported:
    """The body fields an answer carried. None means the field was absent,
    which is not the same as -1; `has_value` says whether acceptedValue was
    present (it may be JSON null)."""

    promised_id: Optional[int] = None
    accepted_id: Optional[int] = None
    accepted_value: Optional[str] = None
    has_value: bool = False

    @property
    def vote(self) -> Optional[Vote]:
        """The accepted pair, when the answer reports one."""
        if self.accepted_id is None or self.accepted_id < 0:
            return None
        return Vote(self.accepted_id, self.accepted_value)


@dataclass(frozen=True)
class Observation:
    """One acceptor's answer (or silence) to one request of round `round_no`."""

    round_no: int
    acceptor: int
    request: Request
    outcome: Outcome
    proposal_id: Optional[int] = None
    value: Optional[str] = None
    reported: Reported = field(default_factory=Reported)

    def asked(self) -> str:
        """The request in the shell's own syntax: 'prepare 5', 'accept 5 A', 'state'."""
        if self.request == Request.PREPARE:
            return f"prepare {self.proposal_id}"
        if self.request == Request.ACCEPT:
            return f"accept {self.proposal_id} {show_value(self.value)}"
        return "state"

    def what(self) -> str:
        """What it said, with 'it' as subject and its round first:
        'in round 4 it promised 5'."""
        return f"in round {self.round_no} it {_verb(self)}"

    def said(self) -> str:
        """The same with the acceptor named: 'acceptor 2 promised 5 in round 4'."""
        return f"acceptor {self.acceptor} {_verb(self)} in round {self.round_no}"


def _pair(r: Reported) -> str:
    v = r.vote
    return f"{show_value(v.value)} accepted at id {v.proposal_id}" if v is not None else "nothing accepted"


def _verb(o: Observation) -> str:
    r = o.reported
    if o.outcome == Outcome.GRANTED and o.request == Request.PREPARE:
        extra = f", reporting {_pair(r)}" if r.vote is not None else ""
        return f"promised {o.proposal_id}{extra}"
    if o.outcome == Outcome.GRANTED:
        return f"accepted {show_value(o.value)} at id {o.proposal_id}"
    if o.outcome == Outcome.IGNORED and o.request == Request.PREPARE:
        promise = f"promisedId {r.promised_id}" if r.promised_id is not None else "no promise"
        return f"refused prepare {o.proposal_id}, reporting {promise}"
    if o.outcome == Outcome.IGNORED:
        return f"refused {o.asked()}"
    if o.outcome == Outcome.ANSWERED:
        return f"reported promisedId {r.promised_id if r.promised_id is not None else -1} and {_pair(r)}"
    if o.outcome == Outcome.ERROR:
        return f"answered {o.asked()} with an HTTP error"
    if o.outcome == Outcome.UNREACHED:
        return f"could not be reached for {o.asked()}"
    return f"did not answer {o.asked()}"


@dataclass(frozen=True)
class Sent:
    """An accept this shell sent: the proposal (id, value) exists from now on.

    `forced` means it went out although paxos.accept_safety refused it
    (--force); an accept that was safe anyway is not forced.
    """

    round_no: int
    proposal_id: int
    value: str
    forced: bool = False


@dataclass(frozen=True)
class Reset:
    """Acceptors wiped on purpose after round `round_no`. All of them: a new
    Paxos instance, everything before is forgotten. Some: those come back
    empty and durable while the others keep their state (amnesia)."""

    round_no: int
    acceptors: tuple[int, ...]


@dataclass(frozen=True)
class Down:
    """An acceptor crashed or was stopped. A durable one keeps its state on
    disk; a volatile one loses everything it held."""

    round_no: int
    acceptor: int


@dataclass(frozen=True)
class Up:
    """An acceptor started again, holding what `recovery` says."""

    round_no: int
    acceptor: int
    recovery: Recovery = Recovery.DURABLE


@dataclass(frozen=True)
class Volatile:
    """An acceptor keeps its state in memory only (or, with False, on disk
    again): every guarantee then holds only while it does not restart."""

    round_no: int
    acceptor: int
    volatile: bool = True


Fact = Union[Observation, Sent, Reset, Down, Up, Volatile]
