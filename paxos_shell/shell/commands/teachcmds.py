"""Teaching commands: trace, explain, proposer, expect, lesson."""

from __future__ import annotations

import random
from typing import Callable, Optional

from ...duel import MAX_TURNS, Turn, duel
from ...options import parse_int
from ...paxos import Verdict
from ...proposer import AcceptResult, PrepareResult, ProposeResult, StateResult
from ...session import HistoryEntry
from ...text import show_value, span
from ...wire import Phase, ReplyKind
from ..context import Context
from ..lessons import lesson_names, load_lesson
from ..registry import ArgKind, Args, Group, UsageError, command, quote
from ..results import Column, Result, Style, Table, Text
from ..runner import Runner
from ..teach import explain, since
from ..trace import diagram, mermaid

K = ArgKind


@command(
    "trace", "trace [N] [--mermaid FILE] [--svg FILE]",
    "a sequence diagram of the last N rounds (default 3); --mermaid or --svg writes it for slides",
    "Draws the proposers (P:name) and each acceptor (A1, A2...) as columns, with one arrow per "
    "request and per reply (replies in the order they arrived; x where none came), and marks on "
    "the acceptors' lifelines where the shell crashed, restarted, reset or faulted them. With "
    "--mermaid FILE the same rounds are written as a Mermaid sequenceDiagram, with --svg FILE as a "
    "standalone SVG, the live view's drawing ('-' for stdout).",
    "trace 2",
    flags={"--mermaid": K.PATH, "--svg": K.PATH}, positional=(K.NUMBER,), group=Group.TEACH, saved=False,
)
def cmd_trace(ctx: Context, args: Args) -> Result:
    n = parse_int(args.positional[0], "round count", 1) if args.positional else 3
    entries = list(ctx.session.history)
    if not entries:
        raise UsageError("trace: no rounds yet (run prepare, accept or propose first)")
    markers = list(ctx.session.markers)
    path = args.text("--mermaid")
    if path:
        text = mermaid(entries, ctx.client.urls, n, markers)
        out = Result("trace", data={"mermaid": path, "text": text})
        if path == "-":
            out.blocks.append(Text(text.rstrip("\n"), wrap=False))
            return out
        write_file(path, text)
        return out.say(f"Wrote the last {n} round(s) as a Mermaid sequenceDiagram to {path}")
    if args.text("--svg"):
        return _trace_svg(ctx, entries, n, str(args.text("--svg")))
    lines = diagram(entries, ctx.client.urls, ctx.out.width, n, markers)
    out = Result("trace", data={"lines": lines, "mermaidText": mermaid(entries, ctx.client.urls, n, markers)})
    for line in lines:
        out.blocks.append(Text(line, wrap=False))
    return out


def _trace_svg(ctx: Context, entries: list[HistoryEntry], n: int, path: str) -> Result:
    """The live view's diagram as a standalone SVG, to a file or ('-') to stdout."""
    from ...view import assets, svg  # the view package only when asked for

    text = svg.diagram(entries, ctx.client.urls, ctx.round_marks, n, css=assets.diagram_css())
    out = Result("trace", data={"svg": path, "text": text})
    if path == "-":
        out.blocks.append(Text(text.rstrip("\n"), wrap=False))
        return out
    write_file(path, text)
    return out.say(f"Wrote the last {n} round(s) as SVG to {path}")


def write_file(path: str, text: str) -> None:
    """Write a file the user named, or one line saying why not."""
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None


@command(
    "explain", "explain",
    "what the last Paxos command did, in plain words",
    "Two or three sentences on the last prepare, accept, propose or state: why this value, why no "
    "quorum, what is chosen and whether it can still change (the next step is the command's own "
    "'Next:' line). `set teach on` shows them after every command.",
    "explain",
    group=Group.TEACH, saved=False,
)
def cmd_explain(ctx: Context, args: Args) -> Result:
    if ctx.last is None:
        raise UsageError("explain: nothing to explain yet (run prepare, accept, propose or state)")
    then = getattr(ctx.last, "outlook", None)
    sentences = (since(then, ctx.session.outlook()) if then is not None else []) + explain(ctx.last)
    out = Result("explain", data={"sentences": sentences})
    for s in sentences:
        out.say(s)
    return out


PROPOSER_COLUMNS = (
    Column("name", "proposer", cell=lambda r: ("* " if r["active"] else "  ") + r["name"]),
    Column("number", "number", short="#"),
    Column("id", "id"),
    Column("value", "value", fmt=show_value, shrink=True),
    Column("promisedBy", "promised by", short="promised"),
    Column("acceptedBy", "accepted by", short="accepted"),
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


def _turn_text(t: Turn) -> str:
    parts = []
    if t.accept is not None:
        a = t.accept
        ok = list(a.outcome.accepted_by)
        refused = [r.acceptor for r in a.round.replies if r.acceptor not in ok]
        parts.append(f"accept {a.n} {show_value(a.value)} -> " + (
            f"accepted by {span(ok)}: {show_value(a.value)} is chosen" if a.outcome.verdict == Verdict.CHOSEN
            else f"refused by {span(refused)}"))
    if t.chose_wait:
        parts.append(f"backs off {t.chose_wait} turn{'s' if t.chose_wait > 1 else ''}")
    if t.prepare is not None:
        pr = t.prepare
        parts.append(f"prepare {pr.n} -> " + (f"promised by {span(pr.promised)}" if pr.promised else "no promise"))
    return f"turn {t.number:<3} P:{t.proposer:<6} " + "; ".join(parts)


TURN_HANG = 18
"""Continuation lines of a duel turn line up after `turn N   P:name`."""


@command(
    "duel", "duel VALUE_A VALUE_B [--turns N] [--no-backoff] [--seed S]",
    "proposers A and B take turns against the pool: livelock, and the backoff that ends it",
    "Paxos is always safe but not always live: two proposers can overtake each other forever. In "
    "a duel, proposers A and B take turns; in its turn a proposer prepares, or accepts with the "
    "value Paxos requires. Refused, it prepares again at once, which overtakes the other's promise "
    "before its accept: nothing is ever chosen. Unless --no-backoff, a refused proposer first sits "
    "out a random number of turns that doubles with each refusal, so the other one finishes both "
    "phases. Every round is real and shows in trace. --seed makes the random waits repeatable.",
    "duel a-value b-value --no-backoff --turns 8",
    flags={"--turns": K.COUNT, "--no-backoff": K.FLAG, "--seed": K.NUMBER}, positional=(K.VALUE, K.VALUE),
    group=Group.TEACH,
)
def cmd_duel(ctx: Context, args: Args) -> Result:
    if len(args.positional) != 2:
        raise UsageError("duel: expected VALUE_A VALUE_B, e.g. 'duel a-value b-value'")
    turns = parse_int(args.text("--turns") or 40, "turn count", 2, MAX_TURNS)
    given = args.text("--seed")
    seed = parse_int(given, "seed") if given is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    backoff = not args.switch("--no-backoff")
    a, b = args.positional
    res = duel(ctx.engine, (("A", a), ("B", b)), turns, backoff, rng,
               lambda t: ctx.show([Text(_turn_text(t), hang=TURN_HANG)]))
    for t in res.turns:
        ctx.mark_rounds(t.prepare)
        ctx.mark_rounds(t.accept)
    last = next((t.accept for t in reversed(res.turns) if t.accept is not None), None)
    if last is not None:
        ctx.remember(last)
    out = Result("duel", ok=res.winner is not None, data={
        "backoff": backoff, "turns": len(res.turns), "winner": res.winner, "value": res.value,
        "proposalId": res.proposal_id, "seed": seed})
    out.replay = f"duel {quote(a)} {quote(b)} --turns {turns} --seed {seed}" + ("" if backoff else " --no-backoff")
    if res.winner is None:
        return out.say(f"Nothing chosen in {turns} turns: each prepare overtook the other's accept "
                       "(livelock). Paxos stayed safe, but made no progress.", Style.BAD)
    how = ("backoff let one proposer finish both phases while the other waited" if backoff
           else "one accept slipped in before the other's prepare")
    return out.say(f"{show_value(res.value)} chosen at id {res.proposal_id} by P:{res.winner}: {how}.", Style.GOOD)


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
    return last[1] == want, f"last prepare, round {last[0]}: {last[1]} promise(s)"


def _expect_violations(want: bool) -> Check:
    def run(ctx: Context, rest: list[str]) -> tuple[bool, str]:
        found = ctx.session.knowledge.violations()
        saw = f"{len(found)} violation(s)" + (f": {found[0].sentence()}" if found else "")
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
    "expect", "expect chosen [VALUE] | nothing-chosen | two-chosen | outcome chosen|not-chosen|unknown | "
              "promises N | violations | no-violations",
    "assert what the lesson should show; fails (exit 1) if it does not",
    "Lessons end their steps with expectations, so running a lesson also checks it. 'chosen' and "
    "'two-chosen' judge every accepted value the session has seen since the last full reset; "
    "'outcome' the last Paxos command, which must be an accept or propose; 'promises' the last "
    "prepare (a propose's too); 'violations' the rules the replies seen so far broke (check also "
    "reads every acceptor first).",
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
    out = Result("expect", ok=ok, data={"expect": text, "ok": ok, "saw": saw})
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
    out = Result("lesson", ok=met or outcome.stopped, data={
        "name": lesson.name, "number": lesson.number, "passed": met and not outcome.stopped,
        "stopped": outcome.stopped, "expectations": ctx.expectations})
    return out.say("").say(f"Lesson {verdict}: {sum(ctx.expectations)} of {len(ctx.expectations)} "
                           "expectations met.", Style.GOOD if met else Style.BAD)
