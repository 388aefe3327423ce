"""Start-up to a usable prompt, `up` of one acceptor, and the shell's memory after 1,000 commands.

"Usable prompt" is the first complete render of the REPL in a pseudo-terminal,
placeholder included. The baseline, measured in the same run, is a bare
interpreter importing prompt_toolkit: the floor any prompt_toolkit shell pays.

Run: python bench/startup_bench.py [--runs N] [--commands N]
Targets: existing pool < 0.5 s (issue 4); local pool of 3 < 1.5 s and `up` < 1 s (issue 5);
RSS < 80 MB after 1,000 commands (issue 4).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import pexpect
from common import HOST, acceptors, rss_mb

from paxos_shell.pool.local import LocalPool

ENV = dict(os.environ, TERM="xterm", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1")


def start_shell(*args: str) -> pexpect.spawn:
    """The REPL in a pseudo-terminal, returned once its first render is complete."""
    child = pexpect.spawn(sys.executable, ["-m", "paxos_shell", *args], env=ENV, encoding="utf-8",
                          timeout=20, dimensions=(40, 200))
    child.expect_exact("state, help")  # the end of the placeholder
    return child


def leave(child: pexpect.spawn) -> None:
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()


def to_prompt(*args: str) -> float:
    t0 = time.perf_counter()
    child = start_shell(*args)
    took = time.perf_counter() - t0
    leave(child)
    return took


def baseline() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import prompt_toolkit"], check=True)
    return time.perf_counter() - t0


def up_time(runs: int) -> float:
    pool = LocalPool(3)
    try:
        pool.start()
        times = []
        for _ in range(runs):
            pool.down([2])
            t0 = time.perf_counter()
            pool.up([2])  # returns once /health answers
            times.append(time.perf_counter() - t0)
        return statistics.median(times)
    finally:
        pool.close()


def memory_after(commands: int, url_args: list[str]) -> float:
    child = start_shell(*url_args)
    time.sleep(0.2)
    cycle = ["prepare", "accept", "state", "history 5"]
    for k in range(commands):
        cmd = cycle[k % 4] + (f" v{k}" if cycle[k % 4] == "accept" else "")
        child.send(cmd + "\r")
        child.expect(r"\]> ")
    child.expect_exact("state, help")
    rss = rss_mb(child.pid)
    leave(child)
    return rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--commands", type=int, default=1000)
    a = ap.parse_args()
    base = statistics.median(baseline() for _ in range(a.runs))
    print(f"baseline: python -c 'import prompt_toolkit': {base:.3f} s")
    with acceptors(3) as procs:
        url_args = [x for i, (port, _) in enumerate(procs, 1) for x in ("--url", f"{i}=http://{HOST}:{port}")]
        existing = statistics.median(to_prompt(*url_args) for _ in range(a.runs))
        print(f"to prompt, existing pool of 3: {existing:.3f} s ({existing / base:.2f}x baseline)")
        local = statistics.median(to_prompt() for _ in range(a.runs))
        print(f"to prompt, local pool of 3:    {local:.3f} s ({local / base:.2f}x baseline)")
        print(f"up of one acceptor to answering /health: {up_time(a.runs * 2):.3f} s (median)")
        print(f"shell RSS after {a.commands} commands: {memory_after(a.commands, url_args):.1f} MB")


if __name__ == "__main__":
    main()
