"""The rules of single-decree Paxos, with no I/O at all.

The acceptor server and the proposer both call these functions, so the rules
exist exactly once and can be tested without a socket (the sans-IO idea of h11).
Every decision returns its reason as data, because the shell's job is to show
a learner *why* Paxos did what it did, not only what it did.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Optional

from paxos_shell.core.text import counted, show_value
from paxos_shell.core.vocab import Word

NONE = -1
"""The id an acceptor reports when it has promised or accepted nothing."""

MAX_ID = 2**31 - 1
"""The Java paxos-server parses ids as a 32-bit int; we keep the same range."""

ID_STRIDE = 100
"""Ids owned by proposer number p are those with id % ID_STRIDE == p."""


@dataclass(frozen=True)
class AcceptorState:
    """What one acceptor must remember forever (and so must persist)."""

    promised_id: int = NONE
    accepted_id: int = NONE
    accepted_value: Optional[str] = None


@dataclass(frozen=True)
class Transition:
    """The result of one request: granted or not, and the state after it."""

    granted: bool
    state: AcceptorState
    changed: bool


def valid_id(n: int) -> bool:
    return 0 <= n <= MAX_ID


def possible_state(promised: int, accepted: int, value: Optional[str]) -> AcceptorState:
    """The state, if an acceptor that follows the rules can be in it; ValueError saying why if not.

    Promises and accepts only raise ids within NONE..MAX_ID, an accept raises the promise
    to its id, and a value is held exactly when an id was accepted.
    """
    for name, n in (("promisedId", promised), ("acceptedId", accepted)):
        if not NONE <= n <= MAX_ID:
            raise ValueError(f"{name} is not an id: {n!r}")
    if accepted > promised or (accepted == NONE) != (value is None):
        raise ValueError("acceptedId/acceptedValue are inconsistent with promisedId")
    return AcceptorState(promised, accepted, value)


def on_prepare(state: AcceptorState, n: int) -> Transition:
    """Promise n only if it is strictly above every earlier promise.

    Equal ids are refused: a second proposer reusing an id must not obtain a
    promise that the first one already holds.
    """
    if n > state.promised_id:
        new = AcceptorState(n, state.accepted_id, state.accepted_value)
        return Transition(True, new, True)
    return Transition(False, state, False)


def on_accept(state: AcceptorState, n: int, value: str) -> Transition:
    """Accept unless a higher id was promised; accepting also raises the promise.

    `>=` (not `>`) lets the proposer that holds promise n accept at n, and
    allows an accept with no earlier prepare, as Lamport's TLA+ spec does.
    """
    if n >= state.promised_id:
        new = AcceptorState(n, n, value)
        return Transition(True, new, new != state)
    return Transition(False, state, False)


def quorum(pool_size: int) -> int:
    """A majority of the whole pool, however few acceptors a round contacts."""
    return pool_size // 2 + 1


# --- the proposer's decisions -------------------------------------------------


@dataclass(frozen=True)
class Promise:
    """A granted prepare reply, as the proposer sees it."""

    acceptor: int
    promised_id: int
    accepted_id: int = NONE
    accepted_value: Optional[str] = None


@dataclass(frozen=True)
class ValueChoice:
    """The value a proposer must send in phase 2, and why."""

    value: Optional[str]
    overridden: bool
    forced_by: Optional[Promise]
    reason: str


def choose_value(promises: Iterable[Promise], client_value: Optional[str]) -> ValueChoice:
    """Paxos phase 2a: the value of the highest acceptedId among the promises.

    Only when no promise carries an accepted value may the proposer use its
    own; otherwise a value that might already be chosen could be overwritten.
    """
    carrying = [p for p in promises if p.accepted_id >= 0]
    if not carrying:
        return ValueChoice(
            client_value, False, None,
            "no promise carried an accepted value, so the client value is free to use",
        )
    best = max(carrying, key=lambda p: (p.accepted_id, -p.acceptor))
    overridden = best.accepted_value != client_value
    reason = (
        f"acceptor {best.acceptor} reported acceptedId={best.accepted_id}, "
        f"value={show_value(best.accepted_value)}, the highest among the promises; "
        "Paxos requires that value"
    )
    return ValueChoice(best.accepted_value, overridden, best, reason)


@dataclass(frozen=True)
class Chosen:
    """A value accepted by a quorum at one proposal id."""

    proposal_id: int
    value: Optional[str]
    acceptors: tuple[int, ...]


def chosen_values(accepted: Iterable[tuple[int, int, Optional[str]]], pool_size: int) -> list[Chosen]:
    """Every (id, value) pair that a quorum of distinct acceptors accepted.

    `accepted` holds (acceptor, acceptedId, value) facts from state snapshots
    and accept replies; one acceptor may appear with several pairs over time,
    since a value once chosen stays chosen. More than one distinct value in the
    answer means the pool broke Paxos safety.
    """
    by_pair: dict[tuple[int, Optional[str]], set[int]] = defaultdict(set)
    for acceptor, aid, value in accepted:
        if aid >= 0:
            by_pair[(aid, value)].add(acceptor)
    need = quorum(pool_size)
    found = [
        Chosen(aid, value, tuple(sorted(who)))
        for (aid, value), who in by_pair.items()
        if len(who) >= need
    ]
    return sorted(found, key=lambda c: c.proposal_id)


def last_id(proposer: Optional[int] = None) -> int:
    """The highest id a proposer may use: MAX_ID, or the last one it owns."""
    if proposer is None:
        return MAX_ID
    top = MAX_ID - (MAX_ID % ID_STRIDE) + proposer
    return top if top <= MAX_ID else top - ID_STRIDE


def id_above(seen: Iterable[Optional[int]], proposer: Optional[int] = None) -> Optional[int]:
    """The smallest id above every id seen, owned by `proposer` if one is set;
    None once no such id is left below MAX_ID (the ids are exhausted).

    With proposer numbers, id % ID_STRIDE == proposer, so two shells with
    different numbers can never pick the same id however they interleave.
    """
    top = max((i for i in seen if i is not None), default=NONE)
    if proposer is None:
        candidate = top + 1
    else:
        candidate = (top + 1) - ((top + 1) % ID_STRIDE) + proposer
        if candidate <= top:
            candidate += ID_STRIDE
    return candidate if candidate <= MAX_ID else None


@dataclass(frozen=True)
class Safety:
    """Whether an accept(n, value) is one Paxos allows after the last promises."""

    safe: bool
    required: Optional[str]
    reason: str


def accept_safety(
    n: int, value: Optional[str], promises: Iterable[Promise], pool_size: int, sent: Iterable[str] = (),
) -> Safety:
    """Judge a user-chosen accept against the promises gathered for id n.

    Paxos sends phase 2a only after a quorum promised n, and only with the
    value that choose_value dictates; anything else may overwrite a chosen value.
    `sent` holds the values this shell already sent at id n: one proposal id
    carries one value, whatever the promises say, or two acceptors could each
    hold id n with a different value and both be counted towards a quorum.
    """
    other = next((v for v in sent if v != value), None)
    if other is not None:
        return Safety(
            False, other,
            f"this shell already sent accept {n} {show_value(other)}: a proposal id carries one value, "
            f"so {show_value(value)} needs a higher id (prepare one first)",
        )
    for_n = [p for p in promises if p.promised_id == n]
    need = quorum(pool_size)
    if len(for_n) < need:
        return Safety(
            False, None,
            f"only {counted(len(for_n), 'promise')} for id {n}, a quorum is {need}: "
            f"run 'prepare {n}' first",
        )
    choice = choose_value(for_n, value)
    if choice.forced_by is not None and choice.value != value:
        return Safety(False, choice.value, choice.reason)
    return Safety(True, choice.value if choice.forced_by else value, choice.reason)


class Verdict(Word):
    """Chosen, not chosen, or unknown: the three honest answers of a proposer."""

    CHOSEN = "chosen"
    NOT_CHOSEN = "not chosen"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ProposeOutcome:
    """A verdict on one accept round, with its reason."""

    verdict: Verdict
    reason: str
    accepted_by: tuple[int, ...] = field(default_factory=tuple)


def pick_servers(pool: Iterable[int], count: Optional[int], rng: Optional[random.Random] = None) -> list[int]:
    """The acceptors a proposer contacts: all of them, or a random subset."""
    ids = sorted(pool)
    if count is None or count >= len(ids):
        return ids
    return sorted((rng or random).sample(ids, count))


def backoff(attempt: int, rng: Optional[random.Random] = None, base: float = 0.01) -> float:
    """A random, growing pause so that dueling proposers stop livelocking."""
    return (rng or random).uniform(0, base * (2 ** min(attempt, 6)))
