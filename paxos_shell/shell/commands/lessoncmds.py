"""The class's commands that state and check outcomes: `expect` (a script's stated outcome) and
`lesson` (the guided scenarios, stepped by shell/runner.py).

Every outcome `expect` checks is read from the knowledge model's verdicts on the results; this
module judges no Paxos question itself.
"""

from __future__ import annotations

from typing import Callable, Optional

from paxos_shell.core.options import parse_int
from paxos_shell.core.paxos import Verdict
from paxos_shell.core.text import counted, show_value, visible
from paxos_shell.core.wire import Phase, ReplyKind
from paxos_shell.engine.results import AcceptResult, PrepareResult, ProposeResult, StateResult
from paxos_shell.shell.context import Context
from paxos_shell.shell.lessons import lesson_names, load_lesson
from paxos_shell.shell.registry import ArgKind, Args, Group, UsageError, command
from paxos_shell.shell.results import Column, Result, Style, Table
from paxos_shell.shell.runner import Runner

K = ArgKind


# -- expectations ------------------------------------------------------------------


def _last_verdict(ctx: Context) -> Optional[Verdict]:
    last = ctx.last
    if isinstance(last, AcceptResult):
        return last.outcome.verdict
    if isinstance(last, ProposeResult):
        return last.verdict
    return None


LAST_KIND = {PrepareResult: "a prepare", StateResult: "a state read"}


def _not_an_outcome(ctx: Context) -> str:
    """Why there is no outcome to judge: what the last Paxos command was."""
    kind = LAST_KIND.get(type(ctx.last))
    if kind is None:
        return "no accept or propose yet"
    return f"the last Paxos command was {kind}, not an accept or propose"


def _chosen(ctx: Context) -> list[str]:
    return sorted({str(c.value) for c in ctx.session.chosen()})


def _saw_chosen(values: list[str]) -> str:
    return "chosen: " + (", ".join(show_value(v) for v in values) if values else "nothing")


Check = Callable[[Context, list[str]], tuple[bool, str]]


def _expect_chosen(ctx: Context, rest: list[str]) -> tuple[bool, str]:
    """`expect chosen VALUE`: exactly that value; `expect chosen`: exactly one value, any."""
    if len(rest) > 1:
        raise UsageError("expect chosen [VALUE]: one value at most")
    values = _chosen(ctx)
    return (values == rest if rest else len(values) == 1), _saw_chosen(values)


def _expect_outcome(ctx: Context, rest: list[str]) -> tuple[bool, str]:
    words = {v.value.replace(" ", "-"): v for v in Verdict}
    if len(rest) != 1 or rest[0] not in words:
        raise UsageError("expect outcome: chosen, not-chosen or unknown")
    got = _last_verdict(ctx)
    return got == words[rest[0]], f"last outcome: {got}" if got is not None else _not_an_outcome(ctx)


def _last_prepare(ctx: Context) -> Optional[tuple[int, int]]:
    """The round of the last prepare this session sent (a propose's or a duel's too), and its promises."""
    history = ctx.session.history
    last = next((e.round_no for e in reversed(history) if e.reply.phase == Phase.PREPARE), None)
    if last is None:
        return None
    return last, sum(1 for e in history if e.round_no == last and e.reply.kind == ReplyKind.GRANTED)


def _expect_promises(ctx: Context, rest: list[str]) -> tuple[bool, str]:
    if len(rest) != 1:
        raise UsageError("expect promises N: how many?")
    want = parse_int(rest[0], "promise count")
    last = _last_prepare(ctx)
    if last is None:
        return False, "no prepare yet"
    return last[1] == want, f"last prepare, round {last[0]}: {counted(last[1], 'promise')}"


def _expect_violations(want: bool) -> Check:
    def run(ctx: Context, rest: list[str]) -> tuple[bool, str]:
        found = ctx.session.knowledge.violations()
        saw = counted(len(found), "violation") + (f": {found[0].sentence()}" if found else "")
        return bool(found) == want, saw
    return run


def _expect_proposer_violation(ctx: Context, rest: list[str]) -> tuple[bool, str]:
    """`expect proposer-violation RULE [PROPOSER]`: the proposer judge flagged that rule (by that proposer)."""
    if not 1 <= len(rest) <= 2:
        raise UsageError("expect proposer-violation RULE [PROPOSER], e.g. 'accept-without-quorum shell:demo'")
    found = ctx.session.knowledge.proposers.violations()
    hit = [v for v in found if str(v.rule) == rest[0] and rest[1:] in ([], [v.proposer])]
    saw = ", ".join(dict.fromkeys(f"{v.rule} by {visible(v.proposer)}" for v in found)) or "none"
    return bool(hit), f"proposer violations: {saw}"


EXPECTATIONS: dict[str, Check] = {
    "chosen": _expect_chosen,
    "nothing-chosen": lambda ctx, rest: (not _chosen(ctx), _saw_chosen(_chosen(ctx))),
    "two-chosen": lambda ctx, rest: (len(_chosen(ctx)) >= 2, _saw_chosen(_chosen(ctx))),
    "outcome": _expect_outcome,
    "promises": _expect_promises,
    "violations": _expect_violations(True),
    "no-violations": _expect_violations(False),
    "proposer-violation": _expect_proposer_violation,
}


@command(
    "expect", "expect chosen [VALUE] | nothing-chosen | two-chosen | outcome chosen|not-chosen|unknown | "
              "promises N | violations | no-violations | proposer-violation RULE [PROPOSER]",
    "assert what the lesson should show; fails (exit 1) if it does not",
    "Lessons end their steps with expectations, so running a lesson also checks it. 'chosen' and "
    "'two-chosen' judge every accepted value the session has seen since the last full reset; "
    "'outcome' the last Paxos command, which must be an accept or propose; 'promises' the last "
    "prepare (a propose's too); 'violations' the rules the replies seen so far broke (check also "
    "reads every acceptor first); 'proposer-violation' a proposer rule broken (accept-without-quorum, "
    "accept-wrong-value, id-reused), by that proposer if named (shell, shell:NAME or a watched label).",
    "expect chosen A",
    positional=(K.CHOICE, K.TEXT), group=Group.TEACH, choices=(tuple(EXPECTATIONS),), saved=False,
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
    out = Result("expect", ok=ok, data={"expect": text, "ok": ok, "saw": saw}, failure=saw, expectation=True)
    return out.say(f"{'PASS' if ok else 'FAIL'} expect {text} ({saw})", Style.GOOD if ok else Style.BAD)


# -- lessons -------------------------------------------------------------------------


LESSON_COLUMNS = (
    Column("number", "#"),
    Column("name", "lesson"),
    Column("goal", "goal", wrap=True),
)


@command(
    "lesson", "lesson [NAME|NUMBER]",
    "list the guided lessons in teaching order, or run one step by step",
    "Each lesson is a commented script of one classic Paxos scenario on the local pool, with its "
    "expected outcome checked at the end. In the REPL it runs one step at a time: Enter runs the "
    "step shown, b goes back a step (the pool is rebuilt to it), s skips, q stops, and any other "
    "command (state, trace, explain...) runs without moving on. Elsewhere it runs straight through. "
    "Explanations are on while it runs.",
    "lesson 1",
    positional=(K.LESSON,), group=Group.TEACH, saved=False,
)
def cmd_lesson(ctx: Context, args: Args) -> Result:
    if not args.positional:
        lessons = [load_lesson(n) for n in lesson_names()]
        rows = tuple({"number": le.number, "name": le.name, "title": le.title, "goal": le.goal} for le in lessons)
        return Result("lesson").show(Table("lessons", LESSON_COLUMNS, rows)).say(
            "Run one with 'lesson NUMBER' or 'lesson NAME'.")
    lesson = load_lesson(args.positional[0])
    if ctx.pool.local is None:
        raise UsageError("lessons need the local pool (start paxos-shell without pool options)")
    ctx.show(Result("lesson").say(f"Lesson {lesson.number}: {lesson.title}", Style.GOOD)
             .say(f"Goal: {lesson.goal}").say(f"Expected outcome: {lesson.expect}").blocks)
    outcome = Runner(ctx, lesson).run()
    met = all(ctx.expectations) and bool(ctx.expectations)
    verdict = "stopped" if outcome.stopped else "passed" if met else "FAILED"
    out = Result("lesson", ok=met or outcome.stopped, failure=f"{sum(ctx.expectations)} of {len(ctx.expectations)} "
                 "expectations met", data={
        "name": lesson.name, "number": lesson.number, "passed": met and not outcome.stopped,
        "stopped": outcome.stopped, "expectations": ctx.expectations})
    return out.say("").say(f"Lesson {verdict}: {sum(ctx.expectations)} of {len(ctx.expectations)} "
                           "expectations met.", Style.GOOD if met else Style.BAD)
