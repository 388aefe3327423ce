"""What reaches a real terminal, read back through a terminal emulator (pyte).

The shell runs in a pseudo-terminal of a given width; its output is fed to an
emulator wider than that, so a line the shell made too long shows up as text
past the edge instead of being folded out of sight. Every command and every
lesson at 60, 80 and 120 columns: no line wider than the screen. And foreign
strings with escape sequences in every command's output, colour on and off:
none reaches the terminal raw (the title stays, the screen is not cleared).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import pexpect
import pyte
import pytest
from wcwidth import wcswidth

from paxos_shell.shell import commands  # noqa: F401 - importing the package registers the commands
from paxos_shell.shell.lessons import lesson_names
from paxos_shell.shell.registry import REGISTRY

WIDTHS = (60, 80, 120)

EVERY_COMMAND = [
    "clear", "help", "help accept", "state", "prepare 7 1 2",
    "accept 7 'a value long enough to need shortening in a table cell at sixty columns' 1 2",
    "propose B", "propose C --contact-count 1", "pool", "history 6", "show",
    "show value", "set teach on", "prepare", "set teach off", "trace 2", "trace 1 --mermaid {tmp}/t.mmd",
    "explain",
    "proposer B", "proposer main", "duel x y --turns 4 --no-backoff --seed 1", "expect chosen", "lesson",
    "check", "ping --count 2", "bench 3", "delay 2 5", "drop 3 requests 0", "heal", "down 3", "up 3",
    "restart 2", "reset 1", "audit 1 --only promise-higher,bad-input", "record {tmp}/t.md", "record off",
    "save {tmp}/s.txt", "set present on", "propose D",
    "set present off",
    "set raw on", "prepare", "set raw off", "view", "trace 1 --svg {tmp}/t.svg", "view off", "watch", "watch off",
    "exit",
]


def test_the_screen_script_runs_every_command() -> None:
    assert {line.split()[0] for line in EVERY_COMMAND} == set(REGISTRY)


def screen_lines(raw: str, width: int) -> list[str]:
    """The lines a terminal shows for `raw`, on an emulator four times wider than the pty."""
    screen = pyte.Screen(width * 4, raw.count("\n") + 5)
    stream = pyte.Stream(screen)
    stream.feed(raw.replace("\r\n", "\n").replace("\n", "\r\n"))
    return [line.rstrip() for line in screen.display]


def run_in_pty(width: int, args: list[str], colour: bool = False) -> tuple[str, pyte.Screen]:
    env = dict(os.environ, TERM="xterm", COLUMNS=str(width))
    if colour:
        env.pop("NO_COLOR", None)
    child = pexpect.spawn(sys.executable, ["-m", "paxos_shell", "--timeout", "2", *args], env=env,
                          encoding="utf-8", dimensions=(50, width), timeout=240)
    child.expect(pexpect.EOF)
    raw = child.before
    child.close()
    return raw, child


def too_wide(lines: list[str], width: int) -> list[str]:
    return [ln for ln in lines if (wcswidth(ln) if wcswidth(ln) >= 0 else len(ln)) > width]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_command_fits_the_screen(width: int, tmp_path: Any) -> None:
    # Files named '-' print file contents (a script, Mermaid) whose lines must stay whole: they are
    # written to files here, so every line below is the shell talking to a person.
    args = [a for line in EVERY_COMMAND for a in ("-c", line.format(tmp=tmp_path))]
    raw, _ = run_in_pty(width, args)
    lines = screen_lines(raw, width)
    assert "Traceback" not in raw and "internal error" not in raw
    assert too_wide(lines, width) == []
    assert any(ln.startswith("Paxos:") for ln in lines)  # help ran
    assert any("…" in ln for ln in lines)  # and a long value was shortened in a table cell


@pytest.mark.parametrize("width", WIDTHS)
def test_every_lesson_fits_the_screen(width: int) -> None:
    args = [a for name in lesson_names() for a in ("-c", f"lesson {name}")]
    raw, _ = run_in_pty(width, args)
    lines = screen_lines(raw, width)
    assert raw.count("Lesson passed") == len(lesson_names()), raw[-2000:]
    assert too_wide(lines, width) == []


HOSTILE = "A\x1b]0;pwned\x07\x1b[2JZ"
SHOWN = "A\\x1b]0;pwned\\x07\\x1b[2JZ"


@pytest.mark.parametrize("colour", [False, True], ids=["no-colour", "colour"])
def test_escape_sequences_never_reach_the_terminal_raw(colour: bool, tmp_path: Any) -> None:
    lines = ["set teach on", f"accept 1 '{HOSTILE}' --force", "state", "prepare 2", "propose other", "history 4",
             "trace 2", "show", "show value", "explain", "proposer B", f"set value '{HOSTILE}'", "proposer",
             f"duel '{HOSTILE}' y --turns 2 --no-backoff --seed 1", "check", f"expect chosen '{HOSTILE}'",
             f"record {tmp_path / 't.md'}", "state", "record off", "save -"]
    raw, _ = run_in_pty(100, [a for line in lines for a in ("-c", line)], colour)
    screen = pyte.Screen(400, raw.count("\n") + 5)
    pyte.Stream(screen).feed(raw.replace("\r\n", "\n").replace("\n", "\r\n"))
    text = "\n".join(screen.display)
    assert screen.title == "" and "pwned" not in screen.title  # no OSC 0 reached the terminal
    assert "\x1b]0;" not in raw and "\x1b[2J" not in raw  # not even raw in the stream
    assert text.count(SHOWN) >= 10  # shown visibly, command after command
    assert "Local pool of 3 acceptors" in text  # the first line is still there: nothing cleared the screen


# -- lessons stepped by hand, as a teacher does on a projector ----------------------------


def step_through(width: int, names: list[str]) -> dict[str, str]:
    """Each lesson of `names` in turn, `lesson NAME` in the REPL of one `width`-column pty, Enter
    once at every step prompt; each lesson's raw output, from the prompt its command is typed at.

    A key is sent only once the prompt waiting for it is drawn: prompt_toolkit is in raw mode
    before its first render, so the key is read by that prompt (no typing ahead, no echo)."""
    from paxos_shell.shell.lessons import load_lesson

    env = dict(os.environ, TERM="xterm", COLUMNS=str(width), NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "paxos_shell", "--timeout", "2"], env=env, encoding="utf-8",
                          dimensions=(50, width), timeout=60)
    child.delaybeforesend = None  # every key waits for its prompt (below), not for a pause
    raw: dict[str, str] = {}
    try:
        child.expect_exact("Ctrl-D to leave")
        seen = child.before + child.after
        for name in names:
            child.expect_exact("\x1b[?25h")  # the REPL's prompt is drawn and reads keys
            seen += child.before + child.after
            child.send(f"lesson {name}\r")
            steps = len(load_lesson(name).steps)
            for k in range(1, steps + 2):
                # Step k's prompt, or the lesson's end (after the last step, or early: the
                # assertions show how).
                i = child.expect([re.escape(f"[{k}/{steps}] "), r"Lesson (passed|FAILED|stopped)[^\n]*\n"])
                seen += child.before + child.after
                if i == 1:
                    break
                child.expect_exact("command]")  # the help ends the prompt, wherever it wraps
                seen += child.before + child.after
                child.expect_exact("\x1b[?25h")  # drawn, and reading keys
                seen += child.before + child.after
                child.send("\r")
            raw[name], seen = seen, ""
        child.expect_exact("\x1b[?25h")
        seen += child.before + child.after
        child.sendeof()
        child.expect(pexpect.EOF)
        raw[names[-1]] += seen + child.before
        return raw
    finally:
        child.close(force=True)


def lesson_words(name: str) -> set[str]:
    """Every word the lesson prints of its own: notes, commands, and the step prompt's help."""
    from paxos_shell.shell.lessons import load_lesson
    from paxos_shell.shell.runner import HELP

    lesson = load_lesson(name)
    texts = [n for s in lesson.steps for n in s.notes] + [s.command for s in lesson.steps] + [f"[{HELP}]"]
    return {w for t in texts for w in t.split()}


@pytest.mark.parametrize("width", (60, 80))
def test_lessons_stepped_by_hand_fit_and_never_split_a_word(width: int) -> None:
    # One shell steps through every lesson, as a teacher does through a course: each lesson
    # starts with `reset`, and each is judged on its own output.
    for name, raw in step_through(width, lesson_names()).items():
        lines = screen_lines(raw, width)
        assert "Lesson passed" in raw, (name, raw[-1500:])
        assert too_wide(lines, width) == [], name
        shown = {w for ln in lines for w in ln.split()}
        assert lesson_words(name) - shown == set(), name  # a word cut at the edge is not shown whole


def test_prose_wraps_by_display_width() -> None:
    # Two-cell characters (CJK, emoji) count two: the lines around them still fit 60 columns.
    raw, _ = run_in_pty(60, ["-c", "accept 10 héllo-🙂-世界 --force", "-c", "set teach on", "-c", "state",
                             "-c", "propose " + "世界" * 40])
    lines = screen_lines(raw, 60)
    assert too_wide(lines, 60) == []
    assert any("id 10" in ln for ln in lines)  # the id is never cut in two
