"""h11 against aiohttp for the acceptor's HTTP front, measured on this machine.

Each variant is a real server process with the real AcceptorNode and durable Store:
bench/stacks/proto_h11.py and proto_aiohttp.py (node called inline, or in one worker
thread with --thread), and the previous standard-library acceptor from git (reference).
For each: start time (spawn to /health answering, median of --runs), keep-alive round
trips (GET /health and a durable POST prepare on one connection), and the cost of idle
connections (RSS before and after opening --idle connections that each made one request).

Last, the node inline against a worker thread, on h11, in alternating blocks.

Run: python bench/http_stack_bench.py [--requests N] [--idle N] [--runs N]   (needs aiohttp)
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Iterator

from baseline import checkout, where
from common import HOST, fmt, free_port, rss_mb, summary

from paxos_shell.pool.local import healthy

HERE = os.path.dirname(os.path.abspath(__file__))


def variants(old_root: str) -> dict[str, tuple[list[str], dict[str, Any]]]:
    py = sys.executable
    return {
        "stdlib threads (previous)": ([py, "-m", "paxos_shell.acceptor", "--id", "1", "--quiet", "--port"],
                                      where(old_root)),
        "h11, inline": ([py, os.path.join(HERE, "stacks", "proto_h11.py")], where(None)),
        "h11, worker thread": ([py, os.path.join(HERE, "stacks", "proto_h11.py"), "--thread"], where(None)),
        "aiohttp, inline": ([py, os.path.join(HERE, "stacks", "proto_aiohttp.py")], where(None)),
        "aiohttp, worker thread": ([py, os.path.join(HERE, "stacks", "proto_aiohttp.py"), "--thread"], where(None)),
    }


@contextmanager
def server(cmd: list[str], popen: dict[str, Any]) -> Iterator[tuple[int, subprocess.Popen, float]]:
    """The server on a free port; yields (port, process, seconds from spawn to /health)."""
    with tempfile.TemporaryDirectory(prefix="paxos-stack-") as data:
        port = free_port()
        if "--port" in cmd:  # the acceptor's CLI
            full = [*cmd, str(port), "--data-dir", data]
        else:  # a prototype: PORT DATA_DIR [--thread]
            full = [cmd[0], cmd[1], str(port), os.path.join(data, "a"), *cmd[2:]]
        t0 = time.perf_counter()
        p = subprocess.Popen(full, **popen, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not healthy(HOST, port, timeout=1.0):
                if p.poll() is not None:
                    raise RuntimeError(f"{full} exited with {p.returncode}")
                time.sleep(0.002)
            yield port, p, time.perf_counter() - t0
        finally:
            p.kill()
            p.wait()


def round_trips(port: int, method: str, paths: list[str]) -> list[float]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    out = []
    for path in paths:
        t0 = time.perf_counter()
        conn.request(method, path)
        r = conn.getresponse()
        r.read()
        out.append(time.perf_counter() - t0)
        assert r.status == 200, r.status
    conn.close()
    return out


def idle_cost(port: int, pid: int, count: int) -> tuple[float, float, float]:
    """RSS before, after `count` idle keep-alive connections, and a fresh /health's latency then."""
    before = rss_mb(pid)
    socks = []
    try:
        for _ in range(count):
            s = socket.create_connection((HOST, port), timeout=10)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            if not s.recv(4096).startswith(b"HTTP/1.1 200"):
                raise RuntimeError("no 200 on an idle connection's first request")
            socks.append(s)
        time.sleep(0.5)
        after = rss_mb(pid)
        t0 = time.perf_counter()
        assert healthy(HOST, port, timeout=10)
        return before, after, time.perf_counter() - t0
    finally:
        for s in socks:
            s.close()


def measure(name: str, cmd: list[str], popen: dict[str, Any], args: argparse.Namespace) -> None:
    starts = []
    for _ in range(args.runs):
        with server(cmd, popen) as (_, _, took):
            starts.append(took)
    with server(cmd, popen) as (port, p, _):
        round_trips(port, "GET", ["/health"] * 200)  # warm-up
        health = summary(round_trips(port, "GET", ["/health"] * args.requests))
        prep = summary(round_trips(port, "POST", [f"/api/paxos/prepare?id={i}" for i in range(1, args.requests + 1)]))
        before, after, fresh = idle_cost(port, p.pid, args.idle)
    print(f"{name}:")
    print(f"  start to /health     {statistics.median(starts) * 1000:.0f} ms (median of {args.runs})")
    print(f"  GET /health          {fmt(health)}")
    print(f"  POST prepare (fsync) {fmt(prep)}")
    print(f"  idle connections     {args.idle}: RSS {before:.1f} -> {after:.1f} MB, "
          f"{(after - before) * 1024 / args.idle:.1f} KB each; fresh /health then {fresh * 1000:.1f} ms")


def inline_or_thread(args: argparse.Namespace) -> None:
    """The node in the event loop or in a worker thread: both h11 servers up at once, durable
    prepares in alternating blocks, so load drift on a shared machine hits both alike."""
    proto = [sys.executable, os.path.join(HERE, "stacks", "proto_h11.py")]
    with server(proto, where(None)) as (inline, _, _), server([*proto, "--thread"], where(None)) as (thread, _, _):
        samples: dict[str, list[float]] = {"inline": [], "worker thread": []}
        block, n = max(1, args.requests // 8), 0
        for _ in range(8):
            for name, port in (("inline", inline), ("worker thread", thread)):
                samples[name] += round_trips(port, "POST", [f"/api/paxos/prepare?id={i}"
                                                            for i in range(n + 1, n + block + 1)])
            n += block
    for name, values in samples.items():
        print(f"h11 prepare, node {name:14s} {fmt(summary(values))} (interleaved)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    with checkout() as old_root:
        for name, (cmd, popen) in variants(old_root).items():
            measure(name, cmd, popen, args)
    inline_or_thread(args)


if __name__ == "__main__":
    main()
