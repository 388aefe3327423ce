"""--restart CMD: run the user's restart command and wait, bounded, until the acceptor answers.

The command (typically a kill -9 and a start on the same data) runs in a shell
with `{url}` and `{id}` substituted (the URL shell-quoted). It may return at
once or when the acceptor is back; either way the audit then waits for /health
or the state route to answer, within RESTART_WAIT seconds of the start, and
otherwise fails with one line. The command's output is not shown (only its last
line of stderr, escaped, when it fails). Never decides a Paxos question.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
import time
from typing import Callable

from paxos_shell.core.errors import UserError
from paxos_shell.core.text import visible

RESTART_WAIT = 20.0
POLL = 0.05
"""Seconds between two probes of a restarting acceptor (product code: no event to wait on)."""


class RestartFailed(UserError):
    """The restart command failed, or the acceptor did not come back in time: one line."""


def command_line(cmd: str, url: str, ident: int) -> str:
    """CMD with {url} (shell-quoted) and {id} substituted."""
    return cmd.replace("{url}", shlex.quote(url)).replace("{id}", str(ident))


def run_command(cmd: str, url: str, ident: int, wait: float = RESTART_WAIT) -> None:
    """Run CMD ({url} and {id} substituted) in a shell; RestartFailed in one line if it fails."""
    with tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run(command_line(cmd, url, ident), shell=True, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=err, timeout=wait)
        except subprocess.TimeoutExpired:
            raise RestartFailed(f"the restart command did not return within {wait:g} s") from None
        if done.returncode != 0:
            err.seek(0)
            lines = err.read()[-400:].decode("utf-8", "replace").strip().splitlines()
            said = f": {visible(lines[-1])}" if lines else ""
            raise RestartFailed(f"the restart command exited with status {done.returncode}{said}")


def restart(action: Callable[[], None], answers: Callable[[], bool], wait: float = RESTART_WAIT) -> float:
    """Restart (the command, or the shell's own pool), then wait until `answers()`; the seconds it took."""
    start = time.monotonic()
    action()
    while not answers():
        if time.monotonic() - start > wait:
            raise RestartFailed(f"the acceptor did not come back within {wait:g} s of the restart")
        time.sleep(POLL)
    return time.monotonic() - start
