"""The sequence diagram of the last rounds as SVG: the live view's picture and `trace --svg`.

Its job: draw history entries as a sequence diagram, one lifeline per proposer
(by name) and per acceptor, one arrow per request and per reply in the order
they arrived, replies styled by what they said (promise, accepted, ignored,
error) and missing ones by why (timeout, drop, refused), and at each round's
end the mark of what it achieved, as its result said (shell/marks.py). The page
and `trace --svg` call the same function; only the standalone form carries its
stylesheet. Every label is made visible (text.visible) and XML-escaped here.
Pure: no I/O, and no Paxos decision: it never counts replies against a quorum.
"""

from __future__ import annotations

import zlib
from html import escape
from typing import Iterable, Mapping, NamedTuple, Optional

from paxos_shell.core.text import shorten, visible
from paxos_shell.core.wire import ERROR, GRANTED, IGNORED, NO_RESPONSE, OK, TIMEOUT, Phase, Reply
from paxos_shell.diagram.marks import RoundMark
from paxos_shell.diagram.trace import Step, reply_summary, request_label, rounds
from paxos_shell.engine.session import HistoryEntry

COL = 170
"""Distance between two lifelines."""
PAD = 20
HEAD = 62
"""Height of the participants' names above the first round."""
ROW = 33
MARK = 32
TITLE = 34
CHAR = 9.6
"""Average width of one character of a 17-unit label (for fitting labels between lifelines)."""
LABEL_ROOM = 2 * COL
"""Room a label may take, however short its arrow."""
ARROW = 10
CROSS = 6
NO_ROUNDS = "No rounds yet: run prepare, accept or propose."


HUES = 24
"""Distinct hues a proposer's colour is drawn from (15 degrees apart)."""
SWATCH = 14


def hue(label: str) -> int:
    """A proposer's hue in degrees, the same in every picture and on the page: from its label alone."""
    return zlib.crc32(label.encode("utf-8", "replace")) % HUES * (360 // HUES)


def swatch(label: str, x: int, y: int) -> str:
    """A small square in the proposer's colour: with 30 proposers on one pool, names alone blur."""
    return (f'<rect class="swatch" x="{x}" y="{y}" width="{SWATCH}" height="{SWATCH}" rx="3" '
            f'fill="hsl({hue(label)}, 75%, 45%)"/>')


class Who(NamedTuple):
    """A participant: a proposer by name or an acceptor by id (a tuple: hashed in C, often)."""

    kind: str
    name: str


def participants(selected: list[list[HistoryEntry]], acceptors: Iterable[int]) -> list[Who]:
    proposers = list(dict.fromkeys(e.proposer for rnd in selected for e in rnd)) or ["main"]
    return [Who("proposer", p) for p in proposers] + [Who("acceptor", str(i)) for i in sorted(acceptors)]


def reply_class(r: Reply, dropping: frozenset[int]) -> str:
    """What a reply (or its absence) was, as the one word the stylesheet draws."""
    if r.kind == GRANTED:
        return "promise" if r.phase == Phase.PREPARE else "accepted"
    if r.kind == IGNORED:
        return "ignored"
    if r.kind == OK:
        return "state"
    if r.kind == ERROR:
        return "error"
    if not r.reached:
        return "refused"
    if r.cause == TIMEOUT:
        return "drop" if r.acceptor in dropping else "timeout"
    return "lost"


def reply_label(r: Reply, cls: str) -> str:
    if r.kind == ERROR:
        return f"error: {r.cause}"
    if r.kind != NO_RESPONSE:
        return reply_summary(r)
    cause = r.cause or "no reply"
    return f"no reply: {cause}" + (" (a drop fault is in force)" if cls == "drop" else "")


class _Canvas:
    """SVG elements in order, and the height used so far."""

    def __init__(self, names: list[Who], y: int = HEAD) -> None:
        self.names = names
        self.x = {w: PAD + COL // 2 + k * COL for k, w in enumerate(names)}
        self.width = 2 * PAD + COL * len(names)
        self.y = y
        self.parts: list[str] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: int, y: int, label: str, cls: str) -> str:
        """Centred on x, unless its class says `start` (the stylesheet anchors both)."""
        return f'<text class="{cls}" x="{x}" y="{y}">{escape(label)}</text>'

    def label(self, mid: int, y: int, label: str, room: int) -> str:
        """A message's label centred over it; a short arrow's label may spill over its
        neighbours' lifelines (drawn with a halo) but never out of the picture."""
        text = _fit(label, max(room, min(self.width - 2 * PAD, LABEL_ROOM)))
        half = int(len(text) * CHAR / 2)
        x = min(max(mid, PAD + half), self.width - PAD - half)
        return self.text(x, y, text, "label")


def _fit(label: str, span_units: int) -> str:
    cells = max(4, int(span_units / CHAR))
    text = visible(label)
    return text if text.isascii() and len(text) <= cells else shorten(text, cells)  # ASCII: one cell each


def _arrow(c: _Canvas, x1: int, x2: int, y: int, cls: str, label: str, step: int,
           cross_at: Optional[int] = None) -> None:
    """One message: a line, an arrowhead (or a cross where it was lost), and its label above."""
    d = 1 if x2 > x1 else -1
    if cross_at is None:
        shapes = (f'<path d="M{x1} {y} H{x2 - d * ARROW}"/>'
                  f'<polygon points="{x2},{y} {x2 - d * ARROW},{y - 5} {x2 - d * ARROW},{y + 5}"/>')
    else:
        shapes = f'<path d="M{x1} {y} H{cross_at}"/>{_cross(cross_at, y)}'
    text = c.label((x1 + x2) // 2, y - 7, label, abs(x2 - x1) - 2 * ARROW)
    c.add(f'<g class="msg {cls}" data-step="{step}">{shapes}{text}</g>')


def _cross(x: int, y: int) -> str:
    lo, hi = -CROSS, CROSS
    return f'<path class="cross" d="M{x + lo} {y + lo} L{x + hi} {y + hi} M{x + lo} {y + hi} L{x + hi} {y + lo}"/>'


RoundCache = dict[tuple[object, ...], tuple[str, int]]
"""Drawn pieces and their heights: the participants (by the participants), and each round by (round,
participants, drop faults, mark), since a round never changes once recorded."""


def _round(names: list[Who], rnd: list[HistoryEntry], mark: Optional[RoundMark],
           dropping: frozenset[int]) -> tuple[str, int]:
    """One round drawn from y = 0 (its group is moved into place), and its height."""
    c = _Canvas(names, 0)
    first = rnd[0]
    phase = first.reply.phase
    what = "state" if phase == Phase.STATE else request_label(first.reply)
    c.add(f'<rect class="band" x="0" y="{c.y}" width="{c.width}" height="{TITLE - 6}"/>')
    c.add(swatch(first.proposer, PAD, c.y + TITLE - 26))
    c.add(c.text(PAD + SWATCH + 6, c.y + TITLE - 13, _fit(f"round {first.round_no}: proposer {first.proposer}, {what}",
                                                          c.width - 3 * PAD - SWATCH), "round-title start"))
    c.y += TITLE
    step = 0
    for e in rnd:
        px, ax = c.x[Who("proposer", e.proposer)], c.x[Who("acceptor", str(e.reply.acceptor))]
        cls = f"req {phase}" + (" undelivered" if not e.reply.reached else "")
        _arrow(c, px, ax, c.y + ROW - 8, cls, request_label(e.reply), step,
               cross_at=ax - (CROSS + 4) * (1 if ax > px else -1) if not e.reply.reached else None)
        c.y += ROW
        step += 1
    for e in sorted(rnd, key=lambda e: e.reply.latency):
        step = _reply(c, e, step, dropping)
    if mark is not None:
        _mark(c, rnd, str(mark.kind), mark.label, step)
    return "".join(c.parts), c.y


def _reply(c: _Canvas, e: HistoryEntry, step: int, dropping: frozenset[int]) -> int:
    r = e.reply
    px, ax = c.x[Who("proposer", e.proposer)], c.x[Who("acceptor", str(r.acceptor))]
    cls = reply_class(r, dropping)
    label = reply_label(r, cls)
    y = c.y + ROW - 8
    if cls == "refused":  # the request never arrived: nothing came back, the cross is on the request
        text = c.label((px + ax) // 2, y, label, abs(ax - px))
        c.add(f'<g class="msg rep refused" data-step="{step}">{text}</g>')
    elif r.kind == NO_RESPONSE:
        _arrow(c, ax, px, y, f"rep {cls}", label, step, cross_at=px + (CROSS + 4) * (1 if ax > px else -1))
    else:
        _arrow(c, ax, px, y, f"rep {cls}", label, step)
    c.y += ROW
    return step + 1


def _mark(c: _Canvas, rnd: list[HistoryEntry], cls: str, label: str, step: int) -> int:
    """A line across the round's participants, under its last reply, saying what it achieved."""
    xs = [c.x[Who("proposer", rnd[0].proposer)]] + [c.x[Who("acceptor", str(e.reply.acceptor))] for e in rnd]
    lo, hi = min(xs), max(xs)
    y = c.y + MARK - 8
    c.add(f'<g class="mark {cls}" data-step="{step}"><path d="M{lo - 14} {y} H{hi + 14}"/>'
          f'{c.text(lo + 10, y - 6, label, "label start")}</g>')
    c.y += MARK
    return step + 1


def _participants(c: _Canvas) -> str:
    """The names over the lifelines (the page repeats them in a strip that stays in sight)."""
    heads = [f'<g class="participants" data-height="{HEAD - 8}">']
    for w in c.names:
        if w.kind == "proposer":
            heads.append(swatch(w.name, c.x[w] - SWATCH // 2, 30))
        heads.append(c.text(c.x[w], 22, w.kind, "who kind"))
        heads.append(c.text(c.x[w], 48, _fit(w.name, COL - 12), f"who name {w.kind}"))
    return "".join(heads) + "</g>"


def diagram(entries: Iterable[HistoryEntry], acceptors: Iterable[int], marks: Mapping[int, RoundMark],
            last: Optional[int] = None, *, fresh_after: Optional[int] = None,
            drops: Optional[Mapping[int, frozenset[int]]] = None, css: Optional[str] = None,
            cache: Optional[RoundCache] = None) -> str:
    """The last rounds as one <svg> element.

    `marks` holds what each round achieved, by round number (Context.round_marks);
    a round without one (a state read) ends unmarked. Rounds numbered above
    `fresh_after` are marked `new` (the page animates them); `drops` names, per
    round, the acceptors that had a drop fault in force (a drop looks like a
    timeout on the wire); with `css` the SVG is a standalone document carrying
    that stylesheet, for slides. A `cache` kept
    between calls (the live view's) saves redrawing the rounds drawn last time.
    """
    selected = rounds(entries, last)
    names = participants(selected, acceptors)
    c = _Canvas(names)
    who = tuple(names)
    drawn: RoundCache = {}
    drawn[who] = (cache or {}).get(who) or (_participants(c), 0)
    c.add(drawn[who][0])
    for rnd in selected:
        n = rnd[0].round_no
        dropping = (drops or {}).get(n, frozenset())
        mark = marks.get(n)
        key = (n, who, dropping, mark)
        body, height = drawn[key] = (cache or {}).get(key) or _round(names, rnd, mark, dropping)
        fresh = " new" if fresh_after is not None and n > fresh_after else ""
        c.add(f'<g class="round{fresh}" data-round="{n}" transform="translate(0 {c.y})">{body}</g>')
        c.y += height
    if cache is not None:
        cache.clear()
        cache.update(drawn)  # only the rounds on screen are kept
    if not selected:
        c.add(c.text(c.width // 2, c.y + ROW, NO_ROUNDS, "empty"))
        c.y += 2 * ROW
    return _document(c, f"rounds {selected[0][0].round_no} to {selected[-1][0].round_no}" if selected
                     else "no rounds yet", css)


def _document(c: _Canvas, span: str, css: Optional[str]) -> str:
    """The drawn parts as one <svg> element, lifelines under them; standalone with `css`."""
    height = c.y + PAD
    lifelines = "".join(f'<path class="lifeline" d="M{x} {HEAD - 8} V{height - 6}"/>' for x in c.x.values())
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="paxos-diagram" viewBox="0 0 {c.width} {height}" '
            f'width="{c.width}" height="{height}" role="img" aria-label="Paxos messages, {escape(span)}">')
    style = f'<style>{escape(css, quote=False)}</style><rect class="bg" width="100%" height="100%"/>' if css else ""
    prolog = '<?xml version="1.0" encoding="UTF-8"?>\n' if css is not None else ""
    return f"{prolog}{head}<title>Paxos messages, {escape(span)}</title>{style}{lifelines}{''.join(c.parts)}</svg>\n"


def lane_diagram(names: list[str], steps: Iterable[Step], span: str, css: Optional[str] = None) -> str:
    """Messages on lanes in the order they happened (the audit's evidence): the last name is the
    acceptor, the others connections; a str step is a titled band (a marked window's start or end)."""
    c = _Canvas([Who("connection", n) for n in names[:-1]] + [Who("acceptor", names[-1])])
    x = {w.name: c.x[w] for w in c.names}
    c.add(_participants(c))
    for k, s in enumerate(steps):
        if isinstance(s, str):
            c.add(f'<rect class="band" x="0" y="{c.y}" width="{c.width}" height="{TITLE - 6}"/>')
            c.add(c.text(PAD, c.y + TITLE - 13, _fit(s, c.width - 2 * PAD), "round-title start"))
            c.y += TITLE
            continue
        toward = 1 if x[s.dst] > x[s.src] else -1
        cross = x[s.dst] - (CROSS + 4) * toward if s.lost else None
        _arrow(c, x[s.src], x[s.dst], c.y + ROW - 8, s.style or ("rep" if s.reply else "req"), s.label, k, cross)
        c.y += ROW
    return _document(c, span, css)
