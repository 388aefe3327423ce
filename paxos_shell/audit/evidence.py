"""A failure's evidence as a sequence diagram: the connections as lanes, by time.

Turns exchanges into the diagram package's messages (a request at its start, its
reply at its end, a cross where none came) and hands them to the one trace
renderer: diagram/trace.py for the terminal, diagram/svg.py for `--svg DIR`.
The overlapping window of a linearizability failure is marked by a titled row
where it opens and where it closes. Draws nothing itself and judges nothing.
"""

from __future__ import annotations

from typing import Sequence
from urllib.parse import parse_qs

from paxos_shell.audit.exchange import Exchange
from paxos_shell.core.text import show_value, visible
from paxos_shell.core.wire import ACCEPT, PREPARE, STATE, Phase, ReplyKind
from paxos_shell.diagram import svg, trace
from paxos_shell.diagram.style import stylesheet
from paxos_shell.diagram.trace import Message, Step, reply_summary

ACCEPTOR = "acceptor"
WINDOW_OPENS = "window opens: no order of these overlapping exchanges obeys the rules"
WINDOW_CLOSES = "window closes"
STYLES = {ReplyKind.GRANTED: "promise", ReplyKind.IGNORED: "ignored", ReplyKind.OK: "state"}
"""The stylesheet's class of a protocol reply (a granted accept is `accepted`)."""


def lane_name(x: Exchange) -> str:
    return f"c{x.lane}"


def request_label(x: Exchange) -> str:
    """What was asked, as people say it: `prepare 7`, `accept 7 v`, `state?`, else method and path."""
    path, _, _ = x.path.partition("?")
    if path == PREPARE and x.method == "POST":
        return f"prepare {_param(x, 'id')}"
    if path == ACCEPT and x.method == "POST":
        return f"accept {_param(x, 'id')} {show_value(_param(x, 'value'), 24)}"
    if path == STATE and x.method == "GET":
        return "state?"
    return visible(f"{x.method} {x.path}")[:60]


def _param(x: Exchange, name: str) -> str:
    query = x.path.partition("?")[2]
    return parse_qs(query, keep_blank_values=True).get(name, ["?"])[0]


def reply_message(x: Exchange) -> Message:
    """The reply's arrow: the protocol's reading of it, or the status and body, or a cross."""
    name = lane_name(x)
    r = x.reply
    if x.status is None:
        return Message(ACCEPTOR, name, f"x no reply ({x.cause})", lost=True, reply=True, style="rep timeout")
    if r is not None and r.kind not in (ReplyKind.ERROR, ReplyKind.NO_RESPONSE):
        style = STYLES.get(r.kind, "state") if r.kind != ReplyKind.GRANTED or r.phase != Phase.ACCEPT else "accepted"
        return Message(ACCEPTOR, name, reply_summary(r), reply=True, style=f"rep {style}")
    body = visible((x.body or "").strip())[:40]
    return Message(ACCEPTOR, name, f"{x.status} {body}", reply=True, style="rep error")


def steps(evidence: Sequence[Exchange], window: Sequence[Exchange] = ()) -> tuple[list[str], list[Step]]:
    """The lanes (connections, then the acceptor) and the rows: requests and replies by time."""
    events: list[tuple[float, int, Step]] = []
    for x in evidence:
        events.append((x.start, 1, Message(lane_name(x), ACCEPTOR, request_label(x), style="req")))
        if x.end is not None or x.status is None:
            events.append((x.end if x.end is not None else x.start + 1e-9, 2, reply_message(x)))
    if window:
        events.append((min(x.start for x in window), 0, WINDOW_OPENS))
        ends = [x.end for x in window if x.end is not None]
        events.append((max(ends) if ends else max(x.start for x in window), 3, WINDOW_CLOSES))
    events.sort(key=lambda e: (e[0], e[1]))
    lanes = sorted({x.lane for x in evidence})
    return [f"c{n}" for n in lanes] + [ACCEPTOR], [e[2] for e in events]


def as_text(evidence: Sequence[Exchange], window: Sequence[Exchange], width: int) -> list[str]:
    names, rows = steps(evidence, window)
    return trace.lane_diagram(names, rows, width)


def as_svg(rule: str, evidence: Sequence[Exchange], window: Sequence[Exchange]) -> str:
    names, rows = steps(evidence, window)
    return svg.lane_diagram(names, rows, f"evidence of {rule}", css=stylesheet())
