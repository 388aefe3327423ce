"""The previous acceptor as the benchmarks' baseline, and acceptor processes of either version.

BASELINE is the last commit with the standard-library server (one thread per
connection, hand-written framing). `checkout()` extracts its paxos_shell package
with `git archive`, so the baseline runs the old code exactly, without a copy in
the tree (needs git and the repository's history). `acceptor()` starts one
acceptor process from this tree (root None) or from such a checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from common import HOST, free_port

from paxos_shell.pool.local import healthy

BASELINE = "b40f8f920e2c9ec489b7b5ce245dcfc6ac2d726a"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


@contextmanager
def checkout(commit: str = BASELINE) -> Iterator[str]:
    """A directory whose paxos_shell is that commit's (the baseline's): put it first on PYTHONPATH."""
    with tempfile.TemporaryDirectory(prefix="paxos-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", ROOT, "archive", commit, "paxos_shell"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield tmp


@contextmanager
def acceptor(root: Optional[str], *extra: str) -> Iterator[tuple[int, subprocess.Popen]]:
    """One durable, quiet acceptor (id 1) on a free port, from `root` (None: this tree); killed on exit."""
    with tempfile.TemporaryDirectory(prefix="paxos-bench-") as data:
        port = free_port()
        p = subprocess.Popen([sys.executable, "-m", "paxos_shell.acceptor", "--id", "1", "--port", str(port),
                              "--data-dir", data, "--quiet", *extra], **where(root),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not healthy(HOST, port):
                if p.poll() is not None:
                    raise RuntimeError(f"acceptor exited with {p.returncode}")
                time.sleep(0.01)
            yield port, p
        finally:
            p.kill()
            p.wait()


def where(root: Optional[str]) -> dict[str, Any]:
    """Popen's env and cwd that import paxos_shell from `root` (None: this tree). The cwd
    matters: `python -m` and `-c` put it first on sys.path, ahead of PYTHONPATH."""
    top = root or ROOT
    return {"env": dict(os.environ, PYTHONPATH=top), "cwd": top}


def store_kind(root: Optional[str]) -> str:
    """The first line of that tree's store.py docstring: which durability scheme was measured."""
    code = "import paxos_shell.acceptor.store as s; print((s.__doc__ or '?').strip().splitlines()[0], s.__file__)"
    return subprocess.run([sys.executable, "-c", code], **where(root), capture_output=True, text=True).stdout.strip()
