"""The Paxos commands: state, prepare, accept and propose (the seed's four scripts).

Each sends its round through the Engine, which records it and returns what
Paxos decided; these handlers only turn that into a Result. Wording follows
the seed scripts (`Contacting servers`, `Received promise from`, `Consensus
Reached`) so their users feel at home.
"""

from __future__ import annotations

from typing import Any, Optional

from ...breaks import Breach, Violation
from ...outlook import Outlook, Standing
from ...paxos import Verdict
from ...proposer import (
    Accepted,
    AcceptResult,
    AlreadyChosen,
    Prepared,
    PrepareResult,
    ProposeEvent,
    ProposeResult,
    Retrying,
    Started,
    StateResult,
)
from ...text import show_value
from ...wire import ReplyKind
from ..context import Context
from ..formats import REPLY_COLUMNS, latency_cell, reply_rows, to_ms
from ..registry import ArgKind, Args, UsageError, command, is_int, quote, to_id, to_int
from ..results import Column, Result, Style, Table, Text
from ..teach import explain

K = ArgKind


def servers_of(args: Args, rest: list[str]) -> Optional[list[int]]:
    """Acceptor ids given as trailing positionals and/or --server-ids; None for all."""
    raw = list(rest) + args.many("--server-ids")
    if not raw:
        return None
    return [to_int(s, "acceptor id", 1) for s in raw]


def _take_id(args: Args, pos: list[str], required_int: bool = False) -> Optional[int]:
    """--id N, or an integer first positional ("an integer first argument is the id")."""
    flag = args.text("--id")
    if flag is not None:
        return to_id(flag)
    if pos and (is_int(pos[0]) or required_int):
        return to_id(pos.pop(0))
    return None


# -- state ----------------------------------------------------------------------


def _state_record(ctx: Context, r: Any) -> dict[str, Any]:
    if r.kind == ReplyKind.OK:
        return {"server": r.acceptor, "status": "up", "promisedId": r.promised_id, "acceptedId": r.accepted_id,
                "acceptedValue": r.accepted_value, "latencyMs": to_ms(r.latency)}
    status = ctx.session.statuses.get(r.acceptor)
    return {"server": r.acceptor, "status": str(status.kind) if status else "error", "error": r.cause}


def _state_style(record: dict[str, Any]) -> Style:
    return Style.GOOD if record["status"] == "up" else Style.BAD


STATE_COLUMNS = (
    Column("server", "server", short="id"),
    Column("status", "status", style=_state_style),
    Column("promisedId", "promisedId", short="promised"),
    Column("acceptedId", "acceptedId", short="accepted"),
    Column("acceptedValue", "acceptedValue", fmt=show_value, shrink=True, short="value"),
    Column("latencyMs", "latency", keep=2, fmt=latency_cell, detail=True),
)
"""A failed acceptor's cause is a line under the table, so a narrow screen never hides it."""


@command(
    "state", "state [SERVER...]",
    "every acceptor's promisedId, acceptedId and acceptedValue, and what is chosen",
    "Reads each acceptor's state directly (not part of the protocol: a real proposer never "
    "sees it). A value is chosen once a quorum of acceptors accepted it at the same proposal "
    "id; from then on every later proposal carries that value, so it can never change.",
    "state",
    aliases=("get-state",), flags={"--server-ids": K.SERVERS}, positional=(K.SERVERS,),
)
def cmd_state(ctx: Context, args: Args) -> Result:
    res = ctx.engine.state(servers_of(args, args.positional))
    ctx.remember(res)
    return state_result(ctx, res)


def state_result(ctx: Context, res: StateResult) -> Result:
    records = tuple(_state_record(ctx, r) for r in res.round.replies)
    out = Result("state", ok=any(r.kind == ReplyKind.OK for r in res.round.replies))
    out.show(Table("acceptors", STATE_COLUMNS, records, by="server"))
    for rec in records:
        if rec.get("error"):
            out.say(f"acceptor {rec['server']}: {rec['error']}", Style.BAD)
    broken_here(res.breaks, out)
    standing(ctx, res.outlook, out)
    return out


def standing(ctx: Context, outlook: Outlook, out: Result) -> None:
    """Where the instance stands, in the knowledge model's words (violations first), and its JSON."""
    for i, line in enumerate(outlook.summary(ctx.session.quorum, ctx.session.pool_size)):
        out.say(line, Style.BAD if line.startswith("SAFETY VIOLATION") else Style.GOOD if i == 0 and
                outlook.standing == Standing.CHOSEN else Style.PLAIN)
    out.data.update(outlook_json(outlook))


def outlook_json(outlook: Outlook) -> dict[str, Any]:
    return {
        "standing": str(outlook.standing), "headline": outlook.headline(),
        "chosen": [{"proposalId": c.proposal_id, "value": c.value, "acceptors": list(c.acceptors)}
                   for c in outlook.chosen],
        "futures": {"kind": str(outlook.futures.kind), "values": list(outlook.futures.values),
                    "unknown": list(outlook.futures.unknown), "sentence": outlook.futures.sentence()},
        "violations": [v.sentence() for v in outlook.violations],
        "caveats": [c.sentence() for c in outlook.caveats],
    }


POOL_WIDE = (Breach.TWO_CHOSEN, Breach.TWO_VALUES_ONE_ID, Breach.AMNESIA)
"""Violations of the pool as a whole, not a rule one reply broke."""


def broken_here(breaks: tuple[Violation, ...], out: Result) -> None:
    """Rules a reply of this round broke, flagged on the spot, one line each."""
    for v in breaks:
        label = "SAFETY VIOLATION" if v.rule in POOL_WIDE else "RULE BROKEN"
        out.say(f"{label}: {v.sentence()}.", Style.BAD)
    out.data["rulesBroken"] = [v.sentence() for v in breaks]


def lead_with_violations(outlook: Outlook, breaks: tuple[Violation, ...], out: Result) -> None:
    """Once safety is broken, a round's output opens with it, never with a guarantee."""
    earlier = [v for v in outlook.violations if v not in breaks]
    if earlier:
        more = f" (and {len(earlier) - 1} more: see 'check')" if len(earlier) > 1 else ""
        out.say(f"SAFETY VIOLATION: {earlier[0].sentence()}{more}.", Style.BAD)


# -- prepare --------------------------------------------------------------------


@command(
    "prepare", "prepare [ID] [SERVER...] [--id N] [--server-ids S...]",
    "phase 1: ask acceptors to promise proposal id ID",
    "Phase 1a. An acceptor promises ID only if ID is above every id it promised before; with the "
    "promise it reports the last value it accepted, if any. Once a quorum promised, the proposer "
    "may send accept, but must carry the value of the highest acceptedId reported, so a value that "
    "may already be chosen is never replaced. Without an ID the next one above every id seen is used.",
    "prepare 7 1 2",
    flags={"--id": K.ID, "--server-ids": K.SERVERS}, positional=(K.ID, K.SERVERS),
)
def cmd_prepare(ctx: Context, args: Args) -> Result:
    pos = list(args.positional)
    n = _take_id(args, pos, required_int=True)
    servers = ctx.engine.servers(servers_of(args, pos))
    n = ctx.engine.fresh_id() if n is None else n
    ctx.show([Text(f"Contacting servers: {servers}"), Text(f"ID: {n}")])  # before the wait: context
    res = ctx.engine.prepare(n, servers)
    ctx.remember(res)
    out = Result("prepare", ok=res.reached)
    prepare_blocks(ctx, res, out)
    return out


def prepare_blocks(ctx: Context, res: PrepareResult, out: Result) -> None:
    """The replies, the quorum verdict and what to do next, plus their JSON."""
    lead_with_violations(res.outlook, res.breaks, out)
    out.show(Table("replies", REPLY_COLUMNS, reply_rows(res.round.replies)))
    if res.round.interrupted:
        out.say("Interrupted: acceptors that had not answered are marked 'interrupted'.", Style.WARN)
    broken_here(res.breaks, out)
    out.say(f"Received promise from: {res.promised}")
    if res.reached:
        out.say(f"Quorum reached: {len(res.promised)} of {ctx.session.pool_size} promised id {res.n} "
                f"(quorum {res.quorum}).", Style.GOOD)
    else:
        out.say(f"Quorum not reached: {len(res.promised)} promise(s), {res.quorum} needed.", Style.BAD)
    if res.prior_chosen is not None:
        c = res.prior_chosen
        out.say(f"Already chosen: {show_value(c.value)} at id {c.proposal_id}: acceptors {list(c.acceptors)}, "
                "a quorum, reported it in their promises, so any accept must carry it.")
    elif res.reached and res.choice is not None and res.choice.forced_by is not None:
        out.say(f"Paxos requires value {show_value(res.choice.value)}: {res.choice.reason}.")
    out.say(res.hint.sentence())
    out.data.update({
        "id": res.n, "servers": [r.acceptor for r in res.round.replies], "promisedBy": res.promised,
        "quorum": res.quorum, "quorumReached": res.reached,
        "requiredValue": res.choice.value if res.choice and res.choice.forced_by else None,
        "next": res.hint.command, "hint": res.hint.sentence(), "interrupted": res.round.interrupted,
    })


# -- accept ---------------------------------------------------------------------


@command(
    "accept", "accept [ID] [VALUE] [SERVER...] [--id N] [--value V] [--server-ids S...] [--force]",
    "phase 2: ask acceptors to accept VALUE at proposal id ID",
    "Phase 2a. An acceptor accepts unless it has promised a higher id. The value must be the one "
    "Paxos requires after the promises for ID (the highest accepted one they reported), or any value "
    "if none reported one; the shell refuses anything else unless --force, which exists to show "
    "what goes wrong. The value is chosen when a quorum accepts it at the same id.",
    "accept 7 test-val 1 2",
    flags={"--id": K.ID, "--value": K.VALUE, "--server-ids": K.SERVERS, "--force": K.FLAG},
    positional=(K.ID, K.VALUE, K.SERVERS),
)
def cmd_accept(ctx: Context, args: Args) -> Result:
    pos = list(args.positional)
    n = _take_id(args, pos)
    value = args.text("--value")
    if value is None and pos:
        value = pos.pop(0)
    res = ctx.engine.accept(n, value, servers_of(args, pos), force=args.switch("--force"))
    ctx.remember(res)
    out = Result("accept", ok=res.outcome.verdict == Verdict.CHOSEN)
    out.say(f"Contacting servers: {[r.acceptor for r in res.round.replies]}")
    out.say(f"ID: {res.n}")
    out.say(f"Client value: {show_value(res.value)}")
    accept_blocks(ctx, res, out)
    return out


def accept_blocks(ctx: Context, res: AcceptResult, out: Result) -> None:
    lead_with_violations(res.outlook, res.breaks, out)
    if res.forced:
        out.say(f"WARNING: sent with --force although it is unsafe: {res.safety.reason}", Style.BAD)
    out.show(Table("replies", REPLY_COLUMNS, reply_rows(res.round.replies)))
    if res.round.interrupted:
        out.say("Interrupted: acceptors that had not answered are marked 'interrupted'.", Style.WARN)
    broken_here(res.breaks, out)
    out.say(f"Received accepts from: {list(res.outcome.accepted_by)}")
    verdict = res.outcome.verdict
    if verdict == Verdict.CHOSEN:
        out.say(f"Chosen: {show_value(res.value)} at id {res.n} ({res.outcome.reason}).", Style.GOOD)
    elif verdict == Verdict.UNKNOWN:
        out.say(f"Outcome unknown: {res.outcome.reason}.", Style.WARN)
    else:
        out.say(f"Not chosen by this round: {res.outcome.reason}.", Style.BAD)
        if res.outlook.standing == Standing.CHOSEN:
            out.say(res.outlook.summary(ctx.session.quorum, ctx.session.pool_size)[0])
    if res.hint.command is not None:
        out.say(res.hint.sentence())
    out.data.update({
        "id": res.n, "value": res.value, "servers": [r.acceptor for r in res.round.replies],
        "acceptedBy": list(res.outcome.accepted_by), "outcome": str(verdict), "reason": res.outcome.reason,
        "forced": res.forced, "safe": res.safety.safe, "interrupted": res.round.interrupted,
        "hint": res.hint.sentence(),
    })


# -- propose --------------------------------------------------------------------


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
    retry = to_int(args.text("--retry") or 0, "retry count", 0, 100)
    servers = servers_of(args, pos)
    res = ctx.engine.propose(value, servers, n, to_int(count, "contact count", 1) if count is not None else None,
                             retry, lambda event: _progress(ctx, event, value))
    ctx.remember(res)
    out = propose_result(res)
    if count is not None and len(res.attempts) == 1:
        # `save` replays the acceptors this random pick chose, not a new random pick.
        picked = " ".join(map(str, res.attempts[0].servers))
        out.replay = f"propose {quote(value)} {picked}" + (f" --id {n}" if n is not None else "")
    return out


def _progress(ctx: Context, event: ProposeEvent, value: str) -> None:
    """Show a propose as it runs; in presenter mode, explain each round and wait for the teacher."""
    ctx.show(progress_blocks(ctx, event, value))
    if not ctx.out.present or not isinstance(event, (Prepared, Accepted)):
        return
    round_result = event.attempt.prepare if isinstance(event, Prepared) else event.attempt.accept
    ctx.show([Text(s, Style.DIM, indent=2) for s in explain(round_result)])
    if ctx.pause is not None:
        ctx.pause("Enter for the next round")


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
        return [Text(""), Text(f"Sending accept requests with value: {show_value(acc.value)}"),
                Table("", REPLY_COLUMNS, reply_rows(acc.round.replies))]
    if isinstance(event, Retrying):
        return [Text(f"Retry {event.attempt} after {event.pause * 1000:.0f} ms backoff", Style.DIM), Text("")]
    return []


def propose_result(res: ProposeResult) -> Result:
    out = Result("propose", ok=res.ok)
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
