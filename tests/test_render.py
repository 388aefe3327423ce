"""The one renderer (shell/render.py): wrapping, fitting tables, escaping, JSON, stderr."""

from __future__ import annotations

import io
import json

from paxos_shell.shell.render import Format, Renderer, shorten, width_of
from paxos_shell.shell.results import Column, Result, Style, Table

LONG = ("A value is chosen once a quorum of acceptors accepted it at the same proposal id; from then "
        "on every later proposal carries that value.")


def renderer(width: int, fmt: Format = Format.TABLE) -> tuple[Renderer, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Renderer(out, fmt, colour=False, err=err, width=width), out, err


def test_prose_wraps_at_word_boundaries() -> None:
    r, out, _ = renderer(40)
    r.render(Result("x").say(LONG, indent=2))
    lines = out.getvalue().splitlines()
    assert len(lines) > 2 and all(len(ln) <= 40 for ln in lines) and all(ln.startswith("  ") for ln in lines)
    assert " ".join(ln.strip() for ln in lines) == LONG  # no word broken, none lost


def test_hanging_indent_lines_up_continuations() -> None:
    r, out, _ = renderer(40)
    r.render(Result("x").say("cmd       " + LONG, hang=10))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("cmd ") and all(ln.startswith(" " * 10) for ln in lines[1:])


RECORDS = tuple({"id": i, "value": "v" * 30, "latency": "1.0 ms", "raw": '{"ignored": false}'} for i in (1, 2))
COLUMNS = (Column("id", "id"), Column("value", "value", shrink=True), Column("latency", "latency", keep=1),
           Column("raw", "reply", keep=2))


def test_a_table_drops_low_priority_columns_then_shortens_values() -> None:
    r, out, _ = renderer(200)
    r.render(Result("x").show(Table("rows", COLUMNS, RECORDS)))
    assert "reply" in out.getvalue() and "v" * 30 in out.getvalue()
    r, out, _ = renderer(50)
    r.render(Result("x").show(Table("rows", COLUMNS, RECORDS)))
    text = out.getvalue()
    assert "reply" not in text and "latency" in text and all(len(ln) <= 50 for ln in text.splitlines())
    r, out, _ = renderer(20)
    r.render(Result("x").show(Table("rows", COLUMNS, RECORDS)))
    text = out.getvalue()
    assert "latency" not in text and "…" in text and all(width_of(ln) <= 20 for ln in text.splitlines())


def test_json_is_the_records_not_the_cells() -> None:
    r, out, _ = renderer(20, Format.JSON)
    r.render(Result("x", data={"n": 1}).show(Table("rows", COLUMNS, RECORDS, by="id")))
    data = json.loads(out.getvalue())
    assert data == {"command": "x", "n": 1, "rows": {"1": {k: v for k, v in RECORDS[0].items() if k != "id"},
                                                      "2": {k: v for k, v in RECORDS[1].items() if k != "id"}}}


def test_foreign_text_is_escaped_in_prose_cells_and_errors() -> None:
    r, out, err = renderer(80)
    r.colour = True
    table = Table("t", (Column("v", "v"),), ({"v": "\x1b]0;t\x07"},))
    r.render(Result("x").say("value A\x1b[2J", Style.GOOD).show(table))
    r.error("HTTP 500: \x1b[31mboom")
    text = out.getvalue() + err.getvalue()
    assert "\x1b[2J" not in text and "\\x1b[2J" in text and "\\x1b]0;t\\x07" in text and "\\x1b[31mboom" in text
    assert "\x1b[1;32mvalue A" in text  # our own colour still applies


def test_errors_go_to_stderr_and_json_errors_also_to_stdout() -> None:
    r, out, err = renderer(80)
    r.error("bad id", "prepare")
    assert out.getvalue() == "" and err.getvalue() == "error: bad id\n"
    r, out, err = renderer(80, Format.JSON)
    r.error("bad id", "prepare")
    assert json.loads(out.getvalue()) == {"command": "prepare", "error": "bad id"}
    assert err.getvalue() == "error: bad id\n"


def test_shorten_counts_display_cells() -> None:
    assert shorten("漢字漢字漢字", 7) == "漢字漢…" and width_of(shorten("漢字漢字漢字", 7)) <= 7
    assert shorten("short", 10) == "short"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_is_drawn_on_a_terminal_only_and_never_while_quiet() -> None:
    tty = _Terminal()
    r = Renderer(tty, Format.TABLE, colour=False, err=io.StringIO())
    for k in range(1, 101):
        r.progress(k, 100)
    r.progress_done()
    frames = tty.getvalue().split("\r")[1:]
    assert len(frames) == 50 and frames[0] == f"[{'.' * 30}] 2/100"
    assert frames[-1] == f"[{'#' * 30}] 100/100\n"
    with r.quiet():
        r.progress(1, 1)
        r.progress_done()
    piped, json_out = io.StringIO(), _Terminal()
    for out in (Renderer(piped, Format.TABLE, colour=False), Renderer(json_out, Format.JSON, colour=False)):
        out.progress(1, 1)
        out.progress_done()
    assert piped.getvalue() == json_out.getvalue() == "" and len(tty.getvalue().split("\r")) == 51
