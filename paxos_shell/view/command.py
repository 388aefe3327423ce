"""The `view` command (and `--view`): a live picture of the pool in a browser, for a class.

Registering the command imports nothing of paxos_shell.view: the package is
imported the first time `view` runs, so a shell that never shows it pays
nothing. The view is a Shell listener; `view off` and the shell's exit stop it.
"""

from __future__ import annotations

import socket
import sys
from typing import TYPE_CHECKING, Optional

from paxos_shell.core.errors import ExitStatus, UserError, exit_status
from paxos_shell.core.options import parse_int
from paxos_shell.shell.context import Context
from paxos_shell.shell.registry import ArgKind, Args, Group, UsageError, command
from paxos_shell.shell.results import Result, Style

if TYPE_CHECKING:
    from paxos_shell.view.live import LiveView

K = ArgKind
LIVE_MODULE = "paxos_shell.view.live"


@command(
    "view", "view [off] [--host HOST] [--port PORT]",
    "a live picture of the pool in a browser, for a class to watch (read-only)",
    "Starts a small web server (a process of its own, which stops with the shell) on 127.0.0.1 and a "
    "free port, and prints its URL; in the REPL it also opens the URL in the default browser, when "
    "one is configured. The page shows "
    "one card per acceptor, the verdict and the possible futures, the last rounds as a sequence "
    "diagram, the explanations of teach mode and the lesson step, updated after every command. It "
    "has no control that changes the pool: the server answers nothing but GET of the page, its "
    "assets and its event stream, under a random token in the URL. --host 0.0.0.0 serves it to "
    "students' laptops on the network (at most 200 viewers). 'view off' stops it.",
    "view",
    flags={"--host": K.TEXT, "--port": K.NUMBER}, positional=(K.CHOICE,), group=Group.TEACH,
    choices=(("off",),),
)
def cmd_view(ctx: Context, args: Args) -> Result:
    if args.positional:
        if args.positional != ["off"]:
            raise UsageError("view: 'view' starts the live view, 'view off' stops it")
        return stop_view(ctx)
    port = parse_int(args.text("--port"), "port", 0, 65535) if args.text("--port") is not None else None
    return start_view(ctx, args.text("--host"), port, interactive=ctx.pause is not None)


def running_view(ctx: Context) -> Optional[LiveView]:
    """The live view among the shell's listeners; None before the package was ever imported."""
    live = sys.modules.get(LIVE_MODULE)
    if live is None:
        return None
    return next((x for x in ctx.listeners if isinstance(x, live.LiveView)), None)


def start_view(ctx: Context, host: Optional[str] = None, port: Optional[int] = None,
               interactive: bool = False) -> Result:
    """Start the view (or show the one running); host and port None: 127.0.0.1, a free port."""
    from paxos_shell.view.live import LOOPBACK, LiveView

    view = running_view(ctx)
    if view is not None:
        if host not in (None, view.host) or port not in (None, 0, view.port):
            raise UsageError(f"view: already running at {view.url()}; 'view off' first to move it")
        return _started(Result("view"), view, "The live view is already running")
    host = host or LOOPBACK
    try:
        view = LiveView(ctx, host, port or 0).start()
    except OSError as e:
        raise UsageError(f"view: cannot listen on {host} port {port or 0}: {e.strerror or e}") from None
    ctx.listeners.append(view)
    out = _started(Result("view"), view, "Live view")
    if view.shared:
        out.say(f"WARNING: served to the network on {host} port {view.port}: anyone who has the URL, token "
                "included, can watch. The page is read-only (the server answers GET only), for at most "
                f"{view.server.max_viewers} viewers; 'view off' stops it.", Style.WARN)
        for url in student_urls(view):
            out.say("For students:").say(url, indent=2)
    return out.say(open_browser(view.url(), interactive))


def _started(out: Result, view: LiveView, what: str) -> Result:
    """The URL on a line of its own: it cannot wrap, and fits a 60-column screen there."""
    out.data.update({"url": view.url(), "host": view.host, "port": view.port, "shared": view.shared})
    return out.say(f"{what}:", Style.GOOD).say(view.url(), Style.GOOD, indent=2)


def student_urls(view: LiveView) -> list[str]:
    """Where students reach this machine: the address of its outgoing route, and its name."""
    names = []
    if view.host in ("0.0.0.0", "::"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect(("10.255.255.255", 9))  # UDP: picks the route, sends nothing
                names.append(s.getsockname()[0])
            except OSError:
                pass
        names.append(socket.gethostname())
    else:
        names.append(view.host)
    return [view.url(n) for n in dict.fromkeys(n for n in names if n and not n.startswith("127."))]


def open_browser(url: str, interactive: bool) -> str:
    """Open the page when someone is at the keyboard and a browser outside this terminal exists."""
    if not interactive:
        return "Not opened in a browser: the shell is not interactive."
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return "Not opened in a browser: none is configured here (set BROWSER, or open the URL)."
    text_mode = (type(browser) is webbrowser.GenericBrowser
                 or (isinstance(browser, webbrowser.UnixBrowser) and not browser.background))
    if text_mode:  # it would take over this terminal, and wait until it ends
        return "Not opened: the default browser runs in this terminal; open the URL in another window."
    if not browser.open(url, new=2):
        return "Not opened: the browser did not start; open the URL yourself."
    return "Opened in the default browser."


def stop_view(ctx: Context) -> Result:
    view = running_view(ctx)
    if view is None:
        return Result("view", data={"stopped": False}).say("The live view is not running.")
    viewers = view.server.viewers
    ctx.listeners.remove(view)
    view.close()
    return Result("view", data={"stopped": True, "viewers": viewers}).say(
        f"Live view stopped ({viewers} viewer{'s' if viewers != 1 else ''} disconnected).")


def view_at_start(ctx: Context, interactive: bool) -> ExitStatus:
    """`paxos-shell --view`: the `view` command before the first one, with the mode the CLI knows."""
    try:
        result = start_view(ctx, interactive=interactive)
    except UserError as e:
        ctx.out.error(str(e), "view")
        return exit_status(False)
    ctx.out.render(result)
    return result.status
