"""Helpers shared by the benchmarks: real acceptor processes and summary statistics."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from paxos_shell.pool.local import healthy
from tests.helpers import HOST, Blackhole, free_port  # the same doubles the tests use

__all__ = ["HOST", "Blackhole", "acceptors", "fmt", "free_port", "rss_mb", "run_header", "summary"]


def run_header() -> str:
    """The command, interpreter and machine load of this run: a figure means nothing without them."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    cmd = " ".join(["python", os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    return (f"{cmd}  (Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
            f"load average {load} at {time.strftime('%Y-%m-%d %H:%M')})")


@contextmanager
def acceptors(n: int, *extra: str) -> Iterator[list[tuple[int, subprocess.Popen]]]:
    """N durable paxos-acceptor processes on free loopback ports, stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="paxos-bench-") as data:
        procs = []
        try:
            for i in range(1, n + 1):
                port = free_port()
                p = subprocess.Popen([sys.executable, "-m", "paxos_shell.acceptor", "--id", str(i), "--port",
                                      str(port), "--data-dir", data, "--quiet", *extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                procs.append((port, p))
            for port, _ in procs:
                while not healthy(HOST, port):
                    time.sleep(0.01)
            yield procs
        finally:
            for _, p in procs:
                p.kill()
                p.wait()


def summary(samples: list[float]) -> dict[str, float]:
    """Median and p99 in milliseconds, and the rate one caller achieves."""
    s = sorted(samples)
    return {
        "median_ms": statistics.median(s) * 1000,
        "p99_ms": s[min(len(s) - 1, int(len(s) * 0.99))] * 1000,
        "per_s": len(s) / sum(s),
    }


def fmt(d: dict[str, float]) -> str:
    return f"median {d['median_ms']:.3f} ms, p99 {d['p99_ms']:.3f} ms, {d['per_s']:.0f}/s"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")
