"""Rendering: tables, colour and the three output formats.

Commands write through an Output; in `json` format their lines are held
back and each command prints exactly one JSON object, so a script can pipe
every command's output to jq.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional, Sequence, TextIO

from ..wire import ERROR, GRANTED, IGNORED, NO_RESPONSE, OK, Reply

FORMATS = ("table", "plain", "json")

COLOURS = {
    GRANTED: "\x1b[32m",
    OK: "\x1b[32m",
    IGNORED: "\x1b[33m",
    NO_RESPONSE: "\x1b[31m",
    ERROR: "\x1b[31m",
    "good": "\x1b[1;32m",
    "bad": "\x1b[1;31m",
    "warn": "\x1b[1;33m",
    "dim": "\x1b[2m",
}
RESET = "\x1b[0m"


def colour_wanted(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


class Output:
    def __init__(self, stream: Optional[TextIO] = None, fmt: str = "table", colour: Optional[bool] = None) -> None:
        self.stream = stream or sys.stdout
        self.fmt = fmt
        self.colour = colour_wanted(self.stream) if colour is None else colour

    @property
    def json(self) -> bool:
        return self.fmt == "json"

    def paint(self, text: str, kind: str) -> str:
        if not self.colour or kind not in COLOURS:
            return text
        return f"{COLOURS[kind]}{text}{RESET}"

    def line(self, text: str = "", kind: str = "") -> None:
        """Human text; held back in json format."""
        if not self.json:
            self.stream.write(self.paint(text, kind) + "\n")
            self.stream.flush()

    def error(self, text: str) -> None:
        """Errors always show, in every format, on one line."""
        if self.json:
            self.emit({"error": text})
        else:
            self.stream.write(self.paint(f"error: {text}", "bad") + "\n")
            self.stream.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.json or not rows:
            return
        from tabulate import tabulate  # imported on first table: keeps start-up fast

        style = "plain" if self.fmt == "plain" else "simple"
        text = tabulate(rows, headers=list(headers), tablefmt=style, disable_numparse=True,
                        missingval="-")
        self.line(text)

    def emit(self, data: Any) -> None:
        """The one JSON object of a command, in json format only."""
        if self.json:
            self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
            self.stream.flush()


def ms(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def show_value(v: Optional[str]) -> str:
    """Values as the seed printed them, but visible when empty or padded."""
    if v is None:
        return "-"
    if v == "" or v != v.strip() or any(c in v for c in "\t\n\r"):
        return repr(v)
    return v


def reply_summary(r: Reply) -> str:
    """What an acceptor said, in Paxos words: promise, accepted, ignored, no response."""
    if r.kind in (NO_RESPONSE, ERROR):
        return f"x {r.cause}"
    pair = f" (accepted {r.accepted_id}: {show_value(r.accepted_value)})" if r.accepted_id >= 0 else ""
    if r.phase == "prepare":
        if r.kind == GRANTED:
            return f"promise {r.promised_id}{pair}"
        return f"ignored (promised {r.promised_id}){pair}" if r.promised_id >= 0 else f"ignored{pair}"
    if r.phase == "accept":
        return "accepted" if r.kind == GRANTED else "ignored"
    return f"state {r.promised_id}/{r.accepted_id}" + (f": {show_value(r.accepted_value)}" if pair else "")


def reply_json(r: Reply) -> dict[str, Any]:
    d: dict[str, Any] = {"server": r.acceptor, "status": r.kind, "latencyMs": round(r.latency * 1000, 3)}
    if r.body is not None:
        d["reply"] = r.body
    if r.cause:
        d["error"] = r.cause
    return d


def reply_rows(out: Output, replies: Sequence[Reply]) -> list[list[str]]:
    rows = []
    for r in replies:
        raw = json.dumps(r.body, ensure_ascii=False) if r.body is not None else r.cause or ""
        rows.append([str(r.acceptor), out.paint(r.kind, r.kind), reply_summary(r), ms(r.latency), raw])
    return rows


REPLY_HEADERS = ("server", "status", "meaning", "latency", "reply")
