"""--restart CMD: run the user's restart command and wait, bounded, until the acceptor answers.

The command (typically a kill -9 and a start on the same data) runs in a shell
with `{url}` and `{id}` substituted (the URL shell-quoted). It may return at
once or when the acceptor is back; either way the audit then waits for /health
or the state route to answer, within RESTART_WAIT seconds of the start, and
otherwise fails with one line. A command still running at that deadline is
killed with its process group (by the group's id, never by name). The command's
output is not shown (only its last line of stderr, escaped, when it fails).
Never decides a Paxos question.
"""

from __future__ import annotations

import os
import shlex
import signal
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
    """Run CMD ({url} and {id} substituted) in a shell; RestartFailed in one line if it fails.

    The shell leads a process group of its own, so a command still running at `wait` is
    killed with every process it started that stayed in the group (a hung `sleep 300 &`
    would otherwise outlive the audit). A command that returns in time may leave processes
    behind on purpose, the acceptor it started among them: those are left alone.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command_line(cmd, url, ident), shell=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            status = proc.wait(timeout=wait)
        except BaseException as e:  # the deadline, or Ctrl-C, which no longer reaches its own session
            _kill_group(proc)
            if isinstance(e, subprocess.TimeoutExpired):
                raise RestartFailed(f"the restart command did not return within {wait:g} s; "
                                    "it was killed, with its process group") from None
            raise
        if status != 0:
            err.seek(0)
            lines = err.read()[-400:].decode("utf-8", "replace").strip().splitlines()
            said = f": {visible(lines[-1])}" if lines else ""
            raise RestartFailed(f"the restart command exited with status {status}{said}")


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group the command's shell leads (its id is the shell's pid, since
    start_new_session made it so), then reap the shell."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is already empty
    proc.wait()


def restart(action: Callable[[], None], answers: Callable[[], bool], wait: float = RESTART_WAIT) -> float:
    """Restart (the command, or the shell's own pool), then wait until `answers()`; the seconds it took."""
    start = time.monotonic()
    action()
    while not answers():
        if time.monotonic() - start > wait:
            raise RestartFailed(f"the acceptor did not come back within {wait:g} s of the restart")
        time.sleep(POLL)
    return time.monotonic() - start
