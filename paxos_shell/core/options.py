"""Values a user sets on the command line, in the config file or with `set`.

Each is checked here once, so `--timeout 0`, `timeout = 0` in the config file
and `set timeout 0` are refused with the same sentence; every integer a user
types (ids, counts, ports) goes through `parse_int`. A bad value raises
BadValue (a UserError): the shell prints it and goes on; the command line turns
it into a usage error (exit 2). Pure.
"""

from __future__ import annotations

from typing import Optional

from paxos_shell.core import paxos
from paxos_shell.core.errors import UserError
from paxos_shell.core.text import visible

TIMEOUT_RANGE = (0.05, 60.0)
PROPOSER_NUMBERS = range(paxos.ID_STRIDE)
"""A proposer number p owns the ids with id % ID_STRIDE == p."""
FORMATS = ("table", "plain", "json")
SHOWN_CHARS = 40
"""How much of a bad value an error repeats: enough to recognise, one line at most."""


class BadValue(UserError):
    """A setting's value is out of range or of the wrong kind."""


def _shown(text: str) -> str:
    """A bad value as its error repeats it: escaped, and cut to one line."""
    return visible(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…")


def parse_timeout(raw: str) -> float:
    """Seconds a round waits for replies."""
    try:
        t = float(raw)
    except ValueError:
        raise BadValue(f"bad timeout '{_shown(raw)}': expected seconds, e.g. 0.5") from None
    low, high = TIMEOUT_RANGE
    if not low <= t <= high:
        raise BadValue(f"bad timeout {_shown(raw)}: choose {low} to {high:g} seconds")
    return t


PACES = ("enter", "off")
PACE_RANGE = (0.1, 30.0)


def parse_pace(raw: str) -> str | float:
    """How a watched duel or propose advances: `enter`, `off`, or seconds per turn."""
    if raw in PACES:
        return raw
    try:
        t = float(raw)
    except ValueError:
        raise BadValue(f"bad pace '{_shown(raw)}': choose enter, off or seconds, e.g. 2") from None
    low, high = PACE_RANGE
    if not low <= t <= high:  # also NaN
        raise BadValue(f"bad pace {_shown(raw)}: choose {low} to {high:g} seconds, enter or off")
    return t


MAX_DIGITS = 30
"""Longer numbers are refused unread: every range here fits in far fewer digits, and int()
itself refuses 4,300 digits and more (sys.int_info) with a sentence of its own."""


def is_whole_number(text: str) -> bool:
    """A decimal integer, optionally negative: `7`, `-1`; not `1e3`, `0x7`, `²` or `+7`."""
    body = text[1:] if text.startswith("-") else text
    return body.isascii() and body.isdigit()


def parse_int(raw: object, what: str, low: int = 0, high: Optional[int] = None) -> int:
    """The one parser of integers a user types: a whole number in low..high, or BadValue
    saying in one short line what was wrong (never int()'s own ValueError)."""
    text = str(raw).strip()
    if not is_whole_number(text):
        raise BadValue(f"bad {what} '{_shown(text)}': expected a whole number")
    choice = f"{low} to {high}" if high is not None else f"{low} or more"
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise BadValue(f"bad {what}: a number of {digits:,} digits; choose {choice}")
    n = int(text, 10)
    if n < low or (high is not None and n > high):
        raise BadValue(f"bad {what} {n}: choose {choice}")
    return n


def parse_proposer_number(raw: str) -> int:
    return parse_int(raw, "proposer number", PROPOSER_NUMBERS.start, PROPOSER_NUMBERS.stop - 1)


def parse_format(raw: str) -> str:
    if raw not in FORMATS:
        raise BadValue(f"bad format '{_shown(raw)}': choose {', '.join(FORMATS)}")
    return raw
