"""Debugging commands: check, ping, bench, and fault injection (delay, drop, heal)."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

from ..check import check
from ..proposer import Engine
from ..session import Session
from ..wire import OK
from .registry import COUNT, NUMBER, SERVER, SERVERS, TEXT, Args, UsageError, command, to_int
from .render import ms

if TYPE_CHECKING:
    from .app import Shell


@command(
    "check", "check",
    "judge the pool from everything seen: Paxos invariants, with the replies that prove a violation",
    "Reads a fresh state from every acceptor, then checks the whole history: at most one value "
    "chosen; acceptedId never above promisedId; one value per proposal id; ids never decreasing "
    "on an acceptor (across restarts too); every reply consistent with the rules. Each violation "
    "is named with the replies that prove it. Pointed at someone else's acceptors, this is the "
    "debugging tool.",
    "check",
    group="teach",
)
def cmd_check(sh: Shell, args: Args) -> int:
    sh.engine.state()
    found = check(sh.session.history, sh.session.pool_size, sh.session.epochs)
    replies = len(sh.session.history)
    if not found:
        sh.out.line(f"OK: no violation in {replies} replies (quorum {sh.session.quorum}).", "good")
    for v in found:
        sh.out.line(f"VIOLATION ({v.rule}): {v.message}", "bad")
        for e in v.evidence:
            sh.out.line(f"    {e}")
    sh.out.emit({"command": "check", "ok": not found, "replies": replies,
                 "violations": [{"rule": v.rule, "message": v.message, "evidence": v.evidence} for v in found]})
    return 0 if not found else 1


@command(
    "ping", "ping [SERVER...] [--count N]",
    "latency of each acceptor over several state requests",
    "Sends N (default 5) state reads to each acceptor, all acceptors at once, and shows the fastest, "
    "median and slowest reply. Not recorded in the history: it is not part of Paxos.",
    "ping 1 2",
    flags={"--count": COUNT}, positional=(SERVERS,), group="teach",
)
def cmd_ping(sh: Shell, args: Args) -> int:
    n = to_int(args.get("--count", 5), "count", 1, 1000)
    servers = sh.engine.servers([to_int(x, "acceptor id", 1) for x in args.positional] or None)
    times: dict[int, list[float]] = {i: [] for i in servers}
    lost: dict[int, str] = {}
    for _ in range(n):
        rnd = sh.client.state(servers)
        for r in rnd.replies:
            if r.kind == OK:
                times[r.acceptor].append(r.latency)
            else:
                lost[r.acceptor] = r.cause or "no response"
        if rnd.interrupted:
            break
    rows, data = [], {}
    for i in servers:
        t = sorted(times[i])
        row = [min(t), statistics.median(t), max(t)] if t else [None, None, None]
        rows.append([str(i), f"{len(t)}/{n}"] + [ms(x) for x in row] + [lost.get(i, "")])
        data[str(i)] = {"replies": len(t), "sent": n, "minMs": _ms(row[0]), "medianMs": _ms(row[1]),
                        "maxMs": _ms(row[2]), "error": lost.get(i)}
    sh.out.table(("server", "replies", "min", "median", "max", "last error"), rows)
    sh.out.emit({"command": "ping", "acceptors": data})
    return 0 if all(times.values()) else 1


def _ms(x: object) -> object:
    return round(x * 1000, 3) if isinstance(x, float) else None


@command(
    "bench", "bench [COUNT]",
    "COUNT full proposals against the pool, then latency percentiles and throughput",
    "Runs COUNT (default 100) proposals one after another, each a prepare and an accept round, "
    "with a progress bar. The first proposal may choose a value; the rest re-propose it. The "
    "proposals are kept out of the history so they do not bury the lesson.",
    "bench 200",
    positional=(NUMBER,), group="teach",
)
def cmd_bench(sh: Shell, args: Args) -> int:
    count = to_int(args.positional[0], "count", 1, 100_000) if args.positional else 100
    scratch = Session(sh.session.pool_size)
    scratch.proposer.number = sh.session.proposer.number
    scratch.proposer.seen = max(sh.session.highest_seen, sh.session.proposer.seen)
    eng = Engine(sh.client, scratch)
    times, ok = [], 0
    bar = not sh.out.json and getattr(sh.out.stream, "isatty", lambda: False)()
    started = time.perf_counter()
    try:
        for k in range(count):
            t0 = time.perf_counter()
            res = eng.propose(f"bench-{k}")
            times.append(time.perf_counter() - t0)
            ok += res.ok
            if bar and (k % max(1, count // 50) == 0 or k == count - 1):
                done = (k + 1) * 30 // count
                sh.out.stream.write(f"\r[{'#' * done}{'.' * (30 - done)}] {k + 1}/{count}")
                sh.out.stream.flush()
    except KeyboardInterrupt:
        sh.out.line("")
        sh.out.line("interrupted", "warn")
    total = time.perf_counter() - started
    if bar:
        sh.out.stream.write("\n")
    sh.session.highest_seen = max(sh.session.highest_seen, scratch.highest_seen)
    sh.session.proposer.seen = max(sh.session.proposer.seen, scratch.proposer.seen)
    if not times:
        return 1
    s = sorted(times)

    def pct(p: float) -> float:
        return s[min(len(s) - 1, int(len(s) * p))]

    rows = [["proposals", str(len(s))], ["consensus", f"{ok}/{len(s)}"], ["p50", ms(pct(0.5))],
            ["p90", ms(pct(0.9))], ["p99", ms(pct(0.99))], ["max", ms(s[-1])],
            ["throughput", f"{len(s) / total:.0f} proposals/s"]]
    sh.out.table(("bench", ""), rows)
    sh.out.emit({"command": "bench", "proposals": len(s), "consensus": ok, "p50Ms": _ms(pct(0.5)),
                 "p90Ms": _ms(pct(0.9)), "p99Ms": _ms(pct(0.99)), "perSecond": round(len(s) / total, 1)})
    return 0 if ok == len(s) else 1


# -- fault injection --------------------------------------------------------------


def _faults(sh: Shell, ids: list[int], query: str) -> int:
    if sh.pool.local is None:
        raise UsageError("fault injection needs the local pool (its acceptors run with --faults)")
    for i in ids:
        if i not in sh.client.urls:
            raise UsageError(f"unknown acceptor {i}: the pool is 1..{len(sh.client.urls)}")
    done = {}
    for i in ids:
        try:
            f = sh.client.admin_faults(i, query)
        except (OSError, ValueError) as e:
            sh.out.error(f"acceptor {i}: {e}")
            return 1
        text = ", ".join(x for x in (
            f"delay {f['delay_ms']} ms" if f["delay_ms"] else "",
            f"drop {f['drop_requests']}% requests" if f["drop_requests"] else "",
            f"drop {f['drop_replies']}% replies" if f["drop_replies"] else "") if x)
        if text:
            sh.faults[i] = text
        else:
            sh.faults.pop(i, None)
        done[str(i)] = f
        sh.out.line(f"Acceptor {i}: {text or 'no faults'}")
    sh.out.emit({"command": "faults", "acceptors": done})
    return 0


@command(
    "delay", "delay ID MS",
    "delay every request to an acceptor by MS milliseconds (local pool)",
    "A slow acceptor is not a failed one: Paxos waits for a quorum, not for everyone. Combine "
    "with `set timeout` to see a slow acceptor become a timeout.",
    "delay 2 300",
    positional=(SERVER, NUMBER), group="teach",
)
def cmd_delay(sh: Shell, args: Args) -> int:
    if len(args.positional) != 2:
        raise UsageError("delay: expected ID MS, e.g. 'delay 2 300'")
    i = to_int(args.positional[0], "acceptor id", 1)
    return _faults(sh, [i], f"delay_ms={to_int(args.positional[1], 'delay', 0, 600_000)}")


@command(
    "drop", "drop ID requests|replies PERCENT",
    "lose a share of an acceptor's requests (before it acts) or replies (after it acted)",
    "Dropping a request loses the message before the acceptor sees it. Dropping a reply loses it "
    "after the acceptor changed its state: the acceptor promised or accepted, but the proposer "
    "never hears it. That is how a value gets chosen without the proposer knowing.",
    "drop 1 replies 100",
    positional=(SERVER, TEXT, NUMBER), group="teach",
)
def cmd_drop(sh: Shell, args: Args) -> int:
    if len(args.positional) != 3 or args.positional[1] not in ("requests", "replies"):
        raise UsageError("drop: expected ID requests|replies PERCENT, e.g. 'drop 1 replies 100'")
    i = to_int(args.positional[0], "acceptor id", 1)
    pct = to_int(args.positional[2], "percent", 0, 100)
    return _faults(sh, [i], f"drop_{args.positional[1]}={pct}")


@command(
    "heal", "heal [ID...]",
    "remove injected faults (default: from every acceptor)",
    "Undoes delay and drop, so messages flow normally again.",
    "heal",
    positional=(SERVERS,), group="teach",
)
def cmd_heal(sh: Shell, args: Args) -> int:
    named = [to_int(x, "acceptor id", 1) for x in args.positional]
    ids = named or sorted(sh.client.urls)
    if not named and sh.pool.local is not None:
        ids = [i for i in ids if sh.pool.local.is_up(i)]  # a down acceptor has no faults to heal
    return _faults(sh, ids, "delay_ms=0&drop_requests=0&drop_replies=0")

