"""Sequence diagrams of the rounds in the history: in the terminal, and as Mermaid.

Pure functions of history entries and markers, so they are tested on a known
history. A round draws one arrow per request (proposer to acceptor) and one per
reply (acceptor to proposer, in order of arrival), or a cross where none came.
What the shell did to acceptors between rounds (a crash, a restart, a reset, a
fault) is drawn on their lifelines. Proposers are labelled `P:name` and
acceptors `A1`, `A2`..., so a proposer named A is never mistaken for an acceptor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import groupby
from typing import Iterable, Optional, Sequence, Union

from paxos_shell.core.text import show_value
from paxos_shell.core.urls import scrub_data
from paxos_shell.core.wire import Phase, Reply, ReplyKind
from paxos_shell.engine.session import HistoryEntry, Marker

MIN_GAP = 10
MARK_SYMBOLS = {"down": "X", "up": "o", "restart": "o", "reset": "*", "faults": "!", "healed": "o"}


@dataclass(frozen=True)
class Message:
    src: str
    dst: str
    label: str
    lost: bool = False
    reply: bool = False
    style: str = ""
    """The SVG's class for it (`rep promise`, `req accept`...); empty: plain request or reply."""


Item = Union[list[HistoryEntry], Marker]
"""One step of the timeline: the entries of one round, or one marker between rounds."""


def proposer_label(name: str) -> str:
    return f"P:{name}"


def acceptor_label(i: int) -> str:
    return f"A{i}"


def reply_summary(r: Reply) -> str:
    """What an acceptor said, in Paxos words: promise, accepted, ignored, no response."""
    if r.kind in (ReplyKind.NO_RESPONSE, ReplyKind.ERROR):
        return f"x {r.cause}"
    pair = f" (accepted {r.accepted_id}: {show_value(r.accepted_value)})" if r.accepted_id >= 0 else ""
    if r.phase == Phase.PREPARE:
        if r.kind == ReplyKind.GRANTED:
            return f"promise {r.promised_id}{pair}"
        return f"ignored (promised {r.promised_id}){pair}" if r.promised_id >= 0 else f"ignored{pair}"
    if r.phase == Phase.ACCEPT:
        return "accepted" if r.kind == ReplyKind.GRANTED else "ignored"
    return f"state {r.promised_id}/{r.accepted_id}" + (f": {show_value(r.accepted_value)}" if pair else "")


def request_label(r: Reply) -> str:
    p = r.params or {}
    if r.phase == Phase.PREPARE:
        return f"prepare {p.get('id')}"
    if r.phase == Phase.ACCEPT:
        return f"accept {p.get('id')} {show_value(str(p.get('value')))}"
    return "state?"


def masked(entries: Iterable[HistoryEntry], secrets: Sequence[str]) -> list[HistoryEntry]:
    """The entries as they may be drawn: every secret the shell sends (urls.secret_forms) masked
    in what came back and in the values sent. Done before any label is shortened: masking the
    drawing afterwards misses a secret cut in two ('Basic YWxpY…')."""
    if not secrets:
        return list(entries)
    return [replace(e, reply=replace(e.reply, body=scrub_data(e.reply.body, secrets),
                                     cause=scrub_data(e.reply.cause, secrets),
                                     params=scrub_data(e.reply.params, secrets))) for e in entries]


def rounds(entries: Iterable[HistoryEntry], last: Optional[int] = None) -> list[list[HistoryEntry]]:
    grouped = [list(g) for _, g in groupby(entries, key=lambda e: e.round_no)]
    return grouped[-last:] if last else grouped


def timeline(entries: Iterable[HistoryEntry], markers: Iterable[Marker] = (),
             last: Optional[int] = None) -> list[Item]:
    """The last rounds in order, with the markers that fall between and after them."""
    selected = rounds(entries, last)
    first = selected[0][0].round_no if selected else 0
    pending = sorted((m for m in markers if m.after_round >= first - 1), key=lambda m: m.after_round)
    items: list[Item] = []
    for rnd in selected:
        while pending and pending[0].after_round < rnd[0].round_no:
            items.append(pending.pop(0))
        items.append(rnd)
    return items + pending


def messages(round_entries: list[HistoryEntry]) -> list[Message]:
    """Requests in the order sent, then replies in the order they arrived."""
    out = []
    for e in round_entries:
        out.append(Message(proposer_label(e.proposer), acceptor_label(e.reply.acceptor), request_label(e.reply)))
    for e in sorted(round_entries, key=lambda e: e.reply.latency):
        r = e.reply
        out.append(Message(acceptor_label(r.acceptor), proposer_label(e.proposer), reply_summary(r),
                           lost=r.kind in (ReplyKind.NO_RESPONSE, ReplyKind.ERROR), reply=True))
    return out


def participants(items: Iterable[Item], acceptors: Iterable[int]) -> list[str]:
    names = [e.proposer for it in items if not isinstance(it, Marker) for e in it]
    proposers = list(dict.fromkeys(names)) or ["main"]
    return [proposer_label(p) for p in proposers] + [acceptor_label(i) for i in sorted(acceptors)]


def marker_text(m: Marker) -> str:
    who = " ".join(acceptor_label(i) for i in m.acceptors)
    return f"{m.what} {who}" if not m.what.startswith("faults") else f"{who} {m.what}"


# -- the terminal diagram -------------------------------------------------------------


def _columns(names: list[str], width: int) -> dict[str, int]:
    gap = max(MIN_GAP, (width - 2) // max(1, len(names)))
    if gap * len(names) + 2 > width:  # too many participants for the terminal: squeeze to fit
        gap = max(4, (width - 2) // len(names))
    return {n: 1 + i * gap + gap // 2 for i, n in enumerate(names)}


def diagram(entries: Iterable[HistoryEntry], acceptors: Iterable[int], width: int,
            last: Optional[int] = None, markers: Iterable[Marker] = ()) -> list[str]:
    """The last rounds as text no wider than `width`: a lifeline per participant."""
    items = timeline(entries, markers, last)
    names = participants(items, acceptors)
    cols = _columns(names, width)
    lifeline = _lifeline(cols, width)
    lines = [_centre_labels(names, cols, width), "".join(lifeline).rstrip()]
    for it in items:
        if isinstance(it, Marker):
            lines.extend(_marker_lines(it, lifeline, cols, width))
            continue
        first = it[0]
        title = f"-- round {first.round_no}: {proposer_label(first.proposer)} {first.reply.phase} "
        lines.append((title + "-" * width)[:width])
        for m in messages(it):
            lines.append(_arrow(lifeline, cols[m.src], cols[m.dst], m, width))
    return lines


Step = Union[Message, str]
"""One row of a lane diagram: an arrow, or a titled row across it (where a marked window starts or ends)."""


def lane_diagram(names: list[str], steps: Iterable[Step], width: int) -> list[str]:
    """Messages on lanes in the order they happened, as text no wider than `width`: the audit's
    connections and the acceptor as lifelines, requests and replies interleaved by time."""
    cols = _columns(names, width)
    lifeline = _lifeline(cols, width)
    lines = [_centre_labels(names, cols, width), "".join(lifeline).rstrip()]
    for s in steps:
        if isinstance(s, str):
            lines.append((f"~~ {s} " + "~" * width)[:width])
        else:
            lines.append(_arrow(lifeline, cols[s.src], cols[s.dst], s, width))
    return lines


def _lifeline(cols: dict[str, int], width: int) -> list[str]:
    row = [" "] * width
    for c in cols.values():
        if c < width:
            row[c] = "|"
    return row


def _marker_lines(m: Marker, lifeline: list[str], cols: dict[str, int], width: int) -> list[str]:
    """A titled row, then the lifelines with the affected acceptors marked (X down, o up, * reset)."""
    title = f"~~ {marker_text(m)} "
    row = list(lifeline)
    symbol = MARK_SYMBOLS.get(m.what.split(":")[0].split()[0], "!")
    for i in m.acceptors:
        c = cols.get(acceptor_label(i))
        if c is not None and c < width:
            row[c] = symbol
    return [(title + "~" * width)[:width], "".join(row).rstrip()]


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


# -- Mermaid ----------------------------------------------------------------------------


def mermaid(entries: Iterable[HistoryEntry], acceptors: Iterable[int], last: Optional[int] = None,
            markers: Iterable[Marker] = ()) -> str:
    """The same rounds as a Mermaid sequenceDiagram, for slides and notes."""
    items = timeline(entries, markers, last)
    names = participants(items, acceptors)
    out = ["sequenceDiagram"]
    for n in names:
        kind = f"acceptor {n[1:]}" if n.startswith("A") else f"proposer {n[2:]}"
        out.append(f"    participant {_ident(n)} as {_text(kind)}")
    for it in items:
        if isinstance(it, Marker):
            ends = dict.fromkeys((it.acceptors[0], it.acceptors[-1]))
            span = ",".join(_ident(acceptor_label(i)) for i in ends)
            out.append(f"    Note over {span}: {_text(marker_text(it))}")
            continue
        first = it[0]
        out.append(f"    Note over {_ident(names[0])}: round {first.round_no} {first.reply.phase}")
        for m in messages(it):
            arrow = ("--x" if m.lost else "-->>") if m.reply else "->>"
            out.append(f"    {_ident(m.src)}{arrow}{_ident(m.dst)}: {_text(m.label)}")
    return "\n".join(out) + "\n"


def _ident(name: str) -> str:
    """Mermaid participant ids: A1 for acceptors, P_name for proposers."""
    if name.startswith("P:"):
        return "P_" + "".join(c if c.isalnum() else "_" for c in name[2:])
    return name


def _text(label: str) -> str:
    """Mermaid ends a message at ';' and reads '#' as an entity: encode both."""
    return label.translate(_MERMAID_ESCAPES)


_MERMAID_ESCAPES = {ord("#"): "#35;", ord(";"): "#59;", ord("\n"): " "}
