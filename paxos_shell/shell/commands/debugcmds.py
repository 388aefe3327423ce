"""Debugging commands: check, ping, bench, and fault injection (delay, drop, heal)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from paxos_shell.core.options import parse_int
from paxos_shell.core.text import counted, visible
from paxos_shell.core.wire import ReplyKind
from paxos_shell.engine.proposer import Engine
from paxos_shell.engine.session import Session
from paxos_shell.knowledge.proposers import ProposerViolation
from paxos_shell.shell.context import Context
from paxos_shell.shell.formats import latency_cell, ms, to_ms
from paxos_shell.shell.registry import ArgKind, Args, Group, UsageError, command
from paxos_shell.shell.results import Column, Result, Style, Table

K = ArgKind


@command(
    "check", "check",
    "judge the pool from everything seen: Paxos invariants, with the replies that prove a violation",
    "Reads a fresh state from every acceptor, then checks the whole history: at most one value "
    "chosen; acceptedId never above promisedId; one value per proposal id; ids never decreasing "
    "on an acceptor (across restarts too); every reply consistent with the rules. Proposers too, "
    "the shell's own (shell, shell:NAME) and those seen through watch: no accept before a quorum of "
    "promises for its id (accept-without-quorum), no value but the one the promises allow "
    "(accept-wrong-value), one value per id (id-reused). Each violation is named with the replies "
    "that prove it. Pointed at someone else's acceptors, this is the debugging tool.",
    "check",
    group=Group.TEACH, saved=False,
)
def cmd_check(ctx: Context, args: Args) -> Result:
    ctx.engine.state()
    found = ctx.session.knowledge.violations()
    judge = ctx.session.knowledge.proposers
    by_proposers = judge.violations()
    replies = len(ctx.session.history)
    broken = len(found) + len(by_proposers)
    out = Result("check", ok=not broken, failure=f"{counted(broken, 'rule')} broken", data={
        "ok": not broken, "replies": replies,
        "violations": [{"rule": str(v.rule), "proposer": None, "sentence": v.sentence(),
                        "evidence": [e.said() for e in v.evidence]} for v in found]
        + [proposer_json(v) for v in by_proposers],
        "proposerViolationsNotKept": judge.more})
    if not broken:
        out.say(f"OK: no violation in {counted(replies, 'reply', 'replies')} (quorum {ctx.session.quorum}).",
                Style.GOOD)
    for v in found:
        out.say(f"VIOLATION: {v.sentence()}.", Style.BAD)
        for e in v.evidence:
            out.say(f"{e.said()} ({e.asked()})", indent=4)
    for p in by_proposers:
        out.say(f"PROPOSER VIOLATION: {p.sentence()}.", Style.BAD)
        for x in p.evidence:
            out.say(x.said(), indent=4)
    if judge.more:
        out.say(f"And {counted(judge.more, 'more proposer violation')}, not kept (the first {len(by_proposers)} are).",
                Style.BAD)
    # A caveat qualifies a guarantee; after a violation there is none left to qualify.
    caveats = () if found else ctx.session.outlook().shown_caveats()
    for c in caveats:
        out.say(f"Note: {c.sentence()}.", Style.WARN)
    return out


def proposer_json(v: ProposerViolation) -> dict[str, Any]:
    """A proposer violation in --json: rule, proposer, id, why, and each exchange of its evidence."""
    return {"rule": str(v.rule), "proposer": visible(v.proposer), "id": v.proposal_id, "sentence": v.sentence(),
            "evidence": [{"proposer": visible(e.proposer), "round": e.observation.round_no,
                          "acceptor": e.observation.acceptor, "request": e.observation.asked(),
                          "outcome": str(e.observation.outcome), "said": e.said()} for e in v.evidence]}


PING_COLUMNS = (
    Column("server", "server"),
    Column("replies", "replies", cell=lambda r: f"{r['replies']}/{r['sent']}"),
    Column("minMs", "min", fmt=latency_cell),
    Column("medianMs", "median", fmt=latency_cell),
    Column("maxMs", "max", fmt=latency_cell),
    Column("error", "last error", fmt=lambda v: v or "", shrink=True),
)


@command(
    "ping", "ping [SERVER...] [--count N]",
    "latency of each acceptor over several state requests",
    "Sends N (default 5) state reads to each acceptor, all acceptors at once, and shows the fastest, "
    "median and slowest reply. Not recorded in the history: it is not part of Paxos.",
    "ping 1 2",
    flags={"--count": K.COUNT}, positional=(K.SERVERS,), group=Group.TEACH, saved=False,
)
def cmd_ping(ctx: Context, args: Args) -> Result:
    n = parse_int(args.text("--count") or 5, "count", 1, 1000)
    servers = ctx.engine.servers(args.acceptor_ids())
    times: dict[int, list[float]] = {i: [] for i in servers}
    lost: dict[int, str] = {}
    for _ in range(n):
        rnd = ctx.client.state(servers)
        for r in rnd.replies:
            if r.kind == ReplyKind.OK:
                times[r.acceptor].append(r.latency)
            else:
                lost[r.acceptor] = r.cause or "no response"
        if rnd.interrupted:
            break
    rows = []
    for i in servers:
        t = sorted(times[i])
        rows.append({"server": i, "replies": len(t), "sent": n, "minMs": to_ms(t[0]) if t else None,
                     "medianMs": to_ms(statistics.median(t)) if t else None, "maxMs": to_ms(t[-1]) if t else None,
                     "error": lost.get(i)})
    out = Result("ping", ok=all(times.values()), failure="an acceptor did not answer")
    return out.show(Table("acceptors", PING_COLUMNS, tuple(rows), by="server"))


@dataclass
class BenchRun:
    """What `bench` measured: one latency per proposal, and how many ran both phases."""

    times: list[float] = field(default_factory=list)
    both_phases: int = 0
    chosen: int = 0
    interrupted: bool = False
    elapsed: float = 0.0


def _bench(ctx: Context, count: int) -> BenchRun:
    """COUNT full proposals on a scratch session, so the lesson's history stays readable."""
    scratch = Session(ctx.session.acceptors)
    scratch.proposer.number = ctx.session.proposer.number
    scratch.proposer.seen = max(ctx.session.highest_seen, ctx.session.proposer.seen)
    eng = Engine(ctx.client, scratch)
    run = BenchRun()
    started = time.perf_counter()
    try:
        for k in range(count):
            t0 = time.perf_counter()
            res = eng.propose(f"bench-{k}", early_stop=False)
            if any(a.prepare.round.interrupted or (a.accept and a.accept.round.interrupted) for a in res.attempts):
                run.interrupted = True  # Ctrl-C in a round: it returned early, so it is not a figure
                break
            run.times.append(time.perf_counter() - t0)
            last = res.attempts[-1] if res.attempts else None
            run.both_phases += bool(last and last.accept is not None)
            run.chosen += res.ok
            ctx.out.progress(k + 1, count)
    except KeyboardInterrupt:
        run.interrupted = True
    run.elapsed = time.perf_counter() - started
    ctx.out.progress_done()
    ctx.session.highest_seen = max(ctx.session.highest_seen, scratch.highest_seen)
    ctx.session.proposer.seen = max(ctx.session.proposer.seen, scratch.proposer.seen)
    return run


@command(
    "bench", "bench [COUNT]",
    "COUNT full proposals (both phases each), then latency percentiles and throughput",
    "Runs COUNT (default 100) proposals one after another, each a prepare round and an accept round "
    "(phase 2 runs every time, even when the promises show the value already chosen), with a "
    "progress bar; one Ctrl-C stops it with the figures of the proposals that "
    "finished (one cut short is not counted). The proposals are kept out of the "
    "history so they do not bury the lesson.",
    "bench 200",
    positional=(K.NUMBER,), group=Group.TEACH, saved=False,
)
def cmd_bench(ctx: Context, args: Args) -> Result:
    count = parse_int(args.positional[0], "count", 1, 100_000) if args.positional else 100
    run = _bench(ctx, count)
    if not run.times:
        raise UsageError("bench: interrupted before any proposal finished")
    s = sorted(run.times)

    def pct(p: float) -> float:
        return s[min(len(s) - 1, int(len(s) * p))]

    data: dict[str, Any] = {
        "proposals": len(s), "bothPhases": run.both_phases, "consensus": run.chosen, "interrupted": run.interrupted,
        "p50Ms": to_ms(pct(0.5)), "p90Ms": to_ms(pct(0.9)), "p99Ms": to_ms(pct(0.99)), "maxMs": to_ms(s[-1]),
        "perSecond": round(len(s) / run.elapsed, 1)}
    rows = ({"k": "proposals", "v": f"{len(s)}" + (" (interrupted)" if run.interrupted else "")},
            {"k": "both phases ran", "v": f"{run.both_phases}/{len(s)}"},
            {"k": "consensus", "v": f"{run.chosen}/{len(s)}"},
            *({"k": p, "v": ms(pct(q))} for p, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))),
            {"k": "max", "v": ms(s[-1])}, {"k": "throughput", "v": f"{len(s) / run.elapsed:.0f} proposals/s"})
    out = Result("bench", ok=run.chosen == len(s) and not run.interrupted, data=data,
                 failure="interrupted" if run.interrupted else "not every proposal reached consensus")
    return out.show(Table("", (Column("k", "bench"), Column("v", "")), rows))


# -- fault injection --------------------------------------------------------------


def _describe_faults(f: dict[str, Any]) -> str:
    return ", ".join(x for x in (
        f"delay {f['delay_ms']} ms" if f.get("delay_ms") else "",
        f"drop {f['drop_requests']}% requests" if f.get("drop_requests") else "",
        f"drop {f['drop_replies']}% replies" if f.get("drop_replies") else "") if x)


def _faults(ctx: Context, ids: list[int], query: str) -> Result:
    ids = ctx.engine.servers(ids)
    out = Result("faults", data={"acceptors": {}})
    for i in ids:
        try:
            f = ctx.client.admin_faults(i, query)
        except (OSError, ValueError) as e:
            raise UsageError(f"acceptor {i}: {e}") from None
        text = _describe_faults(f)
        ctx.session.faults_changed(i, text)
        out.data["acceptors"][str(i)] = {"delayMs": f.get("delay_ms"), "dropRequests": f.get("drop_requests"),
                                         "dropReplies": f.get("drop_replies"), "faults": text or None}
        out.say(f"Acceptor {i}: {text or 'no faults'}")
    return out


@command(
    "delay", "delay ID MS",
    "delay every request to an acceptor by MS milliseconds (acceptors started with --faults)",
    "A slow acceptor is not a failed one: Paxos waits for a quorum, not for everyone. Combine "
    "with `set timeout` to see a slow acceptor become a timeout.",
    "delay 2 300",
    positional=(K.SERVER, K.NUMBER), group=Group.TEACH,
)
def cmd_delay(ctx: Context, args: Args) -> Result:
    if len(args.positional) != 2:
        raise UsageError("delay: expected ID MS, e.g. 'delay 2 300'")
    i = parse_int(args.positional[0], "acceptor id", 1)
    return _faults(ctx, [i], f"delay_ms={parse_int(args.positional[1], 'delay', 0, 600_000)}")


@command(
    "drop", "drop ID requests|replies PERCENT",
    "lose a share of an acceptor's requests (before it acts) or replies (after it acted)",
    "Dropping a request loses the message before the acceptor sees it. Dropping a reply loses it "
    "after the acceptor changed its state: the acceptor promised or accepted, but the proposer "
    "never hears it. That is how a value gets chosen without the proposer knowing.",
    "drop 1 replies 100",
    positional=(K.SERVER, K.CHOICE, K.NUMBER), group=Group.TEACH, choices=(("requests", "replies"),),
)
def cmd_drop(ctx: Context, args: Args) -> Result:
    if len(args.positional) != 3 or args.positional[1] not in ("requests", "replies"):
        raise UsageError("drop: expected ID requests|replies PERCENT, e.g. 'drop 1 replies 100'")
    i = parse_int(args.positional[0], "acceptor id", 1)
    pct = parse_int(args.positional[2], "percent", 0, 100)
    return _faults(ctx, [i], f"drop_{args.positional[1]}={pct}")


@command(
    "heal", "heal [ID...]",
    "remove injected faults (default: from every acceptor)",
    "Undoes delay and drop, so messages flow normally again.",
    "heal",
    positional=(K.SERVERS,), group=Group.TEACH,
)
def cmd_heal(ctx: Context, args: Args) -> Result:
    named = args.acceptor_ids()
    ids = named or sorted(ctx.client.urls)
    if not named and ctx.pool.local is not None:
        ids = [i for i in ids if ctx.pool.local.is_up(i)]  # a down acceptor has no faults to heal
    return _faults(ctx, ids, "delay_ms=0&drop_requests=0&drop_replies=0")
