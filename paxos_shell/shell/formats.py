"""How Paxos things read on screen and in JSON: replies, latencies, id lists.

Shared by the commands, `trace` and the explanations so one reply is worded
one way everywhere. Values go through text.show_value, never raw.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from paxos_shell.core.text import json_dumps
from paxos_shell.core.wire import Reply, ReplyKind
from paxos_shell.diagram.trace import reply_summary
from paxos_shell.shell.results import Column, Style

KIND_STYLE = {
    ReplyKind.GRANTED: Style.GOOD,
    ReplyKind.OK: Style.GOOD,
    ReplyKind.IGNORED: Style.WARN,
    ReplyKind.ERROR: Style.BAD,
    ReplyKind.NO_RESPONSE: Style.BAD,
}


def to_ms(seconds: Optional[float]) -> Optional[float]:
    """Seconds as milliseconds for JSON, to the microsecond."""
    return None if seconds is None else round(seconds * 1000, 3)


def ms(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def latency_cell(milliseconds: Optional[float]) -> str:
    """A record's latencyMs as a table shows it."""
    return ms(None if milliseconds is None else milliseconds / 1000)



def reply_record(r: Reply) -> dict[str, Any]:
    """One reply as JSON (and as the record a reply table row is drawn from)."""
    d: dict[str, Any] = {"server": r.acceptor, "status": str(r.kind), "meaning": reply_summary(r),
                         "latencyMs": to_ms(r.latency)}
    if r.body is not None:
        d["reply"] = r.body
    if r.cause:
        d["error"] = r.cause
    return d


def _raw_body(body: Any) -> str:
    return "" if body is None else json_dumps(body)


def _kind_style(record: dict[str, Any]) -> Style:
    return KIND_STYLE.get(ReplyKind(record["status"]), Style.PLAIN)


REPLY_COLUMNS = (
    Column("server", "server"),
    Column("status", "status", style=_kind_style),
    Column("meaning", "meaning", shrink=True),
    Column("latencyMs", "latency", fmt=latency_cell, keep=2, detail=True),
    Column("reply", "reply", fmt=_raw_body, keep=3, detail=True, raw=True, wrap=True),
)
"""The raw reply is dropped first when the screen is narrow, then the latency."""


def reply_rows(replies: Iterable[Reply]) -> tuple[dict[str, Any], ...]:
    return tuple(reply_record(r) for r in replies)
