"""The Paxos commands: state, prepare, accept and propose (the seed's four scripts).

Each sends its round through the Engine, which records it and returns what
Paxos decided; these handlers only turn that into a Result. Wording follows
the seed scripts (`Contacting servers`, `Received promise from`, `Consensus
Reached`) so their users feel at home.
"""

from __future__ import annotations

from typing import Any, Optional

from paxos_shell.core.options import is_whole_number
from paxos_shell.core.paxos import ValueChoice, Verdict
from paxos_shell.core.text import counted, listing, show_value, span
from paxos_shell.core.wire import ReplyKind
from paxos_shell.engine.results import AcceptResult, PrepareResult, StateResult
from paxos_shell.knowledge.outlook import Standing
from paxos_shell.shell.context import Context
from paxos_shell.shell.formats import REPLY_COLUMNS, latency_cell, reply_rows, to_ms
from paxos_shell.shell.registry import ArgKind, Args, command, to_id
from paxos_shell.shell.results import Column, Result, Style, Table, Text
from paxos_shell.shell.verdict import broken_here, lead_with_violations, standing

K = ArgKind


def _take_id(args: Args, pos: list[str], required_int: bool = False) -> Optional[int]:
    """--id N, or an integer first positional ("an integer first argument is the id")."""
    flag = args.text("--id")
    if flag is not None:
        return to_id(flag)
    if pos and (is_whole_number(pos[0]) or required_int):
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
    res = ctx.engine.state(args.acceptor_ids(args.positional))
    ctx.remember(res)
    return state_result(ctx, res)


def state_result(ctx: Context, res: StateResult) -> Result:
    records = tuple(_state_record(ctx, r) for r in res.round.replies)
    out = Result("state", ok=any(r.kind == ReplyKind.OK for r in res.round.replies), failure="no acceptor answered")
    out.show(Table("acceptors", STATE_COLUMNS, records, by="server"))
    for rec in records:
        if rec.get("error"):
            out.say(f"acceptor {rec['server']}: {rec['error']}", Style.BAD)
    broken_here(res.breaks, out)
    standing(ctx, res.outlook, out)
    return out


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
    servers = ctx.engine.servers(args.acceptor_ids(pos))
    n = ctx.engine.fresh_id() if n is None else n
    # Before the wait: context. `prepare 1 2 3` reads as "to 1, 2 and 3"; the line says which is the id.
    named = span(servers) if len(servers) > 2 else ", ".join(map(str, servers))
    to = f"acceptor{'s' if len(servers) != 1 else ''} {named}"
    ctx.show([Text(f"Contacting servers: {servers}"), Text(f"ID: {n} (prepare id {n} to {to})")])
    res = ctx.engine.prepare(n, servers)
    ctx.remember(res)
    out = Result("prepare", ok=res.quorum_reached, failure="no quorum of promises")
    prepare_blocks(ctx, res, out)
    return out


def prepare_blocks(ctx: Context, res: PrepareResult, out: Result) -> None:
    """The replies, the quorum verdict and what to do next, plus their JSON."""
    lead_with_violations(res.outlook, res.breaks, out)
    out.show(Table("replies", REPLY_COLUMNS, reply_rows(res.round.replies)))
    if res.round.interrupted:
        out.say("Interrupted: acceptors that had not answered are marked 'interrupted'.", Style.WARN)
    broken_here(res.breaks, out)
    for aside in res.set_aside:
        out.say(f"Set aside: {aside.sentence()}.", Style.BAD)
    out.say(f"Received promise from: {res.promised}")
    if res.quorum_reached:
        out.say(f"Quorum reached: {len(res.promised)} of {ctx.session.pool_size} promised id {res.n} "
                f"(quorum {res.quorum}).", Style.GOOD)
    else:
        out.say(f"Quorum not reached: {counted(len(res.promised), 'promise')}, {res.quorum} needed.", Style.BAD)
    if res.prior_chosen is not None:
        c = res.prior_chosen
        out.say(f"Already chosen: {show_value(c.value)} at id {c.proposal_id}: {listing(c.acceptors)}, "
                "a quorum, reported it in their promises, so any accept must carry it.")
    elif res.quorum_reached and res.choice is not None and res.choice.forced_by is not None:
        out.say(_rule_value(res.choice, res.hint.unsafe), Style.BAD if res.hint.unsafe else Style.PLAIN)
    out.say(res.hint.sentence())
    out.data.update({
        "id": res.n, "servers": [r.acceptor for r in res.round.replies], "promisedBy": res.promised,
        "quorum": res.quorum, "quorumReached": res.quorum_reached,
        "requiredValue": res.choice.value if res.choice and res.choice.forced_by else None,
        "requiredValueSafe": not res.hint.unsafe,
        "next": res.hint.command, "hint": res.hint.sentence(), "interrupted": res.round.interrupted,
        "setAside": [{"acceptor": a.acceptor, "reason": a.why()} for a in res.set_aside],
    })


def _rule_value(choice: ValueChoice, unsafe: bool) -> str:
    """The value the promises require; when the model refuses it (hints.Hint.unsafe), the line
    says so instead of calling it the value to accept, and the hint after it says why."""
    if not unsafe:
        return f"Value to accept: {show_value(choice.value)}, because {choice.reason}."
    p = choice.forced_by
    assert p is not None
    return (f"The rule's value is {show_value(choice.value)} (acceptor {p.acceptor} reported acceptedId="
            f"{p.accepted_id}, value={show_value(p.accepted_value)}, the highest among the promises), "
            "but it is not safe here:")


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
    res = ctx.engine.accept(n, value, args.acceptor_ids(pos), force=args.switch("--force"))
    ctx.remember(res)
    out = Result("accept", ok=res.outcome.verdict == Verdict.CHOSEN, failure=f"outcome {res.outcome.verdict}")
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
