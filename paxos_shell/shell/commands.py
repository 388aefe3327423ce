"""The Paxos commands: state, prepare, accept and propose (the seed's four scripts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..paxos import MAX_ID, Verdict
from ..proposer import AcceptResult, Attempt, PrepareResult, StateResult
from ..wire import NO_RESPONSE, OK
from .registry import COUNT, FLAG, ID, SERVERS, VALUE, Args, UsageError, command, is_int, quote, to_int
from .render import REPLY_HEADERS, ms, reply_json, reply_rows, show_value

if TYPE_CHECKING:
    from .app import Shell


def _servers(args: Args, rest: list[str]) -> Optional[list[int]]:
    raw = list(rest) + list(args.get("--server-ids", []) or [])  # type: ignore[arg-type]
    if not raw:
        return None
    return [to_int(s, "acceptor id", 1) for s in raw]


def _id(text: object) -> int:
    return to_int(text, "id", 0, MAX_ID)


def _take_id(args: Args, pos: list[str]) -> Optional[int]:
    """--id N, or an integer first positional ("an integer first argument is the id")."""
    if args.get("--id") is not None:
        return _id(args.get("--id"))
    if pos and is_int(pos[0]):
        return _id(pos.pop(0))
    return None


# -- state ----------------------------------------------------------------------


@command(
    "state", "state [SERVER...]",
    "every acceptor's promisedId, acceptedId and acceptedValue, and what is chosen",
    "Reads each acceptor's state directly (not part of the protocol: a real proposer never "
    "sees it). A value is chosen once a quorum of acceptors accepted it at the same proposal "
    "id; from then on every later proposal carries that value, so it can never change.",
    "state",
    aliases=("get-state",), flags={"--server-ids": SERVERS}, positional=(SERVERS,),
)
def cmd_state(sh: Shell, args: Args) -> int:
    res = sh.engine.state(_servers(args, args.positional))
    sh.remember(res)
    render_state(sh, res)
    return 0 if any(r.kind == OK for r in res.round.replies) else 1


def render_state(sh: Shell, res: StateResult) -> None:
    out = sh.out
    data: dict[str, object] = {}
    rows = []
    for r in res.round.replies:
        if r.kind == OK:
            data[str(r.acceptor)] = {"promisedId": r.promised_id, "acceptedId": r.accepted_id,
                                     "acceptedValue": r.accepted_value}
            rows.append([str(r.acceptor), out.paint("up", OK), str(r.promised_id), str(r.accepted_id),
                         show_value(r.accepted_value), ms(r.latency)])
        else:
            data[str(r.acceptor)] = {"error": r.cause}
            status = sh.session.statuses.get(r.acceptor)
            label = status.kind if status else "error"
            rows.append([str(r.acceptor), out.paint(label, NO_RESPONSE), "-", "-", "-", r.cause or ""])
    out.table(("server", "status", "promisedId", "acceptedId", "acceptedValue", "latency"), rows)
    out.line(chosen_line(sh))
    out.emit(data)


def chosen_line(sh: Shell) -> str:
    chosen = sh.session.chosen()
    if not chosen:
        return f"No value is chosen yet (quorum is {sh.session.quorum} of {sh.session.pool_size})."
    values = {c.value for c in chosen}
    c = chosen[-1]
    text = (f"Chosen: {show_value(c.value)} (accepted at id {c.proposal_id} by acceptors "
            f"{list(c.acceptors)}, quorum {sh.session.quorum})")
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
    flags={"--id": ID, "--server-ids": SERVERS}, positional=(ID, SERVERS),
)
def cmd_prepare(sh: Shell, args: Args) -> int:
    pos = list(args.positional)
    n = _take_id(args, pos)
    servers = sh.engine.servers(_servers(args, pos))
    n = sh.session.next_id() if n is None else n
    sh.out.line(f"Contacting servers: {servers}")  # before the round: the wait has a context
    sh.out.line(f"ID: {n}")
    res = sh.engine.prepare(n, servers)
    sh.remember(res)
    render_prepare(sh, res)
    return 0 if res.reached else 1


def render_prepare(sh: Shell, res: PrepareResult, emit: bool = True) -> None:
    out = sh.out
    servers = [r.acceptor for r in res.round.replies]
    out.table(REPLY_HEADERS, reply_rows(out, res.round.replies))
    if res.round.interrupted:
        out.line("Interrupted: acceptors that had not answered are marked 'interrupted'.", "warn")
    out.line(f"Received promise from: {res.promised}")
    advice = prepare_advice(sh, res)
    if res.reached:
        out.line(f"Quorum reached: {len(res.promised)} of {sh.session.pool_size} promised id {res.n} "
                 f"(quorum {res.quorum}).", "good")
    else:
        out.line(f"Quorum not reached: {len(res.promised)} promise(s), {res.quorum} needed.", "bad")
    out.line(advice)
    if emit:
        out.emit(prepare_json(res, servers, advice))


def prepare_json(res: PrepareResult, servers: list[int], advice: str) -> dict:
    return {
        "command": "prepare", "id": res.n, "servers": servers,
        "replies": [reply_json(r) for r in res.round.replies],
        "promisedBy": res.promised, "quorum": res.quorum, "quorumReached": res.reached,
        "requiredValue": res.choice.value if res.choice and res.choice.forced_by else None,
        "next": advice, "interrupted": res.round.interrupted,
    }


def prepare_advice(sh: Shell, res: PrepareResult) -> str:
    if res.prior_chosen is not None:
        c = res.prior_chosen
        return (f"Already chosen: {show_value(c.value)} at id {c.proposal_id} by {list(c.acceptors)}; "
                f"any accept must carry it. Next: accept {res.n} {_q(c.value)}")
    if res.reached and res.choice is not None:
        if res.choice.forced_by is not None:
            return f"Paxos requires value {show_value(res.choice.value)}: {res.choice.reason}. " \
                   f"Next: accept {res.n} {_q(res.choice.value)}"
        value = sh.session.proposer.client_value
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
    flags={"--id": ID, "--value": VALUE, "--server-ids": SERVERS, "--force": FLAG},
    positional=(ID, VALUE, SERVERS),
)
def cmd_accept(sh: Shell, args: Args) -> int:
    pos = list(args.positional)
    n = _take_id(args, pos)
    value = args.get("--value")
    if value is None and pos:
        value = pos.pop(0)
    res = sh.engine.accept(n, value if value is None else str(value), _servers(args, pos),
                           force=bool(args.get("--force")))
    sh.remember(res)
    render_accept(sh, res, header=True)
    return 0 if res.outcome.verdict == Verdict.CHOSEN else 1


def render_accept(sh: Shell, res: AcceptResult, header: bool) -> None:
    out = sh.out
    servers = [r.acceptor for r in res.round.replies]
    if header:
        out.line(f"Contacting servers: {servers}")
        out.line(f"ID: {res.n}")
        out.line(f"Client value: {show_value(res.value)}")
    if res.forced and not res.safety.safe:
        out.line(f"WARNING: sent with --force although it is unsafe: {res.safety.reason}", "bad")
    out.table(REPLY_HEADERS, reply_rows(out, res.round.replies))
    if res.round.interrupted:
        out.line("Interrupted: acceptors that had not answered are marked 'interrupted'.", "warn")
    out.line(f"Received accepts from: {list(res.outcome.accepted_by)}")
    verdict = res.outcome.verdict
    if verdict == Verdict.CHOSEN:
        out.line(f"Chosen: {show_value(res.value)} at id {res.n} ({res.outcome.reason}).", "good")
    elif verdict == Verdict.UNKNOWN:
        out.line(f"Outcome unknown: {res.outcome.reason}.", "warn")
    else:
        out.line(f"Not chosen by this round: {res.outcome.reason}.", "bad")
    if verdict != Verdict.CHOSEN and res.chosen:
        out.line(chosen_line(sh))
    out.emit({
        "command": "accept", "id": res.n, "value": res.value, "servers": servers,
        "replies": [reply_json(r) for r in res.round.replies],
        "acceptedBy": list(res.outcome.accepted_by), "outcome": verdict, "reason": res.outcome.reason,
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
    flags={"--id": ID, "--value": VALUE, "--server-ids": SERVERS, "--contact-count": COUNT, "--retry": COUNT},
    positional=(VALUE, SERVERS),
)
def cmd_propose(sh: Shell, args: Args) -> int:
    pos = list(args.positional)
    value = args.get("--value")
    if value is None:
        if not pos:
            raise UsageError("propose: missing value (propose VALUE [SERVER...])")
        value = pos.pop(0)
    n = _id(args.get("--id")) if args.get("--id") is not None else None
    count = args.get("--contact-count")
    retry = to_int(args.get("--retry", 0), "retry count", 0, 100)
    servers = _servers(args, pos)
    out = sh.out

    def step(kind: str, data: object) -> None:
        if kind == "start":
            targets, n_try = data  # type: ignore[misc]
            out.line(f"Contacting servers: {targets}")
            out.line(f"Proposal ID: {n_try}")
            out.line(f"Client value: {show_value(str(value))}")
        elif kind == "prepare":
            att: Attempt = data  # type: ignore[assignment]
            render_prepare(sh, att.prepare, emit=False)
            ch = att.prepare.choice
            if ch is not None and ch.overridden and ch.forced_by is not None:
                out.line("")
                out.line("Client value overridden due to prior accepted value:", "warn")
                out.line(f"  acceptor={ch.forced_by.acceptor}, acceptedId={ch.forced_by.accepted_id}, "
                         f"value={show_value(ch.value)}")
        elif kind == "early":
            out.line("")
            out.line("Consensus already reached during prepare phase:", "good")
            out.line(f"  acceptedId={data.proposal_id}, value={show_value(data.value)}")  # type: ignore[attr-defined]
        elif kind == "accept":
            att = data  # type: ignore[assignment]
            assert att.accept is not None
            out.line("")
            out.line(f"Sending accept requests with value: {show_value(att.accept.value)}")
            out.table(REPLY_HEADERS, reply_rows(out, att.accept.round.replies))
        elif kind == "retry":
            attempt, pause = data  # type: ignore[misc]
            out.line(f"Retry {attempt} after {pause * 1000:.0f} ms backoff", "dim")
            out.line("")

    res = sh.engine.propose(
        str(value), servers, n,
        to_int(count, "contact count", 1) if count is not None else None, retry, step,
    )
    sh.remember(res)
    last = res.attempts[-1] if res.attempts else None
    if not res.early:
        out.line("")
        out.line("--- Result ---")
        if last is not None and last.accept is not None:
            out.line(f"Accept attempts sent to servers: {[r.acceptor for r in last.accept.round.replies]}")
            out.line(f"Accepts received from servers: {list(last.accept.outcome.accepted_by)}")
        out.line("")
        if res.verdict == Verdict.CHOSEN:
            out.line("Consensus Reached", "good")
            out.line(f"  proposalId={res.proposal_id}")
            out.line(f"  value={show_value(res.value)}")
        elif res.verdict == Verdict.UNKNOWN:
            out.line("Outcome unknown", "warn")
            out.line(f"  {res.reason}")
        else:
            out.line("No Consensus", "bad")
            out.line(f"  {res.reason}")
    out.emit({
        "command": "propose", "clientValue": res.client_value, "outcome": res.verdict,
        "consensus": res.ok, "proposalId": res.proposal_id, "value": res.value, "reason": res.reason,
        "earlyDecision": res.early,
        "attempts": [
            {"id": a.prepare.n, "servers": a.servers,
             "prepare": [reply_json(r) for r in a.prepare.round.replies],
             "accept": [reply_json(r) for r in a.accept.round.replies] if a.accept else None}
            for a in res.attempts
        ],
    })
    return 0 if res.ok else 1
