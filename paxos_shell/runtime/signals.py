"""SIGTERM and SIGHUP end the shell as Ctrl-D does, exit status 128+N, local acceptors stopped.

Outside a prompt the handler raises SystemExit where the main thread is, and the `finally`
blocks close the session. Inside prompt_toolkit's event loop it must not: the exception would
land in whatever callback was running (the history loader catches it, prints a traceback and
waits for Enter). There the handler asks the prompt to end with `Terminated` instead, and a
signal that comes while a prompt is already ending is kept for `check()`, called as the prompt
returns and before the next one. Only the first signal counts: a second SIGTERM while the
shell stops its acceptors must not cut that cleanup short. A signal the shell was started
ignoring (SIGHUP under `nohup`) stays ignored. Ctrl-C is KeyboardInterrupt on the main thread,
blocked in every helper thread (main_thread_only), and only noted during the few lines that
must run whole (interrupt_held). This module never prints.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Optional

_pending: list[int] = []


class Terminated(BaseException):
    """Raised out of prompt() for a signal; a BaseException so no command's handler swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.status = 128 + signum


def install() -> None:
    """Handle SIGTERM and SIGHUP, except one the parent set to be ignored (nohup, a supervisor)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _on_signal)


def main_thread_only() -> None:
    """Block Ctrl-C, SIGTERM and SIGHUP in the calling (helper) thread.

    Python runs handlers on the main thread, but the kernel may hand a signal
    for the process to any thread that does not block it; the main thread,
    asleep in a round's wait, would then sleep on to the round's timeout.
    Every thread the shell starts calls this first.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


@contextmanager
def interrupt_held() -> Iterator[list[int]]:
    """Ctrl-C noted, not raised, while the block runs: the list it yields says whether one came.
    For the few lines that must run whole, as a round giving up on its requests must, or it
    would not say which acceptors may have acted. The handler is swapped, not the signal
    blocked: the kernel may hand the signal to any thread that does not block it (a library's),
    and Python then runs the handler on the main thread all the same. Only where Ctrl-C raises
    KeyboardInterrupt, on the main thread; elsewhere the block just runs."""
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield came
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        yield came
    finally:
        signal.signal(signal.SIGINT, previous)


def _running_app() -> Optional[Any]:
    # Looked up, not imported: a one-shot `-c` never loads prompt_toolkit for this.
    current = sys.modules.get("prompt_toolkit.application.current")
    app = current.get_app_or_none() if current is not None else None
    return app if app is not None and app.is_running and app.loop is not None else None


def _on_signal(signum: int, frame: object) -> None:
    if _pending:
        return  # already ending: a second signal would interrupt the cleanup that is running
    _pending.append(signum)
    app = _running_app()
    if app is None:
        raise SystemExit(128 + signum)
    app.loop.call_soon_threadsafe(_end_prompt, app)


def _end_prompt(app: Any) -> None:
    if _pending and app.is_running and not app.future.done():
        app.exit(exception=Terminated(_pending[0]))


def check() -> None:
    """As a prompt returns and before the next: end now for a signal that came while it was ending."""
    if _pending:
        raise SystemExit(128 + _pending[0])
