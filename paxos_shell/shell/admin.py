"""Session commands: history, show, set, help, exit."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..paxos import MAX_ID
from .registry import ALIASES, COMMAND, NUMBER, REGISTRY, SETTING, TEXT, Args, UsageError, command, lookup, to_int
from .render import FORMATS, ms, reply_summary, show_value

if TYPE_CHECKING:
    from .app import Shell


@command(
    "history", "history [N]",
    "the last N requests and replies (default 20), with latency",
    "Every request the shell sent and what came back, oldest first: the record to check when an "
    "acceptor's behaviour looks wrong.",
    "history 10",
    positional=(NUMBER,), group="session",
)
def cmd_history(sh: Shell, args: Args) -> int:
    n = to_int(args.positional[0], "count", 1) if args.positional else 20
    entries = list(sh.session.history)[-n:]
    rows = []
    for e in entries:
        r = e.reply
        params = " ".join(f"{k}={show_value(str(v))}" for k, v in (r.params or {}).items())
        rows.append([str(e.round_no), time.strftime("%H:%M:%S", time.localtime(e.at)), e.proposer,
                     r.phase, params, str(r.acceptor), sh.out.paint(r.kind, r.kind), reply_summary(r), ms(r.latency)])
    if not rows:
        sh.out.line("No requests yet.")
    sh.out.table(("round", "time", "proposer", "phase", "params", "server", "status", "reply", "latency"), rows)
    sh.out.emit({"command": "history", "entries": [
        {"round": e.round_no, "at": e.at, "proposer": e.proposer, "phase": e.reply.phase,
         "params": e.reply.params, "server": e.reply.acceptor, "status": e.reply.kind,
         "reply": e.reply.body, "error": e.reply.cause, "latencyMs": round(e.reply.latency * 1000, 3)}
        for e in entries]})
    return 0


def settings(sh: Shell) -> dict[str, object]:
    p = sh.session.proposer
    return {
        "pool": sh.pool.description,
        "acceptors": sh.pool.size,
        "quorum": sh.session.quorum,
        "proposer": p.name + (f" (number {p.number})" if p.number is not None else ""),
        "id": p.current_id,
        "next id": sh.session.next_id(),
        "value": p.client_value,
        "highest id seen": sh.session.highest_seen,
        "timeout": sh.client.timeout,
        "format": sh.out.fmt,
        "teach": "on" if sh.teach else "off",
    }


@command(
    "show", "show",
    "session settings and state: pool, quorum, current id, client value, timeout, format",
    "What the shell remembers between commands. 'id' is the current proposal id (accept uses it by "
    "default); 'next id' is what prepare and propose pick when you give none.",
    "show",
    group="session",
)
def cmd_show(sh: Shell, args: Args) -> int:
    data = settings(sh)
    sh.out.table(("setting", "value"), [[k, "-" if v is None else str(v)] for k, v in data.items()])
    sh.out.line(f"Acceptors: {', '.join(f'{i}={u}' for i, u in sorted(sh.client.urls.items()))}")
    sh.out.emit({"command": "show", **{k.replace(' ', '_'): v for k, v in data.items()},
                 "urls": {str(i): u for i, u in sorted(sh.client.urls.items())}})
    return 0


SETTABLE = {
    "format": "output style: table, plain or json",
    "timeout": "seconds a round waits for replies (0.05 to 60)",
    "value": "the client value propose and accept fall back on",
    "id": "the current proposal id",
    "teach": "on or off: explain each command in Paxos terms",
}


@command(
    "set", "set NAME VALUE",
    "change a setting: " + ", ".join(SETTABLE),
    "Settings: " + "; ".join(f"{k}: {v}" for k, v in SETTABLE.items()) + ".",
    "set format json",
    positional=(SETTING, TEXT), group="session",
)
def cmd_set(sh: Shell, args: Args) -> int:
    if len(args.positional) != 2:
        raise UsageError("set: expected NAME VALUE, e.g. 'set timeout 0.5'; names: " + ", ".join(SETTABLE))
    name, raw = args.positional
    if name == "format":
        if raw not in FORMATS:
            raise UsageError(f"bad format '{raw}': choose {', '.join(FORMATS)}")
        sh.out.fmt = raw
    elif name == "timeout":
        try:
            t = float(raw)
        except ValueError:
            raise UsageError(f"bad timeout '{raw}': expected seconds, e.g. 0.5") from None
        if not 0.05 <= t <= 60:
            raise UsageError(f"bad timeout {t}: choose 0.05 to 60 seconds")
        sh.client.timeout = t
    elif name == "value":
        sh.session.proposer.client_value = raw
        sh.session.note_value(raw)
    elif name == "id":
        sh.session.proposer.current_id = to_int(raw, "id", 0, MAX_ID)
    elif name == "teach":
        if raw not in ("on", "off"):
            raise UsageError("bad teach setting: choose on or off")
        sh.teach = raw == "on"
    else:
        raise UsageError(f"unknown setting '{name}': choose {', '.join(SETTABLE)}")
    sh.out.line(f"{name} = {raw}")
    sh.out.emit({"command": "set", "name": name, "value": raw})
    return 0


GROUPS = (("paxos", "Paxos"), ("pool", "Pool"), ("teach", "Teaching and debugging"), ("session", "Session"))


@command(
    "help", "help [COMMAND]",
    "list the commands, or explain one",
    "Without a name, lists every command. With one, shows its syntax, what the phase means in "
    "Paxos, and an example.",
    "help prepare",
    positional=(COMMAND,), group="session",
)
def cmd_help(sh: Shell, args: Args) -> int:
    out = sh.out
    if args.positional:
        cmd = lookup(args.positional[0])
        out.line(f"{cmd.syntax}")
        if cmd.aliases:
            out.line(f"  (also: {', '.join(cmd.aliases)})")
        out.line(f"  {cmd.summary}")
        out.line("")
        out.line(cmd.about)
        out.line("")
        out.line(f"Example: {cmd.example}")
        out.emit({"command": "help", "name": cmd.name, "syntax": cmd.syntax, "summary": cmd.summary,
                  "about": cmd.about, "example": cmd.example, "aliases": list(cmd.aliases)})
        return 0
    for group, title in GROUPS:
        cmds = [c for c in REGISTRY.values() if c.group == group]
        if not cmds:
            continue
        out.line(f"{title}:")
        width = max(len(c.syntax.split(" [--")[0]) for c in cmds)
        for c in cmds:
            out.line(f"  {c.syntax.split(' [--')[0]:<{width}}  {c.summary}")
        out.line("")
    out.line("Type 'help COMMAND' for details. Tab completes commands, options, acceptor ids and values.")
    out.emit({"command": "help", "commands": {c.name: c.summary for c in REGISTRY.values()},
              "aliases": dict(ALIASES)})
    return 0


class Exit(Exception):
    """Raised by exit/quit to leave the REPL or stop a script."""


@command(
    "exit", "exit",
    "leave the shell (also quit, Ctrl-D); a local pool stops with it",
    "Leaves the shell. Acceptors the shell started are stopped; their data directory is removed "
    "unless --data-dir was given.",
    "exit",
    aliases=("quit",), group="session",
)
def cmd_exit(sh: Shell, args: Args) -> int:
    raise Exit()
