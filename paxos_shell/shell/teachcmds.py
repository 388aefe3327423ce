"""Teaching commands: trace, explain, proposer, lesson, expect."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Optional

from ..check import check
from ..paxos import Verdict
from ..proposer import AcceptResult, PrepareResult, ProposeResult
from .registry import LESSON, NUMBER, PATH, PROPOSER, TEXT, VALUE, Args, UsageError, command, to_int
from .render import show_value
from .trace import diagram, mermaid

if TYPE_CHECKING:
    from .app import Shell


@command(
    "trace", "trace [N] [--mermaid FILE]",
    "a sequence diagram of the last N rounds (default 3); --mermaid writes it for slides",
    "Draws the proposer(s) and each acceptor as columns, with one arrow per request and per reply "
    "(replies in the order they arrived; x where none came). With --mermaid FILE the same rounds "
    "are written as a Mermaid sequenceDiagram.",
    "trace 2",
    flags={"--mermaid": PATH}, positional=(NUMBER,), group="teach",
)
def cmd_trace(sh: Shell, args: Args) -> int:
    n = to_int(args.positional[0], "round count", 1) if args.positional else 3
    entries = list(sh.session.history)
    if not entries:
        raise UsageError("trace: no rounds yet (run prepare, accept or propose first)")
    path = args.get("--mermaid")
    if path:
        text = mermaid(entries, sh.client.urls, n)
        try:
            with open(str(path), "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            raise UsageError(f"cannot write {path}: {e.strerror}") from None
        sh.out.line(f"Wrote the last {n} round(s) as a Mermaid sequenceDiagram to {path}")
        sh.out.emit({"command": "trace", "mermaid": str(path), "text": text})
        return 0
    width = shutil.get_terminal_size((100, 24)).columns
    lines = diagram(entries, sh.client.urls, width, n)
    for line in lines:
        sh.out.line(line)
    sh.out.emit({"command": "trace", "lines": lines})
    return 0


@command(
    "explain", "explain",
    "what the last Paxos command did, in plain words",
    "Two or three sentences on the last prepare, accept, propose or state: why this value, why no "
    "quorum, what is chosen and why it can never change, what to do next. `set teach on` shows "
    "them after every command.",
    "explain",
    group="teach",
)
def cmd_explain(sh: Shell, args: Args) -> int:
    if sh.last is None:
        raise UsageError("explain: nothing to explain yet (run prepare, accept, propose or state)")
    sentences = sh.explain_last()
    sh.out.emit({"command": "explain", "sentences": sentences})
    return 0


@command(
    "proposer", "proposer [NAME]",
    "create or switch to a proposer with its own id, promises and value",
    "Several proposers in one shell, each with its own current id, promises and client value. "
    "Their ids never collide (each owns the ids ending in its number, modulo 100), and each knows "
    "only what its own replies told it: two lines make a duel.",
    "proposer B",
    positional=(PROPOSER,), group="teach",
)
def cmd_proposer(sh: Shell, args: Args) -> int:
    s = sh.session
    if args.positional:
        name = args.positional[0]
        if not name.isidentifier() or len(name) > 20:
            raise UsageError(f"bad proposer name '{name}': use letters, digits and _")
        try:
            p, created = s.switch(name)
        except ValueError as e:
            raise UsageError(str(e)) from None
        sh.out.line(f"{'New proposer' if created else 'Proposer'} {p.name} (number {p.number}: its ids end in "
                    f"{p.number:02d}); next id {s.next_id()}.")
    rows = [[("* " if n == s.active else "  ") + n, "-" if p.number is None else str(p.number),
             "-" if p.current_id is None else str(p.current_id), show_value(p.client_value),
             str(sorted(p.promises)), str(sorted(p.accepts))] for n, p in s.proposers.items()]
    sh.out.table(("proposer", "number", "id", "value", "promised by", "accepted by"), rows)
    sh.out.emit({"command": "proposer", "active": s.active, "proposers": {
        n: {"number": p.number, "id": p.current_id, "value": p.client_value, "promisedBy": sorted(p.promises),
            "acceptedBy": sorted(p.accepts)} for n, p in s.proposers.items()}})
    return 0


# -- expectations ------------------------------------------------------------------


def _last_verdict(sh: Shell) -> Optional[str]:
    last = sh.last
    if isinstance(last, AcceptResult):
        return last.outcome.verdict
    if isinstance(last, ProposeResult):
        return last.verdict
    return None


@command(
    "expect", "expect chosen VALUE | nothing-chosen | two-chosen | outcome chosen|not-chosen|unknown | "
              "promises N | violations | no-violations",
    "assert what the lesson should show; fails (exit 1) if it does not",
    "Lessons end their steps with expectations, so running a lesson also checks it. 'chosen' and "
    "'two-chosen' judge every accept the session has seen; 'outcome' the last accept or propose; "
    "'promises' the last prepare; 'violations' runs check.",
    "expect chosen A",
    positional=(TEXT, VALUE), group="teach",
)
def cmd_expect(sh: Shell, args: Args) -> int:
    if not args.positional:
        raise UsageError("expect: what? e.g. 'expect chosen A'")
    what, rest = args.positional[0], args.positional[1:]
    values = sorted({str(c.value) for c in sh.session.chosen()})
    if what == "chosen" and len(rest) == 1:
        ok, saw = values == [rest[0]], f"chosen: {values or 'nothing'}"
    elif what == "nothing-chosen":
        ok, saw = not values, f"chosen: {values or 'nothing'}"
    elif what == "two-chosen":
        ok, saw = len(values) >= 2, f"chosen: {values or 'nothing'}"
    elif what == "outcome" and len(rest) == 1:
        want = rest[0].replace("-", " ")
        if want not in (Verdict.CHOSEN, Verdict.NOT_CHOSEN, Verdict.UNKNOWN):
            raise UsageError("expect outcome: chosen, not-chosen or unknown")
        got = _last_verdict(sh)
        ok, saw = got == want, f"last outcome: {got}"
    elif what == "promises" and len(rest) == 1:
        last = sh.last
        got = len(last.promised) if isinstance(last, PrepareResult) else None
        ok, saw = got == to_int(rest[0], "promise count"), f"last prepare: {got} promise(s)"
    elif what in ("violations", "no-violations"):
        found = check(sh.session.history, sh.session.pool_size, sh.session.epochs)
        ok = bool(found) == (what == "violations")
        saw = f"{len(found)} violation(s)" + (f": {found[0].message}" if found else "")
    else:
        raise UsageError(f"expect: unknown expectation '{' '.join(args.positional)}'; see 'help expect'")
    text = " ".join(args.positional)
    sh.out.line(f"{'PASS' if ok else 'FAIL'} expect {text} ({saw})", "good" if ok else "bad")
    sh.out.emit({"command": "expect", "expect": text, "ok": ok, "saw": saw})
    sh.expectations.append(ok)
    return 0 if ok else 1


# -- lessons -------------------------------------------------------------------------


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


def load_lesson(name: str) -> Lesson:
    path = os.path.join(lesson_dir(), f"{name}.txt")
    if name not in lesson_names():
        raise UsageError(f"unknown lesson '{name}': see 'lesson' for the list")
    title, expect, steps, notes = name, "", [], []
    with open(path, encoding="utf-8") as f:
        for raw in f:
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


@command(
    "lesson", "lesson [NAME]",
    "list the guided lessons, or run one step by step",
    "Each lesson is a commented script of one classic Paxos scenario on the local pool. In the REPL "
    "it runs one step at a time (Enter for the next, q to stop) with explanations on; elsewhere it "
    "runs straight through. Each lesson states its expected outcome and checks it.",
    "lesson happy-path",
    positional=(LESSON,), group="teach",
)
def cmd_lesson(sh: Shell, args: Args) -> int:
    if not args.positional:
        rows = [[n, load_lesson(n).title] for n in lesson_names()]
        sh.out.table(("lesson", "what it shows"), rows)
        sh.out.emit({"command": "lesson", "lessons": dict(rows)})
        return 0
    lesson = load_lesson(args.positional[0])
    if sh.pool.local is None:
        raise UsageError("lessons need the local pool (start paxos-shell without pool options)")
    sh.out.line(f"Lesson: {lesson.title}", "good")
    sh.out.line(f"Expected outcome: {lesson.expect}")
    was_teaching, sh.teach = sh.teach, True
    saved_worst = sh.worst  # steps meant to fail (a refused propose) are the lesson, not errors
    sh.expectations = []
    stopped = False
    try:
        for k, step in enumerate(lesson.steps, 1):
            sh.out.line("")
            for note in step.notes:
                sh.out.line(f"# {note}", "dim")
            if sh.pause is not None and not sh.pause(f"[{k}/{len(lesson.steps)}] {step.command}"):
                stopped = True
                break
            sh.out.line(f"> {step.command}", "warn")
            sh.run_line(step.command)
    finally:
        sh.teach, sh.worst = was_teaching, saved_worst
    met = all(sh.expectations) and bool(sh.expectations)
    verdict = "stopped" if stopped else "passed" if met else "FAILED"
    sh.out.line("")
    sh.out.line(f"Lesson {verdict}: {sum(sh.expectations)} of {len(sh.expectations)} expectations met.",
                "good" if met else "bad")
    sh.out.emit({"command": "lesson", "name": lesson.name, "passed": met and not stopped,
                 "expectations": sh.expectations})
    return 0 if met or stopped else 1
