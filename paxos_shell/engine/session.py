"""What the shell remembers between commands, and the bridge to the knowledge model.

Session state is data: the pool's acceptor ids, each proposer's id, promises,
accepts and what it sent, every reply seen (the history), the marks of what the
shell did to acceptors, and each acceptor's last status for the toolbar. Every
reply and pool event is also handed to the knowledge model as a fact, which
answers every Paxos question (what is chosen, what can be, which reply broke
a rule); this module never judges Paxos itself. No network: the Engine records
rounds here after the client ran them, and the watch records foreign proposers'
exchanges here from its own thread, so every read and change happens under
the session's guard (guard.py).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Optional

from paxos_shell.core import paxos
from paxos_shell.core.paxos import NONE, Promise
from paxos_shell.core.vocab import Word
from paxos_shell.core.wire import ERROR, GRANTED, IGNORED, NO_RESPONSE, Phase, Reply, ReplyKind, Round, is_int
from paxos_shell.engine.guard import Guard
from paxos_shell.knowledge.breaks import Violation
from paxos_shell.knowledge.facts import (
    Down,
    Fact,
    Observation,
    Outcome,
    Recovery,
    Reported,
    Request,
    Reset,
    Sent,
    Up,
    Volatile,
)
from paxos_shell.knowledge.model import Knowledge
from paxos_shell.knowledge.outlook import ChosenValue, Outlook
from paxos_shell.knowledge.proposers import shell_label

HISTORY_LIMIT = 10_000
"""Replies kept for `history` and `trace`; older ones fall off so memory stays flat."""


@dataclass
class Proposer:
    """One proposer's own view: several of them make dueling demonstrations."""

    name: str
    number: Optional[int] = None
    seen: int = NONE
    current_id: Optional[int] = None
    client_value: Optional[str] = None
    promises: dict[int, Reply] = field(default_factory=dict)
    accepts: dict[int, Reply] = field(default_factory=dict)

    def promise_list(self) -> list[Promise]:
        return [
            Promise(a, r.promised_id, r.accepted_id, r.accepted_value)
            for a, r in sorted(self.promises.items())
        ]


class AcceptorStatus(Word):
    """An acceptor's condition as far as the shell knows it (toolbar, `pool`, `state`)."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass
class Status:
    """The last thing an acceptor told us, for the toolbar, `pool` and completion."""

    kind: AcceptorStatus = AcceptorStatus.UNKNOWN
    latency: Optional[float] = None
    promised_id: int = NONE
    accepted_id: int = NONE
    accepted_value: Optional[str] = None
    volatile: bool = False
    """Started with --volatile by this shell: it keeps its state in memory only."""


@dataclass
class HistoryEntry:
    at: float
    proposer: str
    """The shell's proposer by name, or a foreign proposer by the watch's label."""
    round_no: int
    reply: Reply


@dataclass(frozen=True)
class Marker:
    """Something the shell did to acceptors between rounds (a crash, a reset, a fault):
    `trace` draws it on their lifelines after round `after_round`."""

    at: float
    after_round: int
    acceptors: tuple[int, ...]
    what: str


class PoolAction(Word):
    """What the shell did to acceptors of its local pool."""

    DOWN = "down"
    UP = "up"
    RESTART = "restart"
    RESET = "reset"


class Session:
    def __init__(self, acceptors: Iterable[int], guard: Optional[Guard] = None) -> None:
        self.guard = guard or Guard()
        """Held while the session is read or changed (the shell's command, a foreign round)."""
        self.acceptors = tuple(sorted(set(acceptors)))
        self.pool_size = len(self.acceptors)
        self.knowledge = Knowledge(self.acceptors)
        self.proposers: dict[str, Proposer] = {"main": Proposer("main")}
        self.active = "main"
        self.history: deque[HistoryEntry] = deque(maxlen=HISTORY_LIMIT)
        self.markers: deque[Marker] = deque(maxlen=HISTORY_LIMIT)
        self.rounds = 0
        self.highest_seen = NONE
        self.values_seen: dict[str, None] = {}
        self.statuses: dict[int, Status] = {}
        self.faults: dict[int, str] = {}
        self._facts = 0
        self._outlook: Optional[tuple[int, Outlook]] = None

    @property
    def proposer(self) -> Proposer:
        return self.proposers[self.active]

    @property
    def quorum(self) -> int:
        return paxos.quorum(self.pool_size)

    def next_id(self) -> Optional[int]:
        """Above every id this proposer has seen (None when the id space is used up);
        other proposers' ids it learns only from replies, as a real proposer would."""
        p = self.proposer
        seen = [p.seen] + ([p.current_id] if p.current_id is not None else [])
        return paxos.id_above(seen, p.number)

    def switch(self, name: str) -> tuple[Proposer, bool]:
        """Create or activate a proposer. With more than one, each owns distinct ids
        (id % 100 == its number), so their ids never collide."""
        created = name not in self.proposers
        if created:
            used = {p.number for p in self.proposers.values()}
            if self.proposer.number is None:
                self.proposer.number = 0 if 0 not in used else min(set(range(paxos.ID_STRIDE)) - used)
                used.add(self.proposer.number)
            free = sorted(set(range(1, paxos.ID_STRIDE)) - used)
            if not free:
                raise ValueError(f"at most {paxos.ID_STRIDE} proposers")
            # A new proposer starts above every id used so far, so it cannot reuse one.
            self.proposers[name] = Proposer(name, free[0], seen=self.highest_seen)
        self.active = name
        return self.proposers[name], created

    def note_value(self, value: Optional[str]) -> None:
        if value is not None:
            self.values_seen.pop(value, None)
            self.values_seen[value] = None

    # -- rounds ------------------------------------------------------------------------

    def record(self, rnd: Round, forced: bool = False, proposer: Optional[str] = None) -> tuple[Violation, ...]:
        """Fold a round into the session and the knowledge model; the rule breaks it revealed.

        `forced` marks an accept sent although paxos.accept_safety refused it (--force). A reply
        the knowledge model sets aside for a broken rule (trust.py) is kept as no promise and
        moves no id. `proposer` None is the shell's active proposer; otherwise the label of a
        foreign proposer the watch saw, whose exchange never changes the shell's proposers' own
        promises, accepts or ids.
        """
        with self.guard:
            if not self._continues(rnd, proposer):
                self.rounds += 1
            p = self.proposer if proposer is None else None
            name = p.name if p is not None else str(proposer)
            found: list[Violation] = []
            if rnd.phase == Phase.ACCEPT:
                n, value = rnd.params["id"], rnd.params["value"]
                found += self.tell(Sent(self.rounds, n, value, forced))
            seen = [observation(self.rounds, r, rnd.params) for r in rnd.replies]
            for r, o in zip(rnd.replies, seen):
                self.history.append(HistoryEntry(r.at or time.time(), name, self.rounds, r))
                found += self.tell(o)
            aside = {s.acceptor for s in self.knowledge.set_aside(self.rounds)}
            for r in rnd.replies:
                self._note_status(r, r.acceptor not in aside, p)
                if p is not None:
                    self._keep_promise_or_accept(p, rnd, r, trusted=r.acceptor not in aside)
            if rnd.phase in (Phase.PREPARE, Phase.ACCEPT):
                if p is not None:
                    p.current_id = rnd.params["id"]
                    p.seen = max(p.seen, rnd.params["id"])
                self.highest_seen = max(self.highest_seen, rnd.params["id"])
            if rnd.phase == Phase.ACCEPT:
                self.note_value(rnd.params["value"])
            self._judge_proposer(seen, proposer)
            return tuple(found)

    def _continues(self, rnd: Round, proposer: Optional[str]) -> bool:
        """A foreign proposer's request to the next acceptor, right after the same request (phase and
        parameters) to others: part of the same round, so it is traced and drawn like the shell's."""
        if proposer is None or not self.history or len(rnd.replies) != 1:
            return False
        asked = set()
        for e in reversed(self.history):
            if e.round_no != self.rounds:
                break
            if e.proposer != proposer or e.reply.phase != rnd.phase or e.reply.params != rnd.params:
                return False
            asked.add(e.reply.acceptor)
        return rnd.replies[0].acceptor not in asked

    def _judge_proposer(self, seen: list[Observation], proposer: Optional[str]) -> None:
        """Hand the round's exchanges to the proposer judge (knowledge/proposers.py), labelled
        `shell`/`shell:NAME` for the shell's own proposers; its violations appear in the outlook."""
        label = shell_label(self.active) if proposer is None else proposer
        for o in seen:
            self.knowledge.proposers.fold(label, o, proposer is None)

    def _keep_promise_or_accept(self, p: Proposer, rnd: Round, r: Reply, trusted: bool) -> None:
        if rnd.phase == Phase.PREPARE:
            old = p.promises.get(r.acceptor)
            if r.kind == GRANTED and trusted:
                p.promises[r.acceptor] = r
            elif r.kind in (GRANTED, IGNORED) or (old is not None and old.promised_id != rnd.params["id"]):
                p.promises.pop(r.acceptor, None)
        elif rnd.phase == Phase.ACCEPT:
            if r.kind == GRANTED:
                p.accepts[r.acceptor] = r
            else:
                p.accepts.pop(r.acceptor, None)

    def _note_status(self, r: Reply, trusted: bool, p: Optional[Proposer]) -> None:
        """The acceptor's status, and its state as the knowledge model last knew it; the ids
        a trusted answer reported raise the ids this proposer (p; None for a foreign one) has seen."""
        st = self.statuses.setdefault(r.acceptor, Status())
        st.latency = r.latency
        if r.kind in (NO_RESPONSE, ERROR):
            st.kind = _status_of_failure(r)
            return
        st.kind = AcceptorStatus.UP
        if r.acceptor in self.knowledge.pool:
            known = self.knowledge.last_known(r.acceptor)
            st.promised_id = known.promised
            st.accepted_id, st.accepted_value = (known.vote.proposal_id, known.vote.value) if known.vote else \
                (NONE, None)
        if not trusted:
            return
        self.highest_seen = max(self.highest_seen, r.promised_id, r.accepted_id)
        if p is not None:
            p.seen = max(p.seen, r.promised_id, r.accepted_id)
        if r.accepted_id != NONE:
            self.note_value(r.accepted_value)

    # -- what the knowledge model says ---------------------------------------------------

    def chosen(self) -> tuple[ChosenValue, ...]:
        return self.knowledge.chosen()

    def outlook(self) -> Outlook:
        """The knowledge model's whole answer, computed once per change (the toolbar asks often)."""
        if self._outlook is None or self._outlook[0] != self._facts:
            self._outlook = (self._facts, self.knowledge.outlook())
        return self._outlook[1]

    def tell(self, fact: Fact) -> tuple[Violation, ...]:
        """Hand one fact to the knowledge model; the rule breaks it revealed."""
        self._facts += 1
        return self.knowledge.add(fact)

    # -- what the shell did to the pool -----------------------------------------------

    def mark(self, acceptors: Iterable[int], what: str) -> None:
        self.markers.append(Marker(time.time(), self.rounds, tuple(acceptors), what))

    def pool_changed(self, ids: Iterable[int], action: PoolAction, volatile: Optional[bool] = None) -> None:
        """After `down`, `up`, `restart` or `reset`: statuses, faults, facts, and a marker."""
        ids = list(ids)
        if not ids:
            return
        if action == PoolAction.RESET:
            self._wiped(ids)
        for i in ids:
            self._changed(i, action, volatile)
        self.mark(ids, f"{action}{' --volatile' if volatile and action != PoolAction.DOWN else ''}")

    def _changed(self, i: int, action: PoolAction, volatile: Optional[bool]) -> None:
        st = self.statuses.setdefault(i, Status())
        was_volatile = st.volatile
        if action in (PoolAction.DOWN, PoolAction.RESTART):
            self.tell(Down(self.rounds, i))
        if action == PoolAction.DOWN:
            st.kind = AcceptorStatus.DOWN
            return
        st.kind = AcceptorStatus.UP
        self.faults.pop(i, None)  # a new process starts without injected faults
        now_volatile = was_volatile if volatile is None else volatile
        if now_volatile != was_volatile:
            self.tell(Volatile(self.rounds, i, now_volatile))
        st.volatile = now_volatile
        if action != PoolAction.RESET:
            recovery = (Recovery.EMPTY if now_volatile else
                        Recovery.OLDER if was_volatile else Recovery.DURABLE)
            self.tell(Up(self.rounds, i, recovery))

    def _wiped(self, ids: list[int]) -> None:
        """A reset: the acceptors start empty; all of them make a new Paxos instance."""
        self.tell(Reset(self.rounds, tuple(ids)))
        gone = set(ids)
        for a in gone:
            self.statuses.pop(a, None)
            for p in self.proposers.values():
                p.promises.pop(a, None)
                p.accepts.pop(a, None)
        if gone >= set(self.acceptors):
            self.highest_seen = NONE
            for p in self.proposers.values():
                p.current_id, p.seen, p.client_value = None, NONE, None

    def faults_changed(self, acceptor: int, text: str) -> None:
        """After `delay`, `drop` or `heal`: the acceptor answered (so it is up), what it reported,
        and a marker if that changed."""
        self.statuses.setdefault(acceptor, Status()).kind = AcceptorStatus.UP
        before = self.faults.get(acceptor, "")
        if text:
            self.faults[acceptor] = text
        else:
            self.faults.pop(acceptor, None)
        if text != before:
            self.mark([acceptor], f"faults: {text}" if text else "healed")


# -- replies as facts ---------------------------------------------------------------------

OUTCOMES = {
    ReplyKind.GRANTED: Outcome.GRANTED,
    ReplyKind.IGNORED: Outcome.IGNORED,
    ReplyKind.OK: Outcome.ANSWERED,
    ReplyKind.ERROR: Outcome.ERROR,
}


def observation(round_no: int, r: Reply, params: Optional[dict] = None) -> Observation:
    """A reply in the knowledge model's words: which request (the round's parameters), how it
    ended, what it reported."""
    outcome = OUTCOMES.get(r.kind) or (Outcome.SILENT if r.may_have_acted else Outcome.UNREACHED)
    params = params if params is not None else r.params or {}
    body = r.body if r.body is not None and outcome in (Outcome.GRANTED, Outcome.IGNORED, Outcome.ANSWERED) else {}
    reported = Reported(_int_field(body, "promisedId"), _int_field(body, "acceptedId"),
                        r.accepted_value if "acceptedValue" in body else None, "acceptedValue" in body)
    return Observation(round_no, r.acceptor, Request(str(r.phase)), outcome, params.get("id"),
                       params.get("value"), reported)


def _int_field(body: dict, key: str) -> Optional[int]:
    v = body.get(key)
    return v if is_int(v) else None


def _status_of_failure(r: Reply) -> AcceptorStatus:
    if not r.reached:
        return AcceptorStatus.DOWN
    if r.kind == NO_RESPONSE and r.cause == "timeout":
        return AcceptorStatus.TIMEOUT
    return AcceptorStatus.ERROR
