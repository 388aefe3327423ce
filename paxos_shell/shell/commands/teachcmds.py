"""Teaching commands: trace, explain, proposer, duel (expect and lesson: lessoncmds.py)."""

from __future__ import annotations

import random

from paxos_shell.core.options import parse_int
from paxos_shell.core.paxos import Verdict
from paxos_shell.core.text import counted, show_value, span
from paxos_shell.diagram import svg
from paxos_shell.diagram.style import stylesheet
from paxos_shell.diagram.trace import diagram, masked, mermaid
from paxos_shell.engine.duel import MAX_TURNS, Turn, duel
from paxos_shell.engine.session import HistoryEntry
from paxos_shell.shell.context import Context
from paxos_shell.shell.pace import Pacer
from paxos_shell.shell.registry import ArgKind, Args, Group, UsageError, command, quote
from paxos_shell.shell.results import Column, Result, Style, Table, Text
from paxos_shell.shell.teach import explain, since

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
    entries = masked(ctx.session.history, ctx.out.secrets)
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
        return out.say(f"Wrote the last {counted(n, 'round')} as a Mermaid sequenceDiagram to {path}")
    if args.text("--svg"):
        return _trace_svg(ctx, entries, n, str(args.text("--svg")))
    lines = diagram(entries, ctx.client.urls, ctx.out.width, n, markers)
    out = Result("trace", data={"lines": lines, "mermaidText": mermaid(entries, ctx.client.urls, n, markers)})
    for line in lines:
        out.blocks.append(Text(line, wrap=False))
    return out


def _trace_svg(ctx: Context, entries: list[HistoryEntry], n: int, path: str) -> Result:
    """The live view's diagram as a standalone SVG, to a file or ('-') to stdout."""
    text = svg.diagram(entries, ctx.client.urls, ctx.round_marks, n, css=stylesheet())
    out = Result("trace", data={"svg": path, "text": text})
    if path == "-":
        out.blocks.append(Text(text.rstrip("\n"), wrap=False))
        return out
    write_file(path, text)
    return out.say(f"Wrote the last {counted(n, 'round')} as SVG to {path}")


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
    "phases. Every round is real and shows in trace. --seed makes the random waits repeatable. "
    "While a class watches (presenter mode, the live view) it goes turn by turn: Enter, or the "
    "delay of 'set pace SECONDS'.",
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
    pacer = Pacer(ctx, f"duel {quote(a)} {quote(b)}")

    def shown(t: Turn) -> None:
        ctx.show([Text(_turn_text(t), hang=TURN_HANG)])
        ctx.mark_rounds(t.prepare)  # the view's diagram marks this turn's rounds as it draws them
        ctx.mark_rounds(t.accept)
        chosen = t.accept is not None and t.accept.outcome.verdict == Verdict.CHOSEN
        if not chosen and t.number < turns:
            pacer.turn(f"turn {t.number} of {turns}")

    res = duel(ctx.engine, (("A", a), ("B", b)), turns, backoff, rng, shown)
    last = next((t.accept for t in reversed(res.turns) if t.accept is not None), None)
    if last is not None:
        ctx.remember(last)
    out = Result("duel", ok=res.winner is not None, failure=f"nothing chosen in {turns} turns", data={
        "backoff": backoff, "turns": len(res.turns), "winner": res.winner, "value": res.value,
        "proposalId": res.proposal_id, "seed": seed})
    out.replay = f"duel {quote(a)} {quote(b)} --turns {turns} --seed {seed}" + ("" if backoff else " --no-backoff")
    if res.winner is None:
        return out.say(f"Nothing chosen in {turns} turns: each prepare overtook the other's accept "
                       "(livelock). Paxos stayed safe, but made no progress.", Style.BAD)
    how = ("backoff let one proposer finish both phases while the other waited" if backoff
           else "one accept slipped in before the other's prepare")
    return out.say(f"{show_value(res.value)} chosen at id {res.proposal_id} by P:{res.winner}: {how}.", Style.GOOD)
