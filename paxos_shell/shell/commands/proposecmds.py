"""propose: the whole proposer flow, shown round by round as it runs (the seed's proposer-demo).

Progress arrives as events from the Engine (Started, Prepared, AlreadyChosen,
Accepted, Retrying) and is shown at once; in presenter mode each round is
explained and waits for the teacher. The final result reads like the seed
script's: `Consensus Reached`, `No Consensus` or `Outcome unknown`.
"""

from __future__ import annotations

from typing import Any

from paxos_shell.core.options import parse_int
from paxos_shell.core.paxos import Verdict
from paxos_shell.core.text import show_value
from paxos_shell.engine.results import Accepted, AlreadyChosen, Prepared, ProposeEvent, ProposeResult, Retrying, Started
from paxos_shell.shell.commands.paxoscmds import prepare_blocks
from paxos_shell.shell.context import Context
from paxos_shell.shell.formats import REPLY_COLUMNS, reply_rows
from paxos_shell.shell.pace import Pacer
from paxos_shell.shell.registry import ArgKind, Args, UsageError, command, quote, to_id
from paxos_shell.shell.results import Result, Style, Table, Text
from paxos_shell.shell.teach import explain
from paxos_shell.shell.verdict import broken_here

K = ArgKind


@command(
    "propose", "propose VALUE [SERVER...] [--id N] [--contact-count K] [--retry R]",
    "the whole proposer flow: prepare, choose the value, accept, report",
    "Runs both phases as a proposer must: prepare a fresh id, and if a quorum promised, send accept "
    "with the value Paxos requires (a prior accepted value overrides yours) to the acceptors that "
    "promised. It ends in 'Consensus Reached', 'No Consensus', or 'Outcome unknown' when silent "
    "acceptors might have accepted. --contact-count K contacts a random K acceptors; --retry R tries "
    "again with a higher id after a random backoff.",
    "propose good-value --contact-count 3",
    flags={"--id": K.ID, "--value": K.VALUE, "--server-ids": K.SERVERS, "--contact-count": K.COUNT,
           "--retry": K.COUNT},
    positional=(K.VALUE, K.SERVERS),
)
def cmd_propose(ctx: Context, args: Args) -> Result:
    pos = list(args.positional)
    value = args.text("--value")
    if value is None:
        if not pos:
            value = ctx.session.proposer.client_value
        else:
            value = pos.pop(0)
    if value is None:
        raise UsageError("propose: missing value (propose VALUE [SERVER...], or set value VALUE first)")
    n = to_id(args.text("--id")) if args.text("--id") is not None else None
    count = args.text("--contact-count")
    retry = parse_int(args.text("--retry") or 0, "retry count", 0, 100)
    servers = args.acceptor_ids(pos)
    pacer = Pacer(ctx, f"propose {quote(value)}")
    res = ctx.engine.propose(value, servers, n, parse_int(count, "contact count", 1) if count is not None else None,
                             retry, lambda event: _progress(ctx, event, value, pacer))
    ctx.remember(res)
    out = propose_result(res)
    if count is not None and len(res.attempts) == 1:
        # `save` replays the acceptors this random pick chose, not a new random pick.
        picked = " ".join(map(str, res.attempts[0].servers))
        out.replay = f"propose {quote(value)} {picked}" + (f" --id {n}" if n is not None else "")
    return out


def _progress(ctx: Context, event: ProposeEvent, value: str, pacer: Pacer) -> None:
    """Show a propose as it runs; while a class watches, each round is explained (presenter
    mode), drawn by the view, and followed by a pause (shell/pace.py)."""
    ctx.show(progress_blocks(ctx, event, value))
    if not isinstance(event, (Prepared, Accepted)):
        return
    round_result = event.attempt.prepare if isinstance(event, Prepared) else event.attempt.accept
    if ctx.out.present:
        ctx.show([Text(s, Style.DIM, indent=2) for s in explain(round_result)])
    ctx.mark_rounds(round_result)
    pacer.turn("Enter for the next round")


def progress_blocks(ctx: Context, event: ProposeEvent, value: str) -> list[Any]:
    """What a propose shows while it runs, one event at a time."""
    if isinstance(event, Started):
        return [Text(f"Contacting servers: {list(event.targets)}"), Text(f"Proposal ID: {event.n}"),
                Text(f"Client value: {show_value(value)}")]
    if isinstance(event, Prepared):
        part = Result("prepare")
        prepare_blocks(ctx, event.attempt.prepare, part)
        ch = event.attempt.prepare.choice
        if ch is not None and ch.overridden and ch.forced_by is not None:
            part.say("").say("Client value overridden due to prior accepted value:", Style.WARN)
            part.say(f"acceptor={ch.forced_by.acceptor}, acceptedId={ch.forced_by.accepted_id}, "
                     f"value={show_value(ch.value)}", indent=2)
        return part.blocks
    if isinstance(event, AlreadyChosen):
        return [Text(""), Text("Consensus already reached during prepare phase:", Style.GOOD),
                Text(f"acceptedId={event.chosen.proposal_id}, value={show_value(event.chosen.value)}", indent=2)]
    if isinstance(event, Accepted):
        acc = event.attempt.accept
        assert acc is not None  # Accepted is sent only once phase 2 ran
        part = Result("accept")
        part.blocks += [Text(""), Text(f"Sending accept requests with value: {show_value(acc.value)}"),
                        Table("", REPLY_COLUMNS, reply_rows(acc.round.replies))]
        broken_here(acc.breaks, part)  # as `accept` flags them: a reply counted out is said, not silent
        return part.blocks
    if isinstance(event, Retrying):
        return [Text(f"Retry {event.attempt} after {event.pause * 1000:.0f} ms backoff", Style.DIM), Text("")]
    return []


def propose_result(res: ProposeResult) -> Result:
    out = Result("propose", ok=res.ok, failure="no consensus")
    last = res.attempts[-1] if res.attempts else None
    if not res.early:
        out.say("").say("--- Result ---")
        if last is not None and last.accept is not None:
            out.say(f"Accept attempts sent to servers: {[r.acceptor for r in last.accept.round.replies]}")
            out.say(f"Accepts received from servers: {list(last.accept.outcome.accepted_by)}")
        out.say("")
        if res.verdict == Verdict.CHOSEN:
            out.say("Consensus Reached", Style.GOOD)
            out.say(f"proposalId={res.proposal_id}", indent=2).say(f"value={show_value(res.value)}", indent=2)
        elif res.verdict == Verdict.UNKNOWN:
            out.say("Outcome unknown", Style.WARN).say(res.reason, indent=2)
        else:
            out.say("No Consensus", Style.BAD).say(res.reason, indent=2)
    out.data.update({
        "clientValue": res.client_value, "outcome": str(res.verdict), "consensus": res.ok,
        "proposalId": res.proposal_id, "value": res.value, "reason": res.reason, "earlyDecision": res.early,
        "attempts": [{"id": a.prepare.n, "servers": a.servers, "prepare": list(reply_rows(a.prepare.round.replies)),
                      "accept": list(reply_rows(a.accept.round.replies)) if a.accept else None}
                     for a in res.attempts],
    })
    return out
