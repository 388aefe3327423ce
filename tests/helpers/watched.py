"""A shell watching real acceptors, and the foreign proposer process that drives the proxies.

Shared by the watch's end-to-end tests (test_watch.py, test_watch_rules.py): the
proposer is tests/helpers/foreign_proposer.py, a program of its own on `requests`,
which the shell did not start.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.commands.watchcmds import running_watch

from . import Acceptor, run

SCRIPT = str(Path(__file__).parent / "foreign_proposer.py")


class Watched:
    """A shell on three real acceptors, watching them; the proxies' URLs in acceptor order."""

    def __init__(self, sh: Shell, accs: list[Acceptor]) -> None:
        self.sh, self.accs = sh, accs
        w = running_watch(sh)
        assert w is not None
        self.watching = w
        self.urls = ",".join(w.watch.url(i) for i in (1, 2, 3))
        self.ports = w.watch.ports

    def propose(self, *args: str) -> dict[str, Any]:
        """Run the foreign proposer to its end; what it printed."""
        done = subprocess.run([sys.executable, SCRIPT, "--urls", self.urls, *args], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def watching(accs: list[Acceptor], *watch_args: str) -> Watched:
    """A shell on these acceptors (by URL, not a local pool) with `watch` running."""
    sh = Shell(Pool({a.id: a.url for a in accs}, "test pool"), timeout=5.0, stream=io.StringIO(),
               err=io.StringIO(), colour=False)
    code, out = run(sh, " ".join(("watch", *watch_args)))
    assert code == 0, out
    return Watched(sh, accs)
