"""The one renderer: a Result becomes a table, plain text or one JSON object.

Everything the shell prints passes through here, which is what makes four
promises cheap to keep: every secret the shell sends is masked (urls.scrub,
`secrets`) wherever an acceptor echoes it, every foreign string is escaped
(text.visible) before it reaches the terminal, prose is wrapped at word boundaries to the width of
the screen, and tables fit it (low-priority columns dropped first, long values
shortened with an ellipsis). Normal output goes to stdout, errors to stderr;
in JSON mode each command prints exactly one object, errors included.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from contextlib import contextmanager
from dataclasses import replace
from typing import Iterator, Optional, Sequence, TextIO, Union

from paxos_shell.core.options import BadValue, parse_int
from paxos_shell.core.text import json_dumps, shorten, visible, width_of, wrap
from paxos_shell.core.urls import scrub, scrub_data
from paxos_shell.core.vocab import Word
from paxos_shell.shell.results import Block, Column, Result, Style, Table, Text


class Format(Word):
    TABLE = "table"
    PLAIN = "plain"
    JSON = "json"


COLOURS = {
    Style.GOOD: "\x1b[1;32m",
    Style.BAD: "\x1b[1;31m",
    Style.WARN: "\x1b[1;33m",
    Style.DIM: "\x1b[2m",
    Style.HEADING: "\x1b[1m",
}
RESET = "\x1b[0m"
CLEAR = "\x1b[H\x1b[2J\x1b[3J"
"""Cursor home, erase the screen, erase the scrollback (xterm): what clear(1) writes."""
GAP = 2
"""Spaces between table columns (tabulate's simple and plain formats)."""
MIN_CELL = 6
MIN_WRAP = 16
"""Narrower than this, wrapped prose in a cell becomes a column of single words."""
HEADER_PAD = 2
"""tabulate pads each header by two (its MIN_PADDING): a column is at least that wide."""


def colour_wanted(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def screen_width(stream: TextIO) -> int:
    """The terminal's width; 80 or $COLUMNS when the output is not a terminal."""
    try:
        if stream.isatty():
            return max(20, shutil.get_terminal_size((80, 24)).columns)
    except (AttributeError, ValueError, OSError):
        pass
    try:
        return max(20, parse_int(os.environ.get("COLUMNS", ""), "COLUMNS", 0))
    except BadValue:  # unset, or not a number: the width of a pipe
        return 80


def _cell_width(text: str) -> int:
    return max(width_of(line) for line in text.split("\n"))


BAR = 30
"""Cells of a progress bar."""


class Renderer:
    def __init__(self, stream: Optional[TextIO] = None, fmt: Format = Format.TABLE,
                 colour: Optional[bool] = None, err: Optional[TextIO] = None,
                 width: Optional[int] = None) -> None:
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        self.fmt = fmt
        self.colour = colour_wanted(self.stream) if colour is None else colour
        self.fixed_width = width
        self.present = False
        """Presenter mode: a blank line between blocks, no debugging details, for a projector."""
        self.raw = False
        """Show raw protocol replies even where a column must be dropped for them."""
        self.hushed = False
        """Inside `quiet`: nothing shown, and nothing waits for a class to watch (shell/pace.py)."""
        self.pace: Union[str, float] = "enter"
        """How a watched duel or propose advances (shell/pace.py): enter, off, or seconds a turn."""
        self.secrets: tuple[str, ...] = ()
        """What the shell sends and must never show (urls.secret_forms): masked in every line."""

    @property
    def json(self) -> bool:
        return self.fmt == Format.JSON

    @property
    def width(self) -> int:
        return self.fixed_width or screen_width(self.stream)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Nothing is shown inside (a lesson replaying its steps to go back)."""
        saved = self.stream, self.err, self.hushed
        self.stream = self.err = io.StringIO()
        self.hushed = True
        try:
            yield
        finally:
            self.stream, self.err, self.hushed = saved

    def safe(self, text: str) -> str:
        """Text from anywhere, as it may be shown: secrets masked, then escaped."""
        if self.secrets or "://" in text:
            text = scrub(text, self.secrets)
        return visible(text)

    def paint(self, text: str, style: Style) -> str:
        if not self.colour or style not in COLOURS:
            return text
        return f"{COLOURS[style]}{text}{RESET}"

    # -- output -------------------------------------------------------------

    def render(self, result: Result) -> None:
        """A finished command: its blocks, or its one JSON object."""
        if self.json:
            self._write(self.stream, json_dumps(scrub_data(result.json(), self.secrets)))
        else:
            self.show(result.blocks)

    def show(self, blocks: Sequence[Block]) -> None:
        """Blocks shown now (progress before a round's wait); nothing in JSON mode."""
        if self.json:
            return
        lines: list[str] = []
        for b in blocks:
            lines.extend(self.text_lines(b) if isinstance(b, Text) else self.table_lines(b))
            if self.present and isinstance(b, Table):
                lines.append("")  # room to breathe on a projector
        if self.present and lines and lines[-1]:
            lines.append("")
        if lines:
            self._write(self.stream, "\n".join(lines))

    def error(self, line: str, command: Optional[str] = None) -> None:
        """One message on stderr (one line to a pipe, wrapped on a terminal); in JSON mode also
        the command's one object, on stdout."""
        if self.json:
            self._write(self.stream, json_dumps({"command": command, "error": self.safe(line)}))
        text = f"error: {self.safe(line)}"
        if _isatty(self.err):
            text = "\n".join(wrap(text, screen_width(self.err), rest="  "))
        self._write(self.err, self.paint(text, Style.BAD) if self._err_colour() else text)

    def progress(self, done: int, total: int) -> None:
        """A bar redrawn in place, about 50 times over a long run (bench); only on a terminal,
        never in JSON or while quiet."""
        if not self._live() or (done % max(1, total // 50) and done != total):
            return
        filled = done * BAR // total
        self.stream.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total}")
        self.stream.flush()

    def progress_done(self) -> None:
        """End the bar's line, so what follows starts on its own."""
        if self._live():
            self._write(self.stream, "")

    def clear(self) -> bool:
        """Clear a terminal and its scrollback (`clear`); nothing in JSON mode or to a pipe."""
        if not self._live():
            return False
        self.stream.write(CLEAR)
        self.stream.flush()
        return True

    def _live(self) -> bool:
        return not self.json and _isatty(self.stream)

    def _err_colour(self) -> bool:
        return self.colour and colour_wanted(self.err)

    def _write(self, stream: TextIO, text: str) -> None:
        stream.write(text + "\n")
        stream.flush()

    # -- prose ----------------------------------------------------------------

    def text_lines(self, block: Text) -> list[str]:
        """A paragraph wrapped at word boundaries; a blank Text is a blank line."""
        if not block.text:
            return [""]
        if not block.wrap:
            return [self.paint(self.safe(line), block.style) for line in block.text.split("\n")]
        first, rest = " " * block.indent, " " * (block.indent + block.hang)
        out: list[str] = []
        for para in block.text.split("\n"):
            wrapped = wrap(self.safe(para), self.width, first, rest) or [first]
            out.extend(self.paint(w, block.style) for w in wrapped)
        return out

    # -- tables ---------------------------------------------------------------

    def table_lines(self, table: Table) -> list[str]:
        if not table.records:
            return []
        columns, cells = self._fit(table)
        rows = []
        for rec, row in zip(table.records, cells):
            rows.append([self.paint(c, col.style(rec)) if col.style else c for col, c in zip(columns, row)])
        from tabulate import tabulate  # imported on first table: keeps start-up fast

        style = "plain" if self.fmt == Format.PLAIN else "simple"
        text: str = tabulate(rows, headers=[c.title for c in columns], tablefmt=style,
                             disable_numparse=True, missingval="-")
        return text.split("\n")

    def _fit(self, table: Table) -> tuple[list[Column], list[list[str]]]:
        """Columns and cell texts that fit the screen: drop, then shorten."""
        columns = [c for c in table.columns if self._wanted(c)]
        cells = [[self.safe(c.text(rec)) for c in columns] for rec in table.records]
        shortened = False
        while True:
            widths = [max([width_of(c.title) + HEADER_PAD] + [_cell_width(row[i]) for row in cells])
                      for i, c in enumerate(columns)]
            excess = sum(widths) + GAP * (len(columns) - 1) - self.width
            if excess <= 0:
                return columns, cells
            if not shortened and any(c.short for c in columns):
                columns = [replace(c, title=c.short) if c.short else c for c in columns]
                shortened = True
                continue
            droppable = [i for i, c in enumerate(columns) if c.keep > 0 and not (c.raw and self.raw)]
            if droppable:
                i = max(droppable, key=lambda k: columns[k].keep)
                del columns[i]
                for row in cells:
                    del row[i]
                continue
            if not self._shrink(columns, cells, widths, excess):
                return columns, cells

    def _wanted(self, c: Column) -> bool:
        if c.raw and self.raw:
            return True
        return not (self.present and c.detail)

    def _shrink(self, columns: list[Column], cells: list[list[str]], widths: list[int], excess: int) -> bool:
        """Shorten the widest shrinkable column by up to `excess`; False if none can."""
        candidates = [i for i, c in enumerate(columns)
                      if (c.shrink or c.wrap) and widths[i] > max(MIN_WRAP if c.wrap else MIN_CELL,
                                                                  width_of(c.title) + HEADER_PAD)]
        if not candidates:
            return False
        i = max(candidates, key=lambda k: widths[k])
        floor = MIN_WRAP if columns[i].wrap else MIN_CELL
        target = max(floor, width_of(columns[i].title) + HEADER_PAD, widths[i] - excess)
        for row in cells:
            row[i] = ("\n".join(wrap(row[i], target)) if columns[i].wrap
                      else shorten(row[i], target))
        return True
