"""What the shell remembers between commands.

Session state is data only: the pool, each proposer's id, promises and
accepts, every reply seen (the history) and what that history lets us know
(the highest id seen, values seen, who accepted what). The completer and the
toolbar read it; only recording a round changes it.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Optional

from . import paxos
from .client import Round
from .paxos import NONE, Promise
from .vocab import Word
from .wire import ERROR, GRANTED, IGNORED, NO_RESPONSE, OK, Reply

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


class Session:
    def __init__(self, pool_size: int) -> None:
        self.pool_size = pool_size
        self.proposers: dict[str, Proposer] = {"main": Proposer("main")}
        self.active = "main"
        self.history: deque[HistoryEntry] = deque(maxlen=HISTORY_LIMIT)
        self.rounds = 0
        self.highest_seen = NONE
        self.values_seen: dict[str, None] = {}
        self.accepted_facts: set[tuple[int, int, Optional[str]]] = set()
        self.statuses: dict[int, Status] = {}
        self.faults: dict[int, str] = {}
        self.markers: deque[Marker] = deque(maxlen=HISTORY_LIMIT)
        """Faults injected on each acceptor (delay, drops), as the acceptor reported them."""
        self.epochs: dict[int, int] = {}
        """Round number at which an acceptor's state was wiped by `reset`: `check`
        judges only what came after, since a wipe is a new acceptor, not amnesia."""

    @property
    def proposer(self) -> Proposer:
        return self.proposers[self.active]

    @property
    def quorum(self) -> int:
        return paxos.quorum(self.pool_size)

    def next_id(self) -> int:
        """Above every id this proposer has seen; other proposers' ids it learns from replies."""
        p = self.proposer
        seen = [p.seen] + ([p.current_id] if p.current_id is not None else [])
        return paxos.next_id(seen, p.number)

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

    def record(self, rnd: Round) -> int:
        """Fold a round into the session; returns the round's number in history."""
        self.rounds += 1
        p = self.proposer
        for r in rnd.replies:
            self.history.append(HistoryEntry(r.at or time.time(), p.name, self.rounds, r))
            self._learn(r)
            if rnd.phase == "prepare":
                old = p.promises.get(r.acceptor)
                if r.kind == GRANTED:
                    p.promises[r.acceptor] = r
                elif r.kind == IGNORED or (old is not None and old.promised_id != rnd.params["id"]):
                    p.promises.pop(r.acceptor, None)
            elif rnd.phase == "accept":
                if r.kind == GRANTED:
                    p.accepts[r.acceptor] = r
                else:
                    p.accepts.pop(r.acceptor, None)
        if rnd.phase in ("prepare", "accept"):
            p.current_id = rnd.params["id"]
            p.seen = max(p.seen, rnd.params["id"])
            self.highest_seen = max(self.highest_seen, rnd.params["id"])
        if rnd.phase == "accept":
            self.note_value(rnd.params["value"])
        return self.rounds

    def _learn(self, r: Reply) -> None:
        st = self.statuses.setdefault(r.acceptor, Status())
        st.latency = r.latency
        if r.kind in (NO_RESPONSE, ERROR):
            st.kind = _status_of_failure(r)
            return
        st.kind = AcceptorStatus.UP
        if r.kind in (OK, IGNORED) or r.phase == "prepare":
            if r.promised_id != NONE:
                st.promised_id = r.promised_id
        if r.phase == "accept" and r.kind == GRANTED:
            st.promised_id = max(st.promised_id, r.accepted_id)
        if r.kind == OK or r.accepted_id != NONE:
            st.accepted_id, st.accepted_value = r.accepted_id, r.accepted_value
        self.highest_seen = max(self.highest_seen, r.promised_id, r.accepted_id)
        p = self.proposer
        p.seen = max(p.seen, r.promised_id, r.accepted_id)
        if r.accepted_id != NONE:
            self.accepted_facts.add((r.acceptor, r.accepted_id, r.accepted_value))
            self.note_value(r.accepted_value)

    def chosen(self) -> list[paxos.Chosen]:
        return paxos.chosen_values(self.accepted_facts, self.pool_size)

    def forget(self, acceptors: Iterable[int]) -> None:
        """After a wipe: what those acceptors accepted no longer stands."""
        gone = set(acceptors)
        for a in gone:
            self.epochs[a] = self.rounds
        self.accepted_facts = {f for f in self.accepted_facts if f[0] not in gone}
        for a in gone:
            self.statuses.pop(a, None)
            for p in self.proposers.values():
                p.promises.pop(a, None)
                p.accepts.pop(a, None)
        if not self.accepted_facts and len(gone) >= self.pool_size:
            self.highest_seen = NONE
            for p in self.proposers.values():
                p.current_id, p.seen, p.client_value = None, NONE, None


    def mark(self, acceptors: Iterable[int], what: str) -> None:
        self.markers.append(Marker(time.time(), self.rounds, tuple(acceptors), what))

    def pool_changed(self, ids: Iterable[int], action: PoolAction, volatile: Optional[bool] = None) -> None:
        """After `down`, `up`, `restart` or `reset`: statuses, faults, wiped state, and a marker."""
        ids = list(ids)
        if not ids:
            return
        if action == PoolAction.RESET:
            self.forget(ids)
        for i in ids:
            st = self.statuses.setdefault(i, Status())
            st.kind = AcceptorStatus.DOWN if action == PoolAction.DOWN else AcceptorStatus.UP
            if volatile is not None and action != PoolAction.DOWN:
                st.volatile = volatile
            if action != PoolAction.DOWN:
                self.faults.pop(i, None)  # a new process starts without injected faults
        self.mark(ids, f"{action}{' --volatile' if volatile and action != PoolAction.DOWN else ''}")

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


class PoolAction(Word):
    """What the shell did to acceptors of its local pool."""

    DOWN = "down"
    UP = "up"
    RESTART = "restart"
    RESET = "reset"


def _status_of_failure(r: Reply) -> AcceptorStatus:
    if not r.reached:
        return AcceptorStatus.DOWN
    if r.kind == NO_RESPONSE and r.cause == "timeout":
        return AcceptorStatus.TIMEOUT
    return AcceptorStatus.ERROR
