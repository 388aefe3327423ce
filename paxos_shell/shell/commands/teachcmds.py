"""Teaching commands: trace, explain, proposer, expect, lesson."""

from __future__ import annotations

from typing import Callable, Optional

from ...check import check
from ...paxos import Verdict
from ...proposer import AcceptResult, PrepareResult, ProposeResult
from ...session import HistoryEntry
from ...text import show_value
from ..context import Context, LessonStep
from ..lessons import Lesson, lesson_names, load_lesson
from ..registry import ArgKind, Args, Group, UsageError, command, to_int
from ..results import Column, Result, Style, Table
from ..teach import explain
from ..trace import diagram, mermaid

K = ArgKind


@command(
    "trace", "trace [N] [--mermaid FILE] [--svg FILE]",
    "a sequence diagram of the last N rounds (default 3); --mermaid or --svg writes it for slides",
    "Draws the proposer(s) and each acceptor as columns, with one arrow per request and per reply "
    "(replies in the order they arrived; x where none came). With --mermaid FILE the same rounds "
    "are written as a Mermaid sequenceDiagram; with --svg FILE as a standalone SVG, the live view's "
    "drawing ('-' writes it to standard output).",
    "trace 2",
    flags={"--mermaid": K.PATH, "--svg": K.PATH}, positional=(K.NUMBER,), group=Group.TEACH,
)
def cmd_trace(ctx: Context, args: Args) -> Result:
    n = to_int(args.positional[0], "round count", 1) if args.positional else 3
    entries = list(ctx.session.history)
    if not entries:
        raise UsageError("trace: no rounds yet (run prepare, accept or propose first)")
    path = args.text("--mermaid")
    if path:
        text = mermaid(entries, ctx.client.urls, n)
        _write(path, text)
        return Result("trace", data={"mermaid": path, "text": text}).say(
            f"Wrote the last {n} round(s) as a Mermaid sequenceDiagram to {path}")
    if args.text("--svg"):
        return _trace_svg(ctx, entries, n, str(args.text("--svg")))
    lines = diagram(entries, ctx.client.urls, ctx.out.width, n)
    out = Result("trace", data={"lines": lines})
    for line in lines:
        out.say(line)
    return out


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None


def _trace_svg(ctx: Context, entries: list[HistoryEntry], n: int, path: str) -> Result:
    """The live view's diagram as a standalone SVG: to a file, or raw to stdout with '-'."""
    from ...view import assets, svg  # the view package only when asked for

    text = svg.diagram(entries, ctx.client.urls, ctx.session.pool_size, n, css=assets.diagram_css())
    if path != "-":
        _write(path, text)
        return Result("trace", data={"svg": path}).say(f"Wrote the last {n} round(s) as SVG to {path}")
    if ctx.out.json:
        return Result("trace", data={"svg": "-", "text": text})
    ctx.out.stream.write(text)  # verbatim: the renderer would wrap it; every label is escaped by svg.py
    ctx.out.stream.flush()
    return Result("trace", data={"svg": "-"})


@command(
    "explain", "explain",
    "what the last Paxos command did, in plain words",
    "Two or three sentences on the last prepare, accept, propose or state: why this value, why no "
    "quorum, what is chosen and why it can never change, what to do next. `set teach on` shows "
    "them after every command.",
    "explain",
    group=Group.TEACH,
)
def cmd_explain(ctx: Context, args: Args) -> Result:
    if ctx.last is None:
        raise UsageError("explain: nothing to explain yet (run prepare, accept, propose or state)")
    sentences = explain(ctx.last)
    out = Result("explain", data={"sentences": sentences})
    for s in sentences:
        out.say(s)
    return out


PROPOSER_COLUMNS = (
    Column("name", "proposer", cell=lambda r: ("* " if r["active"] else "  ") + r["name"]),
    Column("number", "number"),
    Column("id", "id"),
    Column("value", "value", fmt=show_value, shrink=True),
    Column("promisedBy", "promised by"),
    Column("acceptedBy", "accepted by"),
)


@command(
    "proposer", "proposer [NAME]",
    "create or switch to a proposer with its own id, promises and value",
    "Several proposers in one shell, each with its own current id, promises and client value. "
    "Their ids never collide (each owns the ids ending in its number, modulo 100), and each knows "
    "only what its own replies told it: two lines make a duel.",
    "proposer B",
    positional=(K.PROPOSER,), group=Group.TEACH,
)
def cmd_proposer(ctx: Context, args: Args) -> Result:
    s = ctx.session
    out = Result("proposer", data={"active": s.active})
    if args.positional:
        name = args.positional[0]
        if not name.isidentifier() or not name.isascii() or len(name) > 20:
            raise UsageError(f"bad proposer name '{name}': use letters, digits and _")
        try:
            p, created = s.switch(name)
        except ValueError as e:
            raise UsageError(str(e)) from None
        out.data["active"] = s.active
        out.say(f"{'New proposer' if created else 'Proposer'} {p.name} (number {p.number}: its ids end in "
                f"{p.number:02d}); next id {s.next_id()}.")
    rows = tuple({"name": n, "active": n == s.active, "number": p.number, "id": p.current_id,
                  "value": p.client_value, "promisedBy": sorted(p.promises), "acceptedBy": sorted(p.accepts)}
                 for n, p in s.proposers.items())
    return out.show(Table("proposers", PROPOSER_COLUMNS, rows, by="name"))


# -- expectations ------------------------------------------------------------------


def _last_verdict(ctx: Context) -> Optional[Verdict]:
    last = ctx.last
    if isinstance(last, AcceptResult):
        return last.outcome.verdict
    if isinstance(last, ProposeResult):
        return last.verdict
    return None


def _chosen(ctx: Context) -> list[str]:
    return sorted({str(c.value) for c in ctx.session.chosen()})


def _saw_chosen(values: list[str]) -> str:
    return "chosen: " + (", ".join(show_value(v) for v in values) if values else "nothing")


Check = Callable[[Context, list[str]], tuple[bool, str]]


def _expect_chosen(ctx: Context, rest: list[str]) -> tuple[bool, str]:
    if len(rest) != 1:
        raise UsageError("expect chosen VALUE: which value?")
    return _chosen(ctx) == rest, _saw_chosen(_chosen(ctx))


def _expect_outcome(ctx: Context, rest: list[str]) -> tuple[bool, str]:
    words = {v.value.replace(" ", "-"): v for v in Verdict}
    if len(rest) != 1 or rest[0] not in words:
        raise UsageError("expect outcome: chosen, not-chosen or unknown")
    got = _last_verdict(ctx)
    return got == words[rest[0]], f"last outcome: {got if got is not None else 'no accept or propose yet'}"


def _expect_promises(ctx: Context, rest: list[str]) -> tuple[bool, str]:
    if len(rest) != 1:
        raise UsageError("expect promises N: how many?")
    last = ctx.last
    if not isinstance(last, PrepareResult):
        return False, "no prepare yet"
    return len(last.promised) == to_int(rest[0], "promise count"), f"last prepare: {len(last.promised)} promise(s)"


def _expect_violations(want: bool) -> Check:
    def run(ctx: Context, rest: list[str]) -> tuple[bool, str]:
        found = check(ctx.session.history, ctx.session.pool_size, ctx.session.epochs)
        saw = f"{len(found)} violation(s)" + (f": {found[0].message}" if found else "")
        return bool(found) == want, saw
    return run


EXPECTATIONS: dict[str, Check] = {
    "chosen": _expect_chosen,
    "nothing-chosen": lambda ctx, rest: (not _chosen(ctx), _saw_chosen(_chosen(ctx))),
    "two-chosen": lambda ctx, rest: (len(_chosen(ctx)) >= 2, _saw_chosen(_chosen(ctx))),
    "outcome": _expect_outcome,
    "promises": _expect_promises,
    "violations": _expect_violations(True),
    "no-violations": _expect_violations(False),
}


@command(
    "expect", "expect chosen VALUE | nothing-chosen | two-chosen | outcome chosen|not-chosen|unknown | "
              "promises N | violations | no-violations",
    "assert what the lesson should show; fails (exit 1) if it does not",
    "Lessons end their steps with expectations, so running a lesson also checks it. 'chosen' and "
    "'two-chosen' judge every accept the session has seen; 'outcome' the last accept or propose; "
    "'promises' the last prepare; 'violations' runs check.",
    "expect chosen A",
    positional=(K.CHOICE, K.TEXT), group=Group.TEACH, choices=(tuple(EXPECTATIONS),),
)
def cmd_expect(ctx: Context, args: Args) -> Result:
    if not args.positional:
        raise UsageError("expect: what? e.g. 'expect chosen A'")
    what, rest = args.positional[0], args.positional[1:]
    check_fn = EXPECTATIONS.get(what)
    if check_fn is None:
        raise UsageError(f"expect: unknown expectation '{what}'; choose {', '.join(EXPECTATIONS)}")
    ok, saw = check_fn(ctx, rest)
    text = " ".join(args.positional)
    ctx.expectations.append(ok)
    out = Result("expect", ok=ok, data={"expect": text, "ok": ok, "saw": saw})
    return out.say(f"{'PASS' if ok else 'FAIL'} expect {text} ({saw})", Style.GOOD if ok else Style.BAD)


# -- lessons -------------------------------------------------------------------------


@command(
    "lesson", "lesson [NAME]",
    "list the guided lessons, or run one step by step",
    "Each lesson is a commented script of one classic Paxos scenario on the local pool. In the REPL "
    "it runs one step at a time (Enter for the next, q to stop) with explanations on; elsewhere it "
    "runs straight through. Each lesson states its expected outcome and checks it.",
    "lesson happy-path",
    positional=(K.LESSON,), group=Group.TEACH,
)
def cmd_lesson(ctx: Context, args: Args) -> Result:
    if not args.positional:
        rows = tuple({"name": n, "title": load_lesson(n).title} for n in lesson_names())
        out = Result("lesson")
        return out.show(Table("lessons", (Column("name", "lesson"), Column("title", "what it shows", shrink=True)),
                              rows))
    lesson = load_lesson(args.positional[0])
    if ctx.pool.local is None:
        raise UsageError("lessons need the local pool (start paxos-shell without pool options)")
    ctx.show(Result("lesson").say(f"Lesson: {lesson.title}", Style.GOOD)
             .say(f"Expected outcome: {lesson.expect}").blocks)
    stopped = run_steps(ctx, lesson)
    met = all(ctx.expectations) and bool(ctx.expectations)
    verdict = "stopped" if stopped else "passed" if met else "FAILED"
    out = Result("lesson", ok=met or stopped,
                 data={"name": lesson.name, "passed": met and not stopped, "expectations": ctx.expectations})
    return out.say("").say(f"Lesson {verdict}: {sum(ctx.expectations)} of {len(ctx.expectations)} "
                           "expectations met.", Style.GOOD if met else Style.BAD)


def run_steps(ctx: Context, lesson: Lesson) -> bool:
    """Run a lesson's steps with teach mode on; True if the teacher stopped it."""
    was_teaching, ctx.teach = ctx.teach, True
    ctx.expectations = []
    try:
        for k, step in enumerate(lesson.steps, 1):
            notes = Result("lesson").say("")
            for note in step.notes:
                notes.say(f"# {note}", Style.DIM)
            ctx.show(notes.blocks)
            if ctx.pause is not None and ctx.pause(f"[{k}/{len(lesson.steps)}] {step.command}") == "q":
                return True
            ctx.show(Result("lesson").say(f"> {step.command}", Style.WARN).blocks)
            ctx.lesson_step = LessonStep(lesson.name, lesson.title, k, len(lesson.steps), step.command,
                                         tuple(step.notes))
            ctx.run_step(step.command)
    finally:
        ctx.teach = was_teaching
        ctx.lesson_step = None
    return False
