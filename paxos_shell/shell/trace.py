"""Sequence diagrams of the rounds in the history: in the terminal, and as Mermaid.

Pure functions of history entries, so they are tested on a known history. A
round draws one arrow per request (proposer to acceptor) and one per reply
(acceptor to proposer, in order of arrival), or a cross where none came.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Iterable, Optional

from ..session import HistoryEntry
from ..text import show_value
from ..wire import NO_RESPONSE, Reply
from .formats import reply_summary

MIN_GAP = 10


@dataclass(frozen=True)
class Message:
    src: str
    dst: str
    label: str
    lost: bool = False
    reply: bool = False


def request_label(r: Reply) -> str:
    p = r.params or {}
    if r.phase == "prepare":
        return f"prepare {p.get('id')}"
    if r.phase == "accept":
        return f"accept {p.get('id')} {show_value(str(p.get('value')))}"
    return "state?"


def rounds(entries: Iterable[HistoryEntry], last: Optional[int] = None) -> list[list[HistoryEntry]]:
    grouped = [list(g) for _, g in groupby(entries, key=lambda e: e.round_no)]
    return grouped[-last:] if last else grouped


def messages(round_entries: list[HistoryEntry]) -> list[Message]:
    """Requests in the order sent, then replies in the order they arrived."""
    out = []
    for e in round_entries:
        out.append(Message(e.proposer, f"A{e.reply.acceptor}", request_label(e.reply)))
    for e in sorted(round_entries, key=lambda e: e.reply.latency):
        r = e.reply
        out.append(Message(f"A{r.acceptor}", e.proposer, reply_summary(r), lost=r.kind == NO_RESPONSE, reply=True))
    return out


def participants(selected: list[list[HistoryEntry]], acceptors: Iterable[int]) -> list[str]:
    proposers = list(dict.fromkeys(e.proposer for rnd in selected for e in rnd)) or ["main"]
    return proposers + [f"A{i}" for i in sorted(acceptors)]


def diagram(entries: Iterable[HistoryEntry], acceptors: Iterable[int], width: int,
            last: Optional[int] = None) -> list[str]:
    """The last rounds as text no wider than `width`: a lifeline per participant."""
    selected = rounds(entries, last)
    names = participants(selected, acceptors)
    gap = max(MIN_GAP, (width - 2) // max(1, len(names)))
    cols = {n: 1 + i * gap + gap // 2 for i, n in enumerate(names)}
    span = max(cols.values()) + 2
    if span > width:  # too many participants for the terminal: squeeze to fit
        gap = max(4, (width - 2) // len(names))
        cols = {n: 1 + i * gap + gap // 2 for i, n in enumerate(names)}
    lifeline = [" "] * width
    for c in cols.values():
        if c < width:
            lifeline[c] = "|"
    lines = [_centre_labels(names, cols, width), "".join(lifeline).rstrip()]
    for rnd in selected:
        first = rnd[0]
        title = f"-- round {first.round_no}: {first.proposer} {first.reply.phase} "
        lines.append((title + "-" * width)[:width])
        for m in messages(rnd):
            lines.append(_arrow(lifeline, cols[m.src], cols[m.dst], m, width))
    return lines


def _centre_labels(names: list[str], cols: dict[str, int], width: int) -> str:
    row = [" "] * width
    for n in names:
        start = max(0, cols[n] - len(n) // 2)
        for i, ch in enumerate(n):
            if start + i < width:
                row[start + i] = ch
    return "".join(row).rstrip()


def _arrow(lifeline: list[str], a: int, b: int, m: Message, width: int) -> str:
    row = list(lifeline)
    lo, hi = min(a, b), max(a, b)
    if hi >= width:
        hi = width - 1
    length = hi - lo - 1
    if length < 3:
        return "".join(row).rstrip()
    body = ["-"] * length
    if a < b:
        body[-1] = "x" if m.lost else ">"
    else:
        body[0] = "x" if m.lost else "<"
    label = m.label if len(m.label) <= length - 4 else m.label[: max(0, length - 5)] + "~"
    start = (length - len(label)) // 2
    for i, ch in enumerate(label):
        body[start + i] = ch
    row[lo + 1:hi] = body
    return "".join(row).rstrip()


def mermaid(entries: Iterable[HistoryEntry], acceptors: Iterable[int], last: Optional[int] = None) -> str:
    """The same rounds as a Mermaid sequenceDiagram, for slides and notes."""
    selected = rounds(entries, last)
    names = participants(selected, acceptors)
    out = ["sequenceDiagram"]
    for n in names:
        kind = "acceptor " + n[1:] if n.startswith("A") and n[1:].isdigit() else "proposer " + n
        out.append(f"    participant {_ident(n)} as {kind}")
    for rnd in selected:
        first = rnd[0]
        out.append(f"    Note over {_ident(names[0])}: round {first.round_no} {first.reply.phase}")
        for m in messages(rnd):
            arrow = ("--x" if m.lost else "-->>") if m.reply else "->>"
            out.append(f"    {_ident(m.src)}{arrow}{_ident(m.dst)}: {_text(m.label)}")
    return "\n".join(out) + "\n"


def _ident(name: str) -> str:
    return "P_" + "".join(c if c.isalnum() else "_" for c in name) if not (
        name.startswith("A") and name[1:].isdigit()) else name


def _text(label: str) -> str:
    """Mermaid ends a message at ';' and reads '#' as an entity: encode both."""
    return label.translate(_MERMAID_ESCAPES)


_MERMAID_ESCAPES = {ord("#"): "#35;", ord(";"): "#59;", ord("\n"): " "}
