"""The real shell (`python -m paxos_shell` in a pseudo-terminal) watching its acceptors while a
foreign proposer process drives the proxies: what is typed at the prompt afterwards sees it all."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from .helpers import line, spawn
from .helpers.watched import SCRIPT

PROXY = re.compile(r"^\s*([123])\s+(http://127\.0\.0\.1:\d+)\s", re.M)


def test_a_script_the_shell_did_not_start_is_seen_by_check_and_trace_at_the_prompt(acceptors: Any) -> None:
    accs = acceptors(3)
    child = spawn(*[f"--url={a.id}={a.url}" for a in accs], "--timeout", "5")
    try:
        shown = line(child, "watch", "Point other proposers")
        urls = dict(PROXY.findall(shown))
        assert sorted(urls) == ["1", "2", "3"], shown
        done = subprocess.run([sys.executable, SCRIPT, "--urls", ",".join(urls[k] for k in "123"), "--id", "5",
                               "--value", "apple", "--to", "1"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        out = line(child, "check", "PROPOSER VIOLATION", "accept-without-quorum")
        assert "127.0.0.1" in out
        out = line(child, "trace", "P:127.0.0.1", "accept 5 apple")
        out = line(child, "watch off", "2 foreign exchanges recorded")
    finally:
        if child.isalive():
            child.kill(9)
        child.close()


def test_paxos_shell_watch_starts_with_the_proxies_and_prints_a_line_for_other_clients(acceptors: Any) -> None:
    accs = acceptors(3)
    done = subprocess.run([sys.executable, "-m", "paxos_shell", *[f"--url={a.id}={a.url}" for a in accs], "--watch",
                           "-c", "watch"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Watching") == 2 and "paxos-shell --" in done.stdout
    assert len(PROXY.findall(done.stdout)) == 6
