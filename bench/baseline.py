"""The previous acceptor, checked out from git into a temp dir, as the benchmarks' baseline.

BASELINE is the last commit with the standard-library server (one thread per
connection, hand-written framing). `checkout()` extracts its paxos_shell package
with `git archive`, so the baseline runs the old code exactly, without a copy in
the tree. Needs git and the repository's history.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from contextlib import contextmanager
from typing import Iterator

BASELINE = "b40f8f920e2c9ec489b7b5ce245dcfc6ac2d726a"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


@contextmanager
def checkout() -> Iterator[str]:
    """A directory whose paxos_shell is the baseline's: put it first on PYTHONPATH."""
    with tempfile.TemporaryDirectory(prefix="paxos-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", ROOT, "archive", BASELINE, "paxos_shell"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield tmp
