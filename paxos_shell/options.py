"""Values a user sets on the command line, in the config file or with `set`.

Each is checked here once, so `--timeout 0`, `timeout = 0` in the config file
and `set timeout 0` are refused with the same sentence. A bad value raises
BadValue (a UserError): the shell prints it and goes on; the command line turns
it into a usage error (exit 2). Pure.
"""

from __future__ import annotations

from . import paxos
from .errors import UserError

TIMEOUT_RANGE = (0.05, 60.0)
PROPOSER_NUMBERS = range(paxos.ID_STRIDE)
"""A proposer number p owns the ids with id % ID_STRIDE == p."""
FORMATS = ("table", "plain", "json")


class BadValue(UserError):
    """A setting's value is out of range or of the wrong kind."""


def parse_timeout(raw: str) -> float:
    """Seconds a round waits for replies."""
    try:
        t = float(raw)
    except ValueError:
        raise BadValue(f"bad timeout '{raw}': expected seconds, e.g. 0.5") from None
    low, high = TIMEOUT_RANGE
    if not low <= t <= high:
        raise BadValue(f"bad timeout {raw}: choose {low} to {high:g} seconds")
    return t


def parse_int(raw: str, what: str, low: int, high: int) -> int:
    text = raw.strip()
    body = text[1:] if text.startswith("-") else text
    if not (body.isascii() and body.isdigit()):
        raise BadValue(f"bad {what} '{raw}': expected a whole number")
    n = int(text)
    if not low <= n <= high:
        raise BadValue(f"bad {what} {n}: choose {low} to {high}")
    return n


def parse_proposer_number(raw: str) -> int:
    return parse_int(raw, "proposer number", PROPOSER_NUMBERS.start, PROPOSER_NUMBERS.stop - 1)


def parse_format(raw: str) -> str:
    if raw not in FORMATS:
        raise BadValue(f"bad format '{raw}': choose {', '.join(FORMATS)}")
    return raw
