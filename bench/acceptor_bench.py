"""Acceptor round trips, durability on, against the previous acceptor (from git) in the same run.

Rows: one keep-alive connection, and a new connection per request, for prepare and
accept; each row is measured on the baseline and on this tree, alternating blocks so
load drift on a shared machine hits both alike. Then each acceptor is topped up to
10,000 requests and its resident memory read.

Run: python bench/acceptor_bench.py [--requests N] [--blocks N]
Targets (issue 10): keep-alive median <= 0.5 ms, p99 <= 2 ms, RSS <= 40 MB after 10,000 requests.
"""

from __future__ import annotations

import argparse
import http.client
import os
import time
from contextlib import ExitStack
from typing import Callable

from baseline import acceptor, checkout, store_kind
from common import HOST, fmt, rss_mb, summary

PathMaker = Callable[[int], str]


def timed(port: int, paths: list[str], keep: bool) -> list[float]:
    out = []
    conn = http.client.HTTPConnection(HOST, port, timeout=5) if keep else None
    for path in paths:
        t0 = time.perf_counter()
        c = conn or http.client.HTTPConnection(HOST, port, timeout=5)
        c.request("POST", path)
        r = c.getresponse()
        r.read()
        if conn is None:
            c.close()
        out.append(time.perf_counter() - t0)
        assert r.status == 200, r.status
    if conn is not None:
        conn.close()
    return out


class Ids:
    """Increasing ids per acceptor, so every prepare and accept is granted and persisted."""

    def __init__(self) -> None:
        self.last = 0

    def take(self, k: int, make: PathMaker) -> list[str]:
        ids = range(self.last + 1, self.last + k + 1)
        self.last += k
        return [make(i) for i in ids]


ROWS: dict[str, tuple[PathMaker, bool]] = {
    "prepare, keep-alive": (lambda i: f"/api/paxos/prepare?id={i}", True),
    "accept, keep-alive": (lambda i: f"/api/paxos/accept?id={i}&value=v{i}", True),
    "prepare, new connection": (lambda i: f"/api/paxos/prepare?id={i}", False),
    "accept, new connection": (lambda i: f"/api/paxos/accept?id={i}&value=v{i}", False),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000, help="requests per row and acceptor")
    ap.add_argument("--blocks", type=int, default=4, help="alternating blocks per row")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.requests} requests per row")
    with checkout() as old, ExitStack() as stack:
        servers = {"previous": old, "this tree": None}
        for name, root in servers.items():
            print(f"store ({name}): {store_kind(root)}")
        procs = {name: stack.enter_context(acceptor(root)) for name, root in servers.items()}
        ids = {name: Ids() for name in servers}
        for name, (port, _) in procs.items():
            timed(port, ids[name].take(200, ROWS["prepare, keep-alive"][0]), True)  # warm-up
        per_block = max(1, args.requests // args.blocks)
        for row, (make, keep) in ROWS.items():
            samples: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(args.blocks):
                for name, (port, _) in procs.items():
                    samples[name] += timed(port, ids[name].take(per_block, make), keep)
            for name in servers:
                print(f"{row:26s} {name:10s} {fmt(summary(samples[name]))}")
        for name, (port, proc) in procs.items():
            if ids[name].last < 10_000:
                timed(port, ids[name].take(10_000 - ids[name].last, ROWS["prepare, keep-alive"][0]), True)
            print(f"RSS after {ids[name].last} requests, {name}: {rss_mb(proc.pid):.1f} MB")


if __name__ == "__main__":
    main()
