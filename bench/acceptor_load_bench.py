"""The acceptor under 2,000 idle connections and a slowloris, against the previous acceptor in the same run.

For each acceptor, durable and quiet: every 50 ms, /health on a fresh connection and a
durable prepare on an established keep-alive connection, first for a third of --seconds
with no attack, then for --seconds while
--idle connections (each made one request, then stays open and silent) and --slow
slowloris connections (a header byte each every 0.5 s, never finishing) run. At the
end of the window: the acceptor's RSS, the idle connections it still holds, and how
many slowloris connections it cut off with a 408. Bounded in count and time; loopback.

Run: python bench/acceptor_load_bench.py [--idle N] [--slow N] [--seconds S]
"""

from __future__ import annotations

import argparse
import http.client
import os
import select
import socket
import threading
import time
from typing import Optional

from baseline import acceptor, checkout
from common import HOST, fmt, rss_mb, summary


def fresh_health(port: int) -> float:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", "/health")
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 200
    return time.perf_counter() - t0


def idle_connections(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection((HOST, port), timeout=30)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        if not s.recv(4096).startswith(b"HTTP/1.1 200"):
            raise RuntimeError("an idle connection's first request failed")
        s.setblocking(False)
        socks.append(s)
    return socks


def still_open(socks: list[socket.socket]) -> int:
    held = 0
    for s in socks:
        try:
            held += s.recv(1) != b""  # data would be a protocol error; b"" means closed
        except BlockingIOError:
            held += 1
        except OSError:
            pass
    return held


class Slowloris:
    """`n` connections sending one header byte each every `pace` seconds until stopped or cut off."""

    def __init__(self, port: int, n: int, pace: float = 0.5) -> None:
        self.socks = [socket.create_connection((HOST, port), timeout=30) for _ in range(n)]
        for s in self.socks:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        self.answers: dict[socket.socket, bytes] = {}
        self.pace, self._stop = pace, threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(self.pace):
            live = [s for s in self.socks if s not in self.answers]
            for s in live:
                try:
                    s.send(b"s")
                except OSError:
                    self.answers[s] = b""
            poll = select.poll()  # select() cannot take descriptors above 1023
            by_fd = {s.fileno(): s for s in live if s not in self.answers}
            for fd in by_fd:
                poll.register(fd, select.POLLIN)
            for fd, _ in poll.poll(0):
                try:
                    self.answers[by_fd[fd]] = by_fd[fd].recv(4096)
                except OSError:
                    self.answers[by_fd[fd]] = b""

    def stop(self) -> tuple[int, int]:
        """(cut off with a 408, cut off otherwise)."""
        self._stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()
        cut = sum(a.startswith(b"HTTP/1.1 408") for a in self.answers.values())
        return cut, len(self.answers) - cut


class Probe:
    """Every 50 ms: /health on a fresh connection, and a prepare on one kept-alive connection."""

    def __init__(self, port: int) -> None:
        self.port, self.n = port, 0
        self.client = http.client.HTTPConnection(HOST, port, timeout=30)

    def run(self, seconds: float) -> tuple[list[float], list[float]]:
        health, prepares = [], []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            health.append(fresh_health(self.port))
            self.n += 1
            t0 = time.perf_counter()
            self.client.request("POST", f"/api/paxos/prepare?id={self.n}")
            self.client.getresponse().read()
            prepares.append(time.perf_counter() - t0)
            time.sleep(0.05)
        return health, prepares


def measure(name: str, root: Optional[str], args: argparse.Namespace) -> None:
    with acceptor(root) as (port, proc):
        probe = Probe(port)
        quiet_health, quiet_prepares = probe.run(args.seconds / 3)
        idle = idle_connections(port, args.idle)
        slow = Slowloris(port, args.slow)
        health, prepares = probe.run(args.seconds)
        rss = rss_mb(proc.pid)
        held = still_open(idle)
        cut, dropped = slow.stop()
        probe.client.close()
        for s in idle:
            s.close()
    print(f"{name}:")
    print(f"  /health, fresh connection, no attack  {fmt(summary(quiet_health))}")
    print(f"  /health, fresh connection, attack     {fmt(summary(health))}")
    print(f"  keep-alive prepare, no attack         {fmt(summary(quiet_prepares))}")
    print(f"  keep-alive prepare, attack            {fmt(summary(prepares))}")
    print(f"  RSS {rss:.1f} MB with {args.idle} idle + {args.slow} slowloris connections; idle held "
          f"{held}/{args.idle}; slowloris cut by 408: {cut}, otherwise: {dropped}, of {args.slow}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=15.0, help="attack window (the head deadline is 10 s)")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.idle} idle, {args.slow} slowloris, {args.seconds:g} s")
    with checkout() as old:
        measure("previous acceptor", old, args)
        measure("this tree", None, args)


if __name__ == "__main__":
    main()
