"""The `watch` command (and `--watch`): recording proxies in front of the acceptors.

`watch` starts one proxy per acceptor (paxos_shell/watch/) and prints where each
listens, with a ready-made command line for other proposers; `watch` again shows
them and what they have recorded; `watch off` stops them. The running watch is a
Shell listener, so the shell's exit stops it. The watch package is imported the
first time `watch` runs: a shell that never watches pays nothing for asyncio and
h11. Every label shown was made safe by watch/labels.py; notes pass through
text.visible where they are made.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Optional

from paxos_shell.core.errors import ExitStatus, UserError, exit_status
from paxos_shell.core.options import BadValue, parse_int
from paxos_shell.core.text import visible
from paxos_shell.core.urls import is_loopback, redacted
from paxos_shell.diagram.trace import diagram, mermaid
from paxos_shell.engine.session import HistoryEntry
from paxos_shell.shell.context import Context
from paxos_shell.shell.registry import ArgKind, Args, Group, UsageError, command
from paxos_shell.shell.results import Column, Result, Style, Table, Text
from paxos_shell.shell.transcript import WIDTH

if TYPE_CHECKING:
    from paxos_shell.watch.recorder import Recorder
    from paxos_shell.watch.service import Pulse, Watch

K = ArgKind


class Watching:
    """The running watch as a Shell listener: after a command it puts the foreign rounds into the
    `record` transcript; `close` stops it."""

    def __init__(self, ctx: Context, watch: Watch, recorder: Recorder, pulse: Pulse) -> None:
        self.ctx, self.watch, self.recorder, self.pulse = ctx, watch, recorder, pulse
        self.noted = (ctx.session, ctx.session.rounds)

    def __call__(self, line: str) -> None:
        self.transcribe()

    def notify(self) -> None:
        """Foreign rounds came: the transcript and the other listeners (the live view) get them."""
        with self.ctx.session.guard:
            self.transcribe()
            for listener in list(self.ctx.listeners):
                if listener is not self:
                    listener("")

    def transcribe(self) -> None:
        """While `record` is on: the foreign rounds not yet written, as a trace block of their own
        (never inside a command's block)."""
        s, t = self.ctx.session, self.ctx.transcript
        if t is not None and t.in_command:
            return
        since = self.noted[1] if self.noted[0] is s else 0
        self.noted = (s, s.rounds)
        if t is None:
            return
        entries = []
        for e in reversed(s.history):
            if e.round_no <= since:
                break
            if e.proposer not in s.proposers:
                entries.append(e)
        if entries:
            entries.reverse()
            t.begin("", f"# seen by watch: {_rounds_of(entries)}")
            out = Result("watch", data={"mermaidText": mermaid(entries, s.acceptors)})
            out.blocks.extend(Text(line, wrap=False) for line in diagram(entries, s.acceptors, WIDTH))
            t.end(out)

    def close(self) -> None:
        self.pulse.stop()
        self.watch.stop()


def _rounds_of(entries: list[HistoryEntry]) -> str:
    rounds = len({e.round_no for e in entries})
    names = list(dict.fromkeys(e.proposer for e in entries))
    who = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"{rounds} round{'s' if rounds != 1 else ''} from {who}"


@command(
    "watch", "watch [off] [--base-port P] [--port ID=PORT,...] [--host ADDR] [--allow CIDR,...]",
    "proxies in front of the acceptors: every proposer's exchanges in this session",
    "Starts one proxy per acceptor, each forwarding every request to its acceptor and the reply back "
    "unchanged, and recording the exchange in this session first: state, trace, check, explain and the "
    "live view then see other proposers (a student's program, the old scripts, another paxos-shell) "
    "beside this shell's own. Proposers are told apart by the X-Paxos-Proposer header (paxos-shell sends "
    "its proposer's name), else by their address. --base-port P puts acceptor i's proxy on P+i-1 (the "
    "paxos-server layout); --port 2=9102 names one port. The proxies listen on 127.0.0.1 unless --host "
    "names an address (then anyone who reaches it can send prepares and accepts to the pool; --allow "
    "10.0.0.0/24 limits who may). An acceptor that does not answer gives the proposer 502 (refused) or "
    "504 (timeout). 'watch' again shows the proxies and the proposers seen; 'watch off' stops them.",
    "watch --base-port 9081",
    flags={"--base-port": K.NUMBER, "--port": K.TEXT, "--host": K.TEXT, "--allow": K.TEXT},
    positional=(K.CHOICE,), group=Group.TEACH, choices=(("off",),), saved=False,
)
def cmd_watch(ctx: Context, args: Args) -> Result:
    if args.positional:
        if args.positional != ["off"]:
            raise UsageError("watch: 'watch' starts the proxies, 'watch off' stops them")
        return stop_watch(ctx)
    running = running_watch(ctx)
    if running is not None:
        if any(args.text(f) is not None for f in ("--base-port", "--port", "--host", "--allow")):
            raise UsageError("watch: already running; 'watch off' first to move it")
        return shown(ctx, running, Result("watch"))
    return start_watch(ctx, args.text("--base-port"), args.text("--port"), args.text("--host"),
                       args.text("--allow"))


def running_watch(ctx: Context) -> Optional[Watching]:
    return next((x for x in ctx.listeners if isinstance(x, Watching)), None)


def start_watch(ctx: Context, base: Optional[str] = None, ports: Optional[str] = None,
                host: Optional[str] = None, allow: Optional[str] = None) -> Result:
    from paxos_shell.watch import labels
    from paxos_shell.watch.recorder import Recorder
    from paxos_shell.watch.service import LOOPBACK, Pulse, Watch

    try:
        base_port = parse_int(base, "base port", 1, 65535) if base is not None else None
        plan = labels.plan_ports(ctx.client.urls, base_port, _items(ports))
        networks = labels.parse_allow(_items(allow))
    except (BadValue, ValueError) as e:
        raise UsageError(f"watch: {e}") from None
    recorder = Recorder(lambda: ctx.session)
    try:
        watch = Watch(ctx.client.urls, recorder, ctx.client.options, host or LOOPBACK, plan, networks,
                      max(ctx.client.timeout, 10.0))
        watch.start()
    except ValueError as e:
        raise UsageError(f"watch: {visible(str(e))}") from None
    except OSError as e:
        raise UsageError(f"watch: cannot listen on {visible(host or LOOPBACK)}: {visible(e.strerror or str(e))}"
                         ) from None
    watching = Watching(ctx, watch, recorder, Pulse(lambda: watching.notify()))
    recorder.changed = watching.pulse
    watching.pulse.start()
    ctx.listeners.append(watching)
    return shown(ctx, watching, Result("watch"), started=True)


def _items(text: Optional[str]) -> list[str]:
    """A comma-separated option (`--port 1=9001,2=9002`), as a list."""
    return [t for t in (text or "").split(",") if t.strip()]


PROXY_COLUMNS = (Column("acceptor", "acceptor"), Column("proxy", "proxy", keep=0), Column("to", "acceptor URL"))
PROPOSER_COLUMNS = (Column("proposer", "proposer", keep=0), Column("exchanges", "exchanges"))


def shown(ctx: Context, w: Watching, out: Result, started: bool = False) -> Result:
    """Where each proxy listens, the line for other proposers, and who has been seen so far."""
    watch = w.watch
    rows = tuple({"acceptor": i, "proxy": watch.url(i), "to": visible(redacted(ctx.client.urls[i]))}
                 for i in sorted(watch.ports))
    out.say("Watching: every request to these proxies is recorded here." if started else "Watching:", Style.GOOD)
    out.show(Table("proxies", PROXY_COLUMNS, rows, by="acceptor"))
    out.say("Point other proposers at the proxies, e.g.:")
    command_line = client_line(watch)
    out.blocks.extend(Text(line, indent=2, wrap=False) for line in command_line)
    out.data["clientLine"] = " ".join(line.rstrip("\\").strip() for line in command_line)
    if not is_loopback(watch.host):
        out.say(f"WARNING: the proxies listen on {visible(watch.host)}: anyone who can reach that address can "
                "now send prepares and accepts to the pool"
                + (" (only from " + ", ".join(str(n) for n in watch.allow) + ", and loopback)." if watch.allow
                   else "; --allow CIDR limits who may."), Style.WARN)
    seen = sorted(w.recorder.by_label.items(), key=lambda kv: (-kv[1], kv[0]))
    out.data.update({"proxies": {str(i): watch.url(i) for i in watch.ports}, "host": watch.host,
                     "exchanges": w.recorder.exchanges, "notes": list(w.recorder.notes)})
    if seen:
        out.show(Table("proposers", PROPOSER_COLUMNS,
                       tuple({"proposer": k, "exchanges": n} for k, n in seen), by="proposer"))
    for note in list(w.recorder.notes)[-5:]:
        out.say(note, Style.DIM)
    return out


def client_line(watch: Watch) -> list[str]:
    """A paxos-shell command line that sends its rounds through the proxies (any client can use the
    URLs), continued with backslashes so each line fits a 60-column screen and pastes into a shell."""
    host = socket.gethostname() if watch.host in ("0.0.0.0", "::") else watch.host
    base = watch.base_port
    ids = sorted(watch.ports)
    if base is not None and ids == list(range(1, len(ids) + 1)):
        groups = [f"--server-count {len(ids)}", f"--host {host} --base-port {base}"]
    else:
        groups = [f"--url {i}={watch.url(i, host)}" for i in ids]
    lines = ["paxos-shell " + groups[0]] + ["    " + g for g in groups[1:]]
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def stop_watch(ctx: Context) -> Result:
    w = running_watch(ctx)
    if w is None:
        return Result("watch", data={"stopped": False}).say("The watch is not running.")
    ctx.listeners.remove(w)
    with ctx.session.guard.released():  # the proxies' last recordings may be waiting for the guard
        w.close()
    return Result("watch", data={"stopped": True, "exchanges": w.recorder.exchanges}).say(
        f"Watch stopped ({w.recorder.exchanges} foreign exchange{'s' if w.recorder.exchanges != 1 else ''} "
        "recorded; they stay in the session).")


def watch_at_start(ctx: Context) -> ExitStatus:
    """`paxos-shell --watch`: the `watch` command before the first one."""
    try:
        result = start_watch(ctx)
    except UserError as e:
        ctx.out.error(str(e), "watch")
        return exit_status(False)
    ctx.out.render(result)
    return result.status
