"""The live view as a shell listener: after every command, one snapshot to every viewer.

Its job: own the server process and the snapshot tracker for one shell,
publish the first snapshot when it starts and one after every command
(Shell.listeners), and stop the server with `close`. The snapshot is built on
the shell's thread, because only that thread may read the session, and then
handed over without waiting: a command pays for one snapshot, never for a
viewer. Every secret the shell sends is masked in it, as on the terminal. It never changes the session or the pool.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from paxos_shell.core.urls import is_loopback, scrub, scrub_data
from paxos_shell.view.model import Tracker
from paxos_shell.view.process import ServerProcess
from paxos_shell.view.routes import event_data, sse_frame
from paxos_shell.view.server import DRAIN_TIMEOUT, MAX_VIEWERS

if TYPE_CHECKING:
    from paxos_shell.shell.context import Context

LOOPBACK = "127.0.0.1"


class LiveView:
    """Called with the command line after every command (a Shell listener)."""

    def __init__(self, ctx: Context, host: str = LOOPBACK, port: int = 0, max_viewers: int = MAX_VIEWERS,
                 drain_timeout: float = DRAIN_TIMEOUT) -> None:
        self.ctx = ctx
        self.host = host
        self.server = ServerProcess(host, port, max_viewers, drain_timeout)
        self.tracker = Tracker()
        self.failed = False

    def start(self) -> LiveView:
        """Listen, and publish the current picture for the first viewers; OSError if it cannot listen."""
        self.server.start()
        self("")
        return self

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def shared(self) -> bool:
        """Served beyond this machine: read-only pages for students' laptops."""
        return not is_loopback(self.host)

    def url(self, host: str = "") -> str:
        name = host or (LOOPBACK if self.host in ("0.0.0.0", "::", "") else self.host)
        if ":" in name:
            name = f"[{name}]"
        return f"http://{name}:{self.port}/{self.server.token}/"

    def __call__(self, line: str, settled: bool = True) -> None:
        if not self.server.alive and not self.failed:
            self.failed = True
            self.ctx.out.error("live view: its server stopped unexpectedly; 'view off' then 'view' restarts it")
        try:
            data = self.tracker.snapshot(self.ctx, line, settled)
            data["shared"] = self.shared
            svg = scrub(data["diagram"].pop("svg").rstrip("\n"), self.masks)  # its own data line
            data = scrub_data(data, self.ctx.out.secrets)  # what an acceptor echoed of a secret: masked
            self.server.publish(sse_frame(data["seq"], event_data(data), svg))
        except Exception as e:  # a bug here must not fail the teacher's command: say it once
            if not self.failed:
                self.failed = True
                self.ctx.out.error(f"live view: internal error: {type(e).__name__}: {e}; "
                                   "the page keeps its last picture ('view off' then 'view' restarts it)")

    def turn(self, line: str) -> None:
        """One turn of a command still running (a duel's, shell/pace.py): drawn now; what it
        changed is marked against the turn before, the command's end against its start."""
        self(line, settled=False)

    @property
    def masks(self) -> tuple[str, ...]:
        """The shell's secrets, and each as SVG text escapes it (&amp; for &)."""
        secrets = self.ctx.out.secrets
        return secrets + tuple(x for x in (escape(s) for s in secrets) if x not in secrets)

    def close(self) -> None:
        self.server.close()
