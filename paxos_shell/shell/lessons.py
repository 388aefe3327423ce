"""Guided lessons: plain command scripts in paxos_shell/lessons/, read into steps.

A lesson file `NN-name.txt` is a script of shell commands; NN is its place in
the teaching order. `# title:`, `# goal:` and `# expect:` lines describe it,
other comments are notes shown before the step they precede (consecutive comment lines make
one paragraph), and `expect ...`
lines check the outcome. Reading only; shell/runner.py steps through them.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from importlib import resources

from paxos_shell.core.options import parse_int
from paxos_shell.shell.registry import UsageError

FILE = re.compile(r"^(\d+)-([a-z0-9-]+)\.txt$")


@dataclass
class Step:
    notes: list[str] = field(default_factory=list)
    command: str = ""


@dataclass
class Lesson:
    number: int
    name: str
    title: str
    goal: str
    expect: str
    steps: list[Step]


def lesson_dir() -> str:
    return str(resources.files("paxos_shell") / "lessons")


@functools.cache
def _files() -> dict[str, tuple[int, str]]:
    """name -> (number, file name), in teaching order. Read once: the lessons ship in the
    package, and the completer asks for their names at every keystroke."""
    try:
        found = [FILE.match(f) for f in os.listdir(lesson_dir())]
    except OSError:
        return {}
    pairs = sorted((int(m.group(1)), m.group(2), m.group(0)) for m in found if m)
    return {name: (number, file) for number, name, file in pairs}


def lesson_names() -> list[str]:
    """Every lesson, in teaching order."""
    return list(_files())


def parse_lesson(number: int, name: str, lines: list[str]) -> Lesson:
    heads = {"title": name, "goal": "", "expect": ""}
    steps, notes = [], []
    for raw in lines:
        text = raw.rstrip("\n")
        key = text[2:].split(":", 1)[0] if text.startswith("# ") else ""
        if key in heads and ":" in text:
            heads[key] = text.split(":", 1)[1].strip()
        elif text.startswith("#"):
            notes.append(text[1:].strip())
        elif text.strip():
            steps.append(Step(paragraphs(notes), text.strip()))
            notes = []
    return Lesson(number, name, heads["title"], heads["goal"], heads["expect"], steps)


def paragraphs(lines: list[str]) -> list[str]:
    """Comment lines joined into paragraphs (a bare `#` ends one): a sentence the file breaks
    over two lines is one sentence, for the terminal to wrap and the view to show whole."""
    out: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            out.append(" ".join(current))
            current = []
    return out


def load_lesson(which: str) -> Lesson:
    """A lesson by name (`happy-path`) or by its number in the list (`1`)."""
    files = _files()
    name = which
    if which.isdigit():  # also '²' and 5,000 digits, which parse_int refuses in one line
        number = parse_int(which, "lesson number", 1)
        name = next((n for n, (k, _) in files.items() if k == number), "")
    if name not in files:
        raise UsageError(f"unknown lesson '{which}': see 'lesson' for the list")
    number, file = files[name]
    with open(os.path.join(lesson_dir(), file), encoding="utf-8") as f:
        return parse_lesson(number, name, f.readlines())
