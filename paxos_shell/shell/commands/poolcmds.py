"""Pool commands: pool, down, up, restart, reset (crash and recovery on the local pool)."""

from __future__ import annotations

from typing import Any, Callable

from paxos_shell.core.urls import redacted
from paxos_shell.engine.session import AcceptorStatus, PoolAction
from paxos_shell.pool.local import LocalPool
from paxos_shell.shell.context import Context
from paxos_shell.shell.formats import latency_cell, to_ms
from paxos_shell.shell.registry import ArgKind, Args, Group, UsageError, command
from paxos_shell.shell.results import Column, Result, Style, Table

K = ArgKind


def _status_style(record: dict[str, Any]) -> Style:
    status = record["status"]
    return Style.GOOD if status == "up" else Style.PLAIN if status == "unknown" else Style.BAD


POOL_COLUMNS = (
    Column("id", "id"),
    Column("url", "url", shrink=True),
    Column("pid", "pid", keep=2),
    Column("status", "status", style=_status_style),
    Column("latencyMs", "last latency", fmt=latency_cell, keep=3, detail=True),
    Column("faults", "faults", keep=1, shrink=True),
)
"""On a narrow screen the latency goes first, the faults (VOLATILE among them) last."""


def _pool_record(ctx: Context, i: int, url: str) -> dict[str, Any]:
    local = ctx.pool.local
    st = ctx.session.statuses.get(i)
    pid = local.members[i].pid if local else None
    if local:
        status = "up" if pid is not None else "down"
    else:
        status = str(st.kind) if st else str(AcceptorStatus.UNKNOWN)
    faults = ctx.session.faults.get(i, "")
    if local and local.members[i].volatile:
        faults = ", ".join(x for x in (faults, "VOLATILE (state in memory only)") if x)
    return {"id": i, "url": url, "pid": pid, "status": status,
            "latencyMs": to_ms(st.latency) if st else None, "faults": faults or None}


@command(
    "pool", "pool",
    "one row per acceptor: id, URL, process id, up or down, last latency",
    "The acceptors this shell talks to. On the local pool the process ids are the shell's own "
    "children; elsewhere the status is the last thing each acceptor answered.",
    "pool",
    group=Group.POOL, saved=False,
)
def cmd_pool(ctx: Context, args: Args) -> Result:
    rows = tuple(_pool_record(ctx, i, redacted(url)) for i, url in sorted(ctx.client.urls.items()))
    out = Result("pool", data={"local": ctx.pool.local is not None, "description": ctx.pool.description})
    out.say(ctx.pool.description)
    return out.show(Table("acceptors", POOL_COLUMNS, rows, by="id"))


def _local(ctx: Context, name: str) -> LocalPool:
    if ctx.pool.local is None:
        raise UsageError(f"{name}: the pool is not local (this shell did not start it); "
                         "start paxos-shell without pool options to get one")
    return ctx.pool.local


def pool_ids(ctx: Context, args: Args, name: str, default_all: bool = False) -> list[int]:
    """The acceptor ids a pool command names (positionals and --server-ids), checked."""
    named = args.acceptor_ids()
    if named is None:
        if default_all:
            return sorted(ctx.client.urls)
        raise UsageError(f"{name}: which acceptor? e.g. '{name} 2'")
    return ctx.engine.servers(named)


def _act(ctx: Context, ids: list[int], action: PoolAction, run: Callable[[LocalPool, list[int]], list[int]],
         past: str) -> Result:
    local = _local(ctx, str(action))
    done = run(local, ids)  # a PoolError is a UserError: one line, the session goes on
    for i in ids:
        ctx.client.forget(i)
    skipped = [i for i in ids if i not in done]
    out = Result(str(action), data={"done": done, "skipped": skipped})
    if done:
        out.say(f"Acceptor{'s' if len(done) > 1 else ''} {', '.join(map(str, done))} {past}.")
    if skipped:
        out.say(f"Already {'down' if action == PoolAction.DOWN else 'up'}: {', '.join(map(str, skipped))}")
    if action != PoolAction.DOWN:
        for warning in local.recovery_warnings(done):
            out.say(warning, Style.WARN)
    for mode, group in _by_mode(local, done).items():
        ctx.session.pool_changed(group, action, volatile=mode if action != PoolAction.DOWN else None)
    return out


def _by_mode(local: LocalPool, ids: list[int]) -> dict[bool, list[int]]:
    """Acceptor ids grouped by whether they now run volatile."""
    groups: dict[bool, list[int]] = {}
    for i in ids:
        groups.setdefault(local.members[i].volatile, []).append(i)
    return groups


@command(
    "down", "down ID...",
    "crash acceptors (SIGKILL); their durable state stays on disk",
    "Kills the acceptor process abruptly, as a crash would. Paxos tolerates any minority of "
    "acceptors being down: with 3 acceptors, a proposer still reaches a quorum of 2.",
    "down 2",
    flags={"--server-ids": K.SERVERS}, positional=(K.SERVERS,), group=Group.POOL,
)
def cmd_down(ctx: Context, args: Args) -> Result:
    return _act(ctx, pool_ids(ctx, args, "down"), PoolAction.DOWN, LocalPool.down, "down (killed)")


def _durability(ctx: Context, args: Args, name: str) -> list[int]:
    """Apply --volatile/--durable to the named acceptors; the running ones whose mode changes."""
    volatile, durable = args.switch("--volatile"), args.switch("--durable")
    if volatile and durable:
        raise UsageError("choose --volatile or --durable, not both")
    if not (volatile or durable):
        return []
    local = _local(ctx, name)
    ids = pool_ids(ctx, args, name)
    switching = [i for i in ids if local.is_up(i) and local.members[i].volatile != volatile]
    local.set_volatile(ids, volatile)
    return switching


@command(
    "up", "up ID... [--volatile|--durable]",
    "start crashed acceptors again on the same port and data",
    "A restarted acceptor reloads the state it acknowledged before the crash. That durability is "
    "what makes its old promises still binding, and Paxos safe across crashes. --volatile starts it "
    "keeping state in memory only (UNSAFE: for the amnesia lesson); --durable undoes that (the "
    "acceptor then reloads the state file it had before it went volatile).",
    "up 2",
    flags={"--server-ids": K.SERVERS, "--volatile": K.FLAG, "--durable": K.FLAG}, positional=(K.SERVERS,),
    group=Group.POOL,
)
def cmd_up(ctx: Context, args: Args) -> Result:
    switching = _durability(ctx, args, "up")
    ids = [i for i in pool_ids(ctx, args, "up") if i not in switching]
    out = _act(ctx, ids, PoolAction.UP, LocalPool.up, "up") if ids else Result("up", data={"done": [], "skipped": []})
    if switching:
        # Running, but in the other mode: a restart is the only way to change it.
        local = _local(ctx, "up")
        _restart(local, switching)
        for i in switching:
            ctx.client.forget(i)
        mode = "volatile" if args.switch("--volatile") else "durable"
        ctx.session.pool_changed(switching, PoolAction.RESTART, volatile=mode == "volatile")
        out.say(f"Acceptor{'s' if len(switching) > 1 else ''} {', '.join(map(str, switching))} restarted "
                f"{mode}" + (": it reloads the state file from before it went volatile, so what it promised "
                             "while volatile is forgotten." if mode == "durable" else
                             ": it keeps its state in memory only from now on (UNSAFE)."), Style.WARN)
        out.data["restarted"] = switching
    return out


def _restart(pool: LocalPool, ids: list[int]) -> list[int]:
    pool.down(ids)
    pool.up(ids)
    return ids


@command(
    "restart", "restart ID... [--volatile|--durable]",
    "crash then restart acceptors (down, then up)",
    "A crash and recovery in one step: the acceptor comes back with every promise and accept it "
    "acknowledged - unless it runs --volatile, in which case it comes back empty, which is how "
    "Paxos safety is lost.",
    "restart 1 2",
    flags={"--server-ids": K.SERVERS, "--volatile": K.FLAG, "--durable": K.FLAG}, positional=(K.SERVERS,),
    group=Group.POOL,
)
def cmd_restart(ctx: Context, args: Args) -> Result:
    _durability(ctx, args, "restart")
    past = ("restarted volatile: state in memory only (UNSAFE)" if args.switch("--volatile") else
            "restarted durable" if args.switch("--durable") else "restarted")
    return _act(ctx, pool_ids(ctx, args, "restart"), PoolAction.RESTART, _restart, past)


@command(
    "reset", "reset [ID...]",
    "stop acceptors, wipe their state and start them fresh (default: all)",
    "Starts a fresh lesson: the acceptors forget every promise and accepted value, and run durable "
    "again. Never do this to a real pool: an acceptor that forgets its promises can let two different "
    "values be chosen.",
    "reset",
    flags={"--server-ids": K.SERVERS}, positional=(K.SERVERS,), group=Group.POOL,
)
def cmd_reset(ctx: Context, args: Args) -> Result:
    out = _act(ctx, pool_ids(ctx, args, "reset", default_all=True), PoolAction.RESET, LocalPool.reset,
               "reset (state wiped)")
    if set(out.data["done"]) == set(ctx.client.urls):
        ctx.last = None  # a new Paxos instance: nothing left to explain, no value carried over
    return out
