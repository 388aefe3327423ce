"""The Paxos commands: state, prepare, accept and propose (the seed's four scripts).

Each sends its round through the Engine, which records it and returns what
Paxos decided; these handlers only turn that into a Result. Wording follows
the seed scripts (`Contacting servers`, `Received promise from`, `Consensus
Reached`) so their users feel at home.
"""

from __future__ import annotations

from typing import Any, Optional

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
    out.say(chosen_line(ctx))
    out.data["chosen"] = [{"proposalId": c.proposal_id, "value": c.value, "acceptors": list(c.acceptors)}
                          for c in ctx.session.chosen()]
    return out


def chosen_line(ctx: Context) -> str:
    chosen = ctx.session.chosen()
    s = ctx.session
    if not chosen:
        return f"No value is chosen yet (quorum is {s.quorum} of {s.pool_size})."
    values = {c.value for c in chosen}
    c = chosen[-1]
    text = (f"Chosen: {show_value(c.value)} (accepted at id {c.proposal_id} by acceptors "
            f"{list(c.acceptors)}, quorum {s.quorum})")
    if len(values) > 1:
        text += f" - SAFETY VIOLATION: {len(values)} different values were chosen: " + ", ".join(
            f"{show_value(x.value)}@{x.proposal_id}" for x in chosen)
    return text


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
    n = ctx.session.next_id() if n is None else n
    ctx.show([Text(f"Contacting servers: {servers}"), Text(f"ID: {n}")])  # before the wait: context
    res = ctx.engine.prepare(n, servers)
    ctx.remember(res)
    out = Result("prepare", ok=res.reached)
    prepare_blocks(ctx, res, out)
    return out


def prepare_blocks(ctx: Context, res: PrepareResult, out: Result) -> None:
    """The replies, the quorum verdict and what to do next, plus their JSON."""
    out.show(Table("replies", REPLY_COLUMNS, reply_rows(res.round.replies)))
    if res.round.interrupted:
        out.say("Interrupted: acceptors that had not answered are marked 'interrupted'.", Style.WARN)
    out.say(f"Received promise from: {res.promised}")
    advice = prepare_advice(ctx, res)
    if res.reached:
        out.say(f"Quorum reached: {len(res.promised)} of {ctx.session.pool_size} promised id {res.n} "
                f"(quorum {res.quorum}).", Style.GOOD)
    else:
        out.say(f"Quorum not reached: {len(res.promised)} promise(s), {res.quorum} needed.", Style.BAD)
    out.say(advice)
    out.data.update({
        "id": res.n, "servers": [r.acceptor for r in res.round.replies], "promisedBy": res.promised,
        "quorum": res.quorum, "quorumReached": res.reached,
        "requiredValue": res.choice.value if res.choice and res.choice.forced_by else None,
        "next": advice, "interrupted": res.round.interrupted,
    })


def prepare_advice(ctx: Context, res: PrepareResult) -> str:
    if res.prior_chosen is not None:
        c = res.prior_chosen
        return (f"Already chosen: {show_value(c.value)} at id {c.proposal_id} by {list(c.acceptors)}; "
                f"any accept must carry it. Next: accept {res.n} {_q(c.value)}")
    if res.reached and res.choice is not None:
        if res.choice.forced_by is not None:
            return (f"Paxos requires value {show_value(res.choice.value)}: {res.choice.reason}. "
                    f"Next: accept {res.n} {_q(res.choice.value)}")
        value = ctx.session.proposer.client_value
        return f"No promise carried a value, so any value is safe. Next: accept {res.n} " + (
            _q(value) if value is not None else "VALUE")
    if res.higher is not None and res.higher >= res.n:
        return f"An acceptor has promised {res.higher}; ids at or below it are refused. Next: prepare {res.next_id}"
    return f"Paxos cannot go on with id {res.n} without a quorum. Next: prepare {res.next_id} (or wait for acceptors)"


def _q(value: Optional[str]) -> str:
    return quote(value or "")


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
    if res.forced and not res.safety.safe:
        out.say(f"WARNING: sent with --force although it is unsafe: {res.safety.reason}", Style.BAD)
    out.show(Table("replies", REPLY_COLUMNS, reply_rows(res.round.replies)))
    if res.round.interrupted:
        out.say("Interrupted: acceptors that had not answered are marked 'interrupted'.", Style.WARN)
    out.say(f"Received accepts from: {list(res.outcome.accepted_by)}")
    verdict = res.outcome.verdict
    if verdict == Verdict.CHOSEN:
        out.say(f"Chosen: {show_value(res.value)} at id {res.n} ({res.outcome.reason}).", Style.GOOD)
    elif verdict == Verdict.UNKNOWN:
        out.say(f"Outcome unknown: {res.outcome.reason}.", Style.WARN)
    else:
        out.say(f"Not chosen by this round: {res.outcome.reason}.", Style.BAD)
    if verdict != Verdict.CHOSEN and res.chosen:
        out.say(chosen_line(ctx))
    out.data.update({
        "id": res.n, "value": res.value, "servers": [r.acceptor for r in res.round.replies],
        "acceptedBy": list(res.outcome.accepted_by), "outcome": str(verdict), "reason": res.outcome.reason,
        "forced": res.forced, "safe": res.safety.safe, "interrupted": res.round.interrupted,
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
