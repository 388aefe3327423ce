"""Foreign text made safe to show: the one place that escapes what others sent.

Values, error messages and paths come from acceptors, request lines and files
that this project does not control. Written raw, an ESC or OSC sequence would
retitle the window, clear the screen or write the clipboard, and a bidi
override would make a value read backwards. Every string from outside passes
through one of these functions before it reaches a terminal, a log or JSON;
each shows the offending character as a visible escape (`\\x1b`, `\\u202e`), so
an engineer sees what the acceptor really holds. It also holds the one way
acceptors are named in a sentence (`listing`: 'acceptors 1 and 3') and a run of
numbers is written (`span`: '1..3'), how wide text is on a terminal (display
cells, by wcwidth), and prose wrapped to a width in those cells. No I/O here.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Optional

from wcwidth import wcswidth


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _safe(ch: str) -> bool:
    # str.isprintable() is False for controls (C0, DEL, C1), format characters
    # (bidi overrides, zero-width joiners), separators other than the space,
    # surrogates and unassigned code points: exactly what must not reach a tty.
    return ch == " " or ch.isprintable()


def visible(text: str) -> str:
    """`text` with every unprintable character replaced by a visible escape."""
    if text.isprintable():  # the same test as _safe on every character, at C speed
        return text
    return "".join(ch if _safe(ch) else _escape(ch) for ch in text)


VALUE_LIMIT = 60
"""Longer values are shortened in sentences and tables; `show value` and JSON give them whole."""


def show_value(value: Optional[str], limit: Optional[int] = VALUE_LIMIT) -> str:
    """A Paxos value as people read it: bare when plain, quoted and escaped when not.

    Empty, padded or unprintable values are quoted (Python's repr, which also
    escapes the backslash), so `''`, `' A'` and `'A\\x1b[2J'` cannot be mistaken
    for another value; None, "no value", shows as '-'. A value longer than
    `limit` characters is cut with an ellipsis and its length said; limit=None
    shows it whole.
    """
    if value is None:
        return "-"
    shown = value if value and value == value.strip() and value.isprintable() else repr(value)
    if limit is None or len(shown) <= limit:
        return shown
    return f"{shown[:limit - 1]}… ({len(value):,} characters)"


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_dumps(data: Any) -> str:
    """One line of JSON, UTF-8 readable, with every unprintable character escaped.

    json.dumps escapes C0 controls but lets C1 controls (U+009B is a CSI) and
    bidi overrides through when ensure_ascii is off; they can only occur inside
    strings, where a \\uXXXX escape means the same character to any JSON reader.
    """
    text = json.dumps(data, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(ch if _safe(ch) else _json_escape(ch) for ch in text)


def listing(ids: Iterable[int], noun: str = "acceptor") -> str:
    """Acceptors in a sentence: 'acceptor 2', 'acceptors 1 and 3', 'acceptors 1, 2 and 3'
    (never a Python list's `[1, 3]`)."""
    words = [str(i) for i in sorted(ids)]
    if len(words) <= 1:
        return f"{noun} {''.join(words)}"
    return f"{noun}s {', '.join(words[:-1])} and {words[-1]}"


def span(numbers: Iterable[int]) -> str:
    """`1..3` for a run of consecutive numbers, else `1, 3, 7`: a range (the pool is 1..5)."""
    ns = list(numbers)
    if len(ns) > 1 and ns == list(range(ns[0], ns[0] + len(ns))):
        return f"{ns[0]}..{ns[-1]}"
    return ", ".join(map(str, ns))


def counted(n: int, noun: str, plural: str = "") -> str:
    """`1 promise`, `2 promises`, `0 promises`: a count and its noun, in the number it takes
    (never `1 promises` or `promise(s)`). `plural` when adding an s is wrong."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


ELLIPSIS = "…"


def width_of(text: str) -> int:
    """Display cells `text` takes on a terminal (wide CJK and emoji count two)."""
    w = wcswidth(text)
    return w if w >= 0 else len(text)


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` display cells, the cut marked with an ellipsis."""
    if width_of(text) <= width:
        return text
    out = ""
    for ch in text:
        if width_of(out + ch) > width - 1:
            break
        out += ch
    return out + ELLIPSIS


def wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """Lines of at most `width` display cells, broken at spaces (never at hyphens); only a word
    wider than a whole line (a long path) is cut, since it cannot fit anywhere.

    Measured in cells, not code points (textwrap counts code points): `世界` and `🙂` take two
    cells each, so a line holding them would otherwise run past the edge of the screen. Spaces
    inside a line are kept as written (and those that open the text); those at a break go.
    """
    text = text.expandtabs()
    body = text.lstrip(" ")
    if not body.strip():
        return []
    if "\n" not in text and not text[-1].isspace() and 0 <= wcswidth(first + text) <= width:
        return [first + text]  # what the loop below makes of a text that fits (most lines): saves it
    lines: list[str] = []
    line = first + text[:len(text) - len(body)]
    used, gap, filled = width_of(line), "", False
    for token in _TOKENS.findall(body):
        if token.isspace():
            gap = " " if "\n" in token else token
            continue
        w = width_of(token)
        if filled and used + len(gap) + w <= width:
            line, used = line + gap + token, used + len(gap) + w
        else:
            if filled:
                lines.append(line)
                line, used = rest, width_of(rest)
            line, used = _cut(token, line, used, width, lines, rest)
            filled = True
        gap = ""
    lines.append(line)
    return lines


_TOKENS = re.compile(r"\s+|\S+")


def _cut(word: str, line: str, used: int, width: int, lines: list[str], rest: str) -> tuple[str, int]:
    """`word` after `line` (an indent, `used` cells); a word too wide for a line is cut into
    whole lines (appended to `lines`), each after the indent `rest`. Returns the line being
    filled and its width."""
    start = line
    for ch in word:
        cw = width_of(ch)
        if used + cw > width and line != start:
            lines.append(line)
            line = start = rest
            used = width_of(rest)
        line, used = line + ch, used + cw
    return line, used
