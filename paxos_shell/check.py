"""Judge a pool from what the session saw: the invariants of Paxos, with proof.

Pure: it reads history entries (every request and reply the shell recorded)
and names each violation with the replies that prove it. Promises only ever
rise on a correct acceptor, so every bound learned from one reply holds for
all later ones, whoever else talks to the pool meanwhile.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from . import paxos
from .paxos import NONE
from .session import HistoryEntry
from .wire import GRANTED, IGNORED, OK


@dataclass
class Violation:
    rule: str
    message: str
    evidence: list[str] = field(default_factory=list)


def describe(e: HistoryEntry) -> str:
    r = e.reply
    params = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in (r.params or {}).items())
    when = time.strftime("%H:%M:%S", time.localtime(e.at))
    return f"round {e.round_no} {when} acceptor {r.acceptor}: {r.phase} {params} -> {r.kind} {r.body}"


def check(
    entries: Iterable[HistoryEntry], pool_size: int, epochs: Optional[Mapping[int, int]] = None,
) -> list[Violation]:
    epochs = epochs or {}
    found: list[Violation] = []

    RULES = "reply breaks the rules"

    def flag(rule: str, message: str, *proof: HistoryEntry) -> None:
        found.append(Violation(rule, message, [describe(p) for p in proof]))

    bound: dict[int, tuple[int, HistoryEntry]] = {}      # acceptor -> (promise lower bound, proof)
    accepted_top: dict[int, tuple[int, HistoryEntry]] = {}
    facts: dict[tuple[int, int, Optional[str]], HistoryEntry] = {}

    for e in entries:
        r = e.reply
        a = r.acceptor
        if e.round_no <= epochs.get(a, 0):
            continue  # before a wipe by `reset`: another acceptor as far as Paxos goes
        n: int = (r.params or {}).get("id", NONE)
        prev = bound.get(a)
        promised = r.promised_id if "promisedId" in (r.body or {}) else None
        aid = r.accepted_id if "acceptedId" in (r.body or {}) else None

        if aid is not None and promised is not None and aid > promised:
            flag("acceptedId above promisedId", f"acceptor {a} reported acceptedId {aid} above promisedId {promised}",
                 e)
        if r.phase == "prepare" and r.kind == GRANTED:
            if prev is not None and prev[0] >= n:
                flag(RULES, f"acceptor {a} promised {n} although it had promised {prev[0]} "
                     "(prepare needs an id above every earlier promise)", prev[1], e)
            if promised is not None and promised != n:
                flag(RULES, f"acceptor {a} granted prepare {n} but reported promisedId {promised}", e)
        elif r.phase == "prepare" and r.kind == IGNORED and promised is not None and promised < n:
            flag(RULES, f"acceptor {a} refused prepare {n} while reporting a lower promise {promised}", e)
        elif r.phase == "accept" and r.kind == GRANTED:
            if prev is not None and prev[0] > n:
                flag(RULES, f"acceptor {a} accepted id {n} although it had promised {prev[0]}",
                     prev[1], e)
            sent = (r.params or {}).get("value")
            if aid != n or r.accepted_value != sent:
                flag(RULES, f"acceptor {a} answered accept {n} {sent!r} with acceptedId {aid} "
                     f"value {r.accepted_value!r}", e)

        reported = promised if promised is not None and r.kind in (OK, IGNORED, GRANTED) else None
        if reported is not None and prev is not None and reported < prev[0] and r.kind != GRANTED:
            flag("ids decreased", f"acceptor {a} reported promisedId {reported} after promisedId {prev[0]}: "
                 "it forgot a promise (a restart without durable state?)", prev[1], e)
        # What this reply says the acceptor has accepted (a promise without a pair: nothing).
        this: Optional[int] = None
        if r.kind == OK or (r.phase == "accept" and r.kind == GRANTED):
            this = aid if aid is not None else NONE
        elif r.phase == "prepare" and r.kind in (GRANTED, IGNORED):
            this = aid if aid is not None else NONE
        if this is not None:
            top = accepted_top.get(a)
            if top is not None and this < top[0]:
                flag("ids decreased", f"acceptor {a} reported acceptedId {this} after acceptedId {top[0]}: "
                     "it forgot what it accepted", top[1], e)
            if top is None or this > top[0]:
                accepted_top[a] = (this, e)

        # Raise the bound on the acceptor's promise from what this reply proves.
        proves = None
        if r.phase == "prepare" and r.kind == GRANTED:
            proves = n
        elif r.phase == "accept" and r.kind == GRANTED:
            proves = n
        elif reported is not None:
            proves = reported
        if proves is not None and (prev is None or proves > prev[0]):
            bound[a] = (proves, e)
        if aid is not None and aid != NONE and r.kind in (OK, GRANTED, IGNORED):
            facts.setdefault((a, aid, r.accepted_value), e)

    by_id: dict[int, dict[Optional[str], list[HistoryEntry]]] = defaultdict(lambda: defaultdict(list))
    for (_, aid, value), e in facts.items():
        by_id[aid][value].append(e)
    for aid, values in sorted(by_id.items()):
        if len(values) > 1:
            flag("one value per proposal id",
                 f"proposal id {aid} carries {len(values)} values: " + ", ".join(repr(v) for v in values),
                 *(es[0] for es in values.values()))

    chosen = paxos.chosen_values(facts, pool_size)
    if len({c.value for c in chosen}) > 1:
        flag("at most one value chosen", "different values were chosen: " + "; ".join(
            f"{c.value!r} at id {c.proposal_id} by acceptors {list(c.acceptors)}" for c in chosen),
            *(facts[(a, c.proposal_id, c.value)] for c in chosen for a in c.acceptors))
    return found
