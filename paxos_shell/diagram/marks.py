"""Each round's mark in the sequence diagram: what the round achieved, as its result said.

A prepare's mark is its PrepareResult's quorum of promises; an accept's is the
knowledge model's outcome for its id and value, which counts what earlier rounds
accepted too (an accept to acceptor 2 chooses what acceptor 1 accepted the round
before). The shell keeps the marks by round number as results come in; the
diagram draws them and never counts replies itself. No I/O.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterator, Optional

from paxos_shell.core.paxos import Verdict, quorum
from paxos_shell.core.vocab import Word
from paxos_shell.core.wire import Round
from paxos_shell.engine.results import AcceptResult, PrepareResult, ProposeResult
from paxos_shell.engine.session import HistoryEntry


class MarkKind(Word):
    """What a round achieved, as the diagram draws it (the stylesheet's class)."""

    QUORUM = "quorum"
    NO_QUORUM = "noquorum"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RoundMark:
    """A round's mark in the diagram: its result's verdict, not a count of its replies (an accept
    to acceptor 2 chooses a value that acceptor 1 accepted in the round before)."""

    kind: MarkKind
    label: str


def round_marks(result: object, pool_size: int) -> Iterator[tuple[Round, RoundMark]]:
    """The mark of each round behind a result: a prepare's promises against the quorum, an
    accept's outcome as the knowledge model judged it; none for a state read."""
    if isinstance(result, ProposeResult):
        for a in result.attempts:
            yield from round_marks(a.prepare, pool_size)
            yield from round_marks(a.accept, pool_size)
    elif isinstance(result, PrepareResult):
        got = len(result.promised)
        yield result.round, (
            RoundMark(MarkKind.QUORUM, f"quorum: {got} of {pool_size} promised") if result.quorum_reached
            else RoundMark(MarkKind.NO_QUORUM, f"no quorum: {got} promised, {result.quorum} needed"))
    elif isinstance(result, AcceptResult):
        o = result.outcome
        yield result.round, _accept_mark(o.verdict, len(o.accepted_by), pool_size)


def _accept_mark(verdict: Verdict, got: int, pool_size: int) -> RoundMark:
    if verdict == Verdict.CHOSEN:
        return RoundMark(MarkKind.QUORUM, f"quorum: {got} of {pool_size} accepted")
    if verdict == Verdict.UNKNOWN:
        return RoundMark(MarkKind.UNKNOWN, f"quorum unknown: {got} accepted, silent acceptors may have too")
    return RoundMark(MarkKind.NO_QUORUM, f"no quorum: {got} accepted, {quorum(pool_size)} needed")


MARKS_KEPT = 10_000
"""Marks of rounds older than the history's oldest entry are dropped past this many."""


def note_marks(marks: dict[int, RoundMark], result: object, history: deque[HistoryEntry], pool_size: int) -> None:
    """Keep, by round number, the mark of every round behind `result` (the history says which
    number each round got: its entries hold the very replies the result holds)."""
    for rnd, mark in round_marks(result, pool_size):
        n = _round_no(history, rnd)
        if n is not None:
            marks[n] = mark
    if len(marks) > MARKS_KEPT and history:
        oldest = history[0].round_no
        for old in [k for k in marks if k < oldest]:
            del marks[old]


def _round_no(history: deque[HistoryEntry], rnd: Round) -> Optional[int]:
    if not rnd.replies:
        return None
    first = rnd.replies[0]
    return next((e.round_no for e in reversed(history) if e.reply is first), None)
