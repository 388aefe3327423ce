"""Pool commands: pool, down, up, restart, reset (crash and recovery on the local pool)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..pool import LocalPool, PoolError
from .registry import FLAG, SERVERS, Args, UsageError, command, to_int
from .render import ms

if TYPE_CHECKING:
    from .app import Shell


@command(
    "pool", "pool",
    "one row per acceptor: id, URL, process id, up or down, last latency",
    "The acceptors this shell talks to. On the local pool the process ids are the shell's own "
    "children; elsewhere the status is the last thing each acceptor answered.",
    "pool",
    group="pool",
)
def cmd_pool(sh: Shell, args: Args) -> int:
    local = sh.pool.local
    rows, data = [], {}
    for i, url in sorted(sh.client.urls.items()):
        st = sh.session.statuses.get(i)
        pid = local.members[i].pid if local else None
        if local:
            status = "up" if pid is not None else "down"
        else:
            status = st.kind if st else "unknown"
        faults = sh.faults.get(i, "")
        if local and local.members[i].volatile:
            faults = ", ".join(x for x in (faults, "VOLATILE (state in memory only)") if x)
        rows.append([str(i), url, str(pid) if pid else "-", sh.out.paint(status, "ok" if status == "up" else
                     "no response" if status != "unknown" else ""), ms(st.latency if st else None), faults or "-"])
        data[str(i)] = {"url": url, "pid": pid, "status": status,
                        "latencyMs": round(st.latency * 1000, 3) if st and st.latency is not None else None,
                        "faults": faults or None}
    sh.out.line(sh.pool.description)
    sh.out.table(("id", "url", "pid", "status", "last latency", "faults"), rows)
    sh.out.emit({"command": "pool", "local": local is not None, "acceptors": data})
    return 0


def _local(sh: Shell, name: str) -> LocalPool:
    if sh.pool.local is None:
        raise UsageError(f"{name}: the pool is not local (this shell did not start it); "
                         "start paxos-shell without pool options to get one")
    return sh.pool.local


def _ids(sh: Shell, args: Args, name: str, default_all: bool = False) -> list[int]:
    raw = list(args.positional) + list(args.get("--server-ids", []) or [])  # type: ignore[arg-type]
    if not raw:
        if default_all:
            return sorted(sh.client.urls)
        raise UsageError(f"{name}: which acceptor? e.g. '{name} 2'")
    ids = [to_int(x, "acceptor id", 1) for x in raw]
    for i in ids:
        if i not in sh.client.urls:
            raise UsageError(f"unknown acceptor {i}: the pool is 1..{len(sh.client.urls)}")
    return list(dict.fromkeys(ids))


def _act(sh: Shell, args: Args, name: str, action: Callable[[LocalPool, list[int]], list[int]],
         past: str, default_all: bool = False) -> int:
    local = _local(sh, name)
    ids = _ids(sh, args, name, default_all)
    try:
        done = action(local, ids)
    except PoolError as e:
        sh.out.error(str(e))
        return 1
    for i in ids:
        sh.client.forget(i)
    skipped = [i for i in ids if i not in done]
    if done:
        sh.out.line(f"Acceptor{'s' if len(done) > 1 else ''} {', '.join(map(str, done))} {past}.")
    if skipped:
        sh.out.line(f"Already {'down' if name == 'down' else 'up'}: {', '.join(map(str, skipped))}")
    sh.after_pool_change(done, name)
    sh.out.emit({"command": name, "done": done, "skipped": skipped})
    return 0


@command(
    "down", "down ID...",
    "crash acceptors (SIGKILL); their durable state stays on disk",
    "Kills the acceptor process abruptly, as a crash would. Paxos tolerates any minority of "
    "acceptors being down: with 3 acceptors, a proposer still reaches a quorum of 2.",
    "down 2",
    flags={"--server-ids": SERVERS}, positional=(SERVERS,), group="pool",
)
def cmd_down(sh: Shell, args: Args) -> int:
    return _act(sh, args, "down", LocalPool.down, "down (killed)")


def _durability(sh: Shell, args: Args, ids_of: Callable[[], list[int]]) -> None:
    if args.get("--volatile") or args.get("--durable"):
        if args.get("--volatile") and args.get("--durable"):
            raise UsageError("choose --volatile or --durable, not both")
        _local(sh, "volatile").set_volatile(ids_of(), bool(args.get("--volatile")))


@command(
    "up", "up ID... [--volatile|--durable]",
    "start crashed acceptors again on the same port and data",
    "A restarted acceptor reloads the state it acknowledged before the crash. That durability is "
    "what makes its old promises still binding, and Paxos safe across crashes. --volatile starts it "
    "keeping state in memory only (UNSAFE: for the amnesia lesson); --durable undoes that (the "
    "acceptor then reloads the state file it had before it went volatile).",
    "up 2",
    flags={"--server-ids": SERVERS, "--volatile": FLAG, "--durable": FLAG}, positional=(SERVERS,), group="pool",
)
def cmd_up(sh: Shell, args: Args) -> int:
    _durability(sh, args, lambda: _ids(sh, args, "up"))
    return _act(sh, args, "up", LocalPool.up, "up")


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
    flags={"--server-ids": SERVERS, "--volatile": FLAG, "--durable": FLAG}, positional=(SERVERS,), group="pool",
)
def cmd_restart(sh: Shell, args: Args) -> int:
    _durability(sh, args, lambda: _ids(sh, args, "restart"))
    return _act(sh, args, "restart", _restart, "restarted")


@command(
    "reset", "reset [ID...]",
    "stop acceptors, wipe their state and start them fresh (default: all)",
    "Starts a fresh lesson: the acceptors forget every promise and accepted value, and run durable "
    "again. Never do this to a real pool: an acceptor that forgets its promises can let two different "
    "values be chosen.",
    "reset",
    flags={"--server-ids": SERVERS}, positional=(SERVERS,), group="pool",
)
def cmd_reset(sh: Shell, args: Args) -> int:
    return _act(sh, args, "reset", LocalPool.reset, "reset (state wiped)", default_all=True)
