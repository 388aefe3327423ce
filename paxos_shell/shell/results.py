"""What a command returns: blocks for people, data for JSON, and an exit status.

Commands never write to a stream. They build a Result from Text and Table
blocks; a Table is made of records (plain JSON-able dicts) and the columns
that show them, so `--json` prints the very records the table was drawn from
and no command builds its JSON by hand beside its table. One renderer
(render.py) turns a Result into a table, plain text or JSON. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from paxos_shell.core.errors import ExitStatus, exit_status
from paxos_shell.core.vocab import Word


class Style(Word):
    """How a piece of text is emphasised; colour is the renderer's business."""

    PLAIN = "plain"
    GOOD = "good"
    BAD = "bad"
    WARN = "warn"
    DIM = "dim"
    HEADING = "heading"


@dataclass(frozen=True)
class Text:
    """A paragraph of prose, wrapped to the terminal by the renderer."""

    text: str
    style: Style = Style.PLAIN
    indent: int = 0
    hang: int = 0
    """Extra indent of continuation lines: help's descriptions line up after the syntax."""
    wrap: bool = True
    """False for preformatted lines (diagrams, Mermaid): shown as they are, escaped only."""


Format = Callable[[Any], str]
Styler = Callable[[dict[str, Any]], Style]


def plain(value: Any) -> str:
    return "-" if value is None else str(value)


@dataclass(frozen=True)
class Column:
    """One column of a table: which record field it shows, and how.

    `keep` orders columns by importance when the screen is narrow: the
    renderer drops the lowest first; `shrink` lets a column be shortened with
    an ellipsis instead (values); a column with keep=0 is never dropped.
    """

    key: str
    title: str
    fmt: Format = plain
    style: Optional[Styler] = None
    keep: int = 0
    shrink: bool = False
    cell: Optional[Callable[[dict[str, Any]], str]] = None
    """Draws the cell from the whole record, when one field is not enough."""
    wrap: bool = False
    """Prose: when the screen is narrow, wrap it inside the cell instead of shortening it."""
    short: Optional[str] = None
    """A shorter title, used before anything is dropped when the screen is narrow."""
    detail: bool = False
    """A debugging detail (latency, the raw reply): left out in presenter mode."""
    raw: bool = False
    """The raw protocol reply: shown when it fits, and always with `set raw on`."""

    def text(self, record: dict[str, Any]) -> str:
        return self.cell(record) if self.cell else self.fmt(record.get(self.key))


@dataclass(frozen=True)
class Table:
    """Records and the columns that show them; `name` is their key in JSON.

    With `by` set, JSON holds the records as an object keyed by that field
    (`{"1": {...}, "2": {...}}`, the shape of the seed's get-state), else a list.
    """

    name: str
    columns: tuple[Column, ...]
    records: tuple[dict[str, Any], ...]
    by: Optional[str] = None

    def json(self) -> Any:
        if self.by is None:
            return list(self.records)
        return {str(r[self.by]): {k: v for k, v in r.items() if k != self.by} for r in self.records}


Block = Union[Text, Table]


@dataclass
class Result:
    """A command's outcome: blocks to show, data for JSON, whether it succeeded."""

    command: str
    blocks: list[Block] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    replay: Optional[str] = None
    """The line `save` writes for this command when the typed one would not replay the same way
    (a random choice made explicit: the acceptors a propose picked, the seed of a duel)."""
    failure: str = ""
    """Why it failed, in a few words, when `ok` is False: the run's last line on stderr says it."""
    expectation: bool = False
    """An `expect`: states the run's expected outcome (core/errors.Tally judges a run by these)."""

    @property
    def status(self) -> ExitStatus:
        return exit_status(self.ok)

    def say(self, text: str, style: Style = Style.PLAIN, indent: int = 0, hang: int = 0) -> Result:
        self.blocks.append(Text(text, style, indent, hang))
        return self

    def show(self, table: Table) -> Result:
        self.blocks.append(table)
        return self

    def json(self) -> dict[str, Any]:
        """The one JSON object of this command: `command`, the data, every named table."""
        out: dict[str, Any] = {"command": self.command}
        out.update(self.data)
        for b in self.blocks:
            if isinstance(b, Table) and b.name:
                out[b.name] = b.json()
        return out
