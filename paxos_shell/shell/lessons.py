"""Guided lessons: plain command scripts in paxos_shell/lessons/, read into steps.

A lesson file is a script of shell commands; `# title:` and `# expect:` lines
name it and its outcome, other comments are notes shown before the step they
precede, and `expect ...` lines check the outcome. Reading only, no running.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources

from .registry import UsageError


@dataclass
class Step:
    notes: list[str] = field(default_factory=list)
    command: str = ""


@dataclass
class Lesson:
    name: str
    title: str
    expect: str
    steps: list[Step]


def lesson_dir() -> str:
    return str(resources.files("paxos_shell") / "lessons")


def lesson_names() -> list[str]:
    try:
        return sorted(f[:-4] for f in os.listdir(lesson_dir()) if f.endswith(".txt"))
    except OSError:
        return []


def parse_lesson(name: str, lines: list[str]) -> Lesson:
    title, expect, steps, notes = name, "", [], []
    for raw in lines:
        text = raw.rstrip("\n")
        if text.startswith("# title:"):
            title = text.split(":", 1)[1].strip()
        elif text.startswith("# expect:"):
            expect = text.split(":", 1)[1].strip()
        elif text.startswith("#"):
            notes.append(text[1:].strip())
        elif text.strip():
            steps.append(Step([n for n in notes if n], text.strip()))
            notes = []
    return Lesson(name, title, expect, steps)


def load_lesson(name: str) -> Lesson:
    if name not in lesson_names():
        raise UsageError(f"unknown lesson '{name}': see 'lesson' for the list")
    with open(os.path.join(lesson_dir(), f"{name}.txt"), encoding="utf-8") as f:
        return parse_lesson(name, f.readlines())
