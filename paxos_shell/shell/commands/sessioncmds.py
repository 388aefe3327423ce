"""Session commands: history, show, set, help, exit."""

from __future__ import annotations

import time
from typing import Any, Optional

from paxos_shell.core.options import parse_format, parse_int, parse_pace, parse_timeout
from paxos_shell.core.text import show_value
from paxos_shell.core.urls import redacted
from paxos_shell.shell.context import Context
from paxos_shell.shell.formats import KIND_STYLE, latency_cell, reply_summary, to_ms
from paxos_shell.shell.registry import (
    ALIASES,
    REGISTRY,
    SETTINGS,
    SWITCHES,
    ArgKind,
    Args,
    Command,
    Exit,
    Group,
    UsageError,
    command,
    lookup,
    to_id,
)
from paxos_shell.shell.render import Format
from paxos_shell.shell.results import Column, Result, Style, Table

K = ArgKind
HELP_SYNTAX_WIDTH = 24
"""Syntax longer than this goes on a line of its own in `help`, so descriptions stay readable."""


def _entry_record(e: Any) -> dict[str, Any]:
    r = e.reply
    return {"round": e.round_no, "at": e.at, "proposer": e.proposer, "phase": str(r.phase), "params": r.params,
            "server": r.acceptor, "status": str(r.kind), "meaning": reply_summary(r), "reply": r.body,
            "error": r.cause, "latencyMs": to_ms(r.latency)}


def _params(params: Any) -> str:
    return " ".join(f"{k}={show_value(str(v))}" for k, v in (params or {}).items())


HISTORY_COLUMNS = (
    Column("round", "round"),
    Column("at", "time", fmt=lambda t: time.strftime("%H:%M:%S", time.localtime(t)), keep=3),
    Column("proposer", "proposer", keep=4),
    Column("phase", "phase"),
    Column("params", "params", fmt=_params, shrink=True),
    Column("server", "server"),
    Column("status", "status", style=lambda rec: KIND_STYLE.get(rec["status"], Style.PLAIN)),
    Column("meaning", "reply", shrink=True),
    Column("latencyMs", "latency", fmt=latency_cell, keep=2, detail=True),
)


@command(
    "history", "history [N]",
    "the last N requests and replies (default 20), with latency",
    "Every request the shell sent and what came back, oldest first: the record to check when an "
    "acceptor's behaviour looks wrong.",
    "history 10",
    positional=(K.NUMBER,), group=Group.SESSION, saved=False,
)
def cmd_history(ctx: Context, args: Args) -> Result:
    n = parse_int(args.positional[0], "count", 1) if args.positional else 20
    entries = list(ctx.session.history)[-n:]
    out = Result("history")
    if not entries:
        out.say("No requests yet.")
    return out.show(Table("entries", HISTORY_COLUMNS, tuple(_entry_record(e) for e in entries)))


def settings(ctx: Context) -> dict[str, Any]:
    """What `show` lists, keyed as in JSON (camelCase, like the protocol)."""
    p = ctx.session.proposer
    return {
        "pool": ctx.pool.description, "acceptors": ctx.pool.size, "quorum": ctx.session.quorum,
        "proposer": p.name, "proposerNumber": p.number, "id": p.current_id, "nextId": ctx.session.next_id(),
        "value": p.client_value, "highestIdSeen": ctx.session.highest_seen, "timeout": ctx.client.timeout,
        "format": str(ctx.out.fmt), "teach": ctx.teach, "present": ctx.out.present, "raw": ctx.out.raw,
        "pace": ctx.out.pace,
    }


LABELS = {"proposerNumber": "proposer number", "nextId": "next id", "highestIdSeen": "highest id seen"}


def _setting_text(key: str, value: Any) -> str:
    if key == "value":
        return show_value(value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return "-" if value is None else str(value)


@command(
    "show", "show [value]",
    "session settings and state: pool, quorum, current id, client value, timeout, format",
    "What the shell remembers between commands. 'id' is the current proposal id (accept uses it by "
    "default); 'next id' is what prepare and propose pick when you give none. 'show value' prints "
    "every value the session knows in full, however long (tables shorten long values).",
    "show",
    positional=(K.CHOICE,), group=Group.SESSION, choices=(("value",),), saved=False,
)
def cmd_show(ctx: Context, args: Args) -> Result:
    if args.positional:
        if args.positional != ["value"]:
            raise UsageError("show: expected nothing or 'value'")
        return _show_values(ctx)
    data = settings(ctx)
    rows = tuple({"setting": LABELS.get(k, k), "value": _setting_text(k, v)} for k, v in data.items())
    out = Result("show", data=data)
    out.show(Table("", (Column("setting", "setting"), Column("value", "value", shrink=True)), rows))
    urls = {str(i): redacted(u) for i, u in sorted(ctx.client.urls.items())}
    out.data["urls"] = urls
    connection = ctx.client.options.describe()
    out.data["connection"] = connection
    out.say(f"Acceptors: {', '.join(f'{i}={u}' for i, u in urls.items())}")
    return out.say(f"Connection: {'; '.join(connection)}") if connection else out


def _show_values(ctx: Context) -> Result:
    """Every value known, whole: the client values, and what each acceptor last reported accepting."""
    s = ctx.session
    found: list[tuple[str, Optional[str]]] = [
        (f"client value of proposer {p.name}", p.client_value) for p in s.proposers.values()
        if p.client_value is not None]
    found += [(f"acceptor {i} accepted at id {st.accepted_id}", st.accepted_value)
              for i, st in sorted(s.statuses.items()) if st.accepted_id >= 0]
    out = Result("show", data={"values": [{"what": w, "value": v} for w, v in found]})
    if not found:
        return out.say("No values yet.")
    for what, value in found:
        out.say(f"{what}:", Style.HEADING).say(show_value(value, limit=None), indent=2)
    return out


@command(
    "set", "set NAME VALUE",
    "change a setting: " + ", ".join(SETTINGS),
    "Settings: " + "; ".join(f"{s.name}: {s.about}" for s in SETTINGS.values()) + ".",
    "set format json",
    positional=(K.SETTING, K.SETTING_VALUE), group=Group.SESSION,
)
def cmd_set(ctx: Context, args: Args) -> Result:
    if len(args.positional) != 2:
        raise UsageError("set: expected NAME VALUE, e.g. 'set timeout 0.5'; names: " + ", ".join(SETTINGS))
    name, raw = args.positional
    setting = SETTINGS.get(name)
    if setting is None:
        raise UsageError(f"unknown setting '{name}': choose {', '.join(SETTINGS)}")
    if name in SWITCHES and raw not in setting.choices:
        raise UsageError(f"bad {name} setting '{raw}': choose on or off")
    if name in SWITCHES:
        switch(ctx, name, raw == "on")
    elif name == "format":
        ctx.out.fmt = Format(parse_format(raw))
    elif name == "timeout":
        ctx.client.timeout = parse_timeout(raw)
    elif name == "pace":
        ctx.out.pace = parse_pace(raw)
    elif name == "value":
        ctx.session.proposer.client_value = raw
        ctx.session.note_value(raw)
    else:
        ctx.session.proposer.current_id = to_id(raw)
    return Result("set", data={"name": name, "value": raw}).say(f"{name} = {show_value(raw)}")


@command(
    "help", "help [COMMAND]",
    "list the commands, or explain one",
    "Without a name, lists every command. With one, shows its syntax, what the phase means in "
    "Paxos, and an example.",
    "help prepare",
    aliases=("?", "\\?"), positional=(K.COMMAND,), group=Group.SESSION, saved=False,
)
def cmd_help(ctx: Context, args: Args) -> Result:
    if args.positional:
        return _help_one(lookup(args.positional[0]))
    out = Result("help", data={"commands": {c.name: c.summary for c in REGISTRY.values()},
                               "aliases": dict(ALIASES)})
    for group in Group:
        cmds = [c for c in REGISTRY.values() if c.group == group]
        if not cmds:
            continue
        out.say(f"{group.value}:", Style.HEADING)
        width = min(HELP_SYNTAX_WIDTH, max(len(_short(c)) for c in cmds))
        for c in cmds:
            if len(_short(c)) > width:
                out.say(_short(c), indent=2).say(c.summary, indent=2 + width + 2)
            else:
                out.say(f"{_short(c):<{width}}  {c.summary}", indent=2, hang=width + 2)
        out.say("")
    return out.say("Type 'help COMMAND' for details. Tab completes commands, options, acceptor ids and values.")


def switch(ctx: Context, name: str, on: bool) -> None:
    """teach, present or raw. Presenter mode brings the explanations with it."""
    if name == "teach":
        ctx.teach = on
    elif name == "present":
        ctx.out.present = on
        ctx.teach = on or ctx.teach
    else:
        ctx.out.raw = on


def _short(c: Command) -> str:
    return c.syntax.split(" [--")[0]


def _help_one(cmd: Command) -> Result:
    out = Result("help", data={"name": cmd.name, "syntax": cmd.syntax, "summary": cmd.summary,
                               "about": cmd.about, "example": cmd.example, "aliases": list(cmd.aliases)})
    out.say(cmd.syntax, Style.HEADING)
    if cmd.aliases:
        out.say(f"(also: {', '.join(cmd.aliases)})", indent=2)
    out.say(cmd.summary, indent=2).say("").say(cmd.about).say("")
    return out.say(f"Example: {cmd.example}")


@command(
    "exit", "exit",
    "leave the shell (also quit, \\q, Ctrl-D); a local pool stops with it",
    "Leaves the shell. Acceptors the shell started are stopped; their data directory is removed "
    "unless --data-dir was given.",
    "exit",
    aliases=("quit", "\\q"), group=Group.SESSION, saved=False,
)
def cmd_exit(ctx: Context, args: Args) -> Result:
    raise Exit()


@command(
    "clear", "clear",
    "clear the screen (also Ctrl-L at the prompt)",
    "Clears the terminal and its scrollback, as clear and redis-cli's clear do; the session and "
    "the pool are untouched. Piped or in JSON mode it prints nothing.",
    "clear",
    group=Group.SESSION, saved=False,
)
def cmd_clear(ctx: Context, args: Args) -> Result:
    if args.positional:
        raise UsageError("clear: takes no arguments")
    return Result("clear", data={"cleared": ctx.out.clear()})
