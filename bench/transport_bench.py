"""What requests costs the shell: per request against http.client, and once at import.

Three clients ask the same acceptor for its state over one kept-alive
connection each, in turn within every iteration so that they share the
machine's load: the standard library's http.client (what the shell used
before), requests.Session.get (what a requests user would write), and
transport.Link.call (what the shell does: requests' HTTPAdapter, with the
1 MiB cap, the tap and the request template). The import figures are whole
interpreter runs, so they include start-up; the bare interpreter is the
baseline.

Run: python bench/transport_bench.py [--requests N] [--runs N]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import time
from typing import Callable

import requests
from common import HOST, acceptors, fmt, run_header, summary

from paxos_shell.clientopts import ClientOptions
from paxos_shell.transport import Link
from paxos_shell.wire import STATE


def per_request(port: int, n: int) -> dict[str, list[float]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    sess = requests.Session()
    link = Link(f"http://{HOST}:{port}", ClientOptions())
    url = f"http://{HOST}:{port}{STATE}"

    def stdlib() -> None:
        conn.request("GET", STATE)
        conn.getresponse().read()

    def session() -> None:
        sess.get(url, timeout=5).content  # noqa: B018 - reading the body is the point

    def ours() -> None:
        link.call("GET", STATE, 5)

    clients: dict[str, Callable[[], None]] = {
        "http.client.HTTPConnection": stdlib, "requests.Session.get": session, "transport.Link.call": ours}
    times: dict[str, list[float]] = {name: [] for name in clients}
    for k in range(200 + n):
        for name, fn in clients.items():
            t0 = time.perf_counter()
            fn()
            if k >= 200:  # the first 200 warm up
                times[name].append(time.perf_counter() - t0)
    conn.close()
    sess.close()
    link.close()
    return times


def import_time(code: str, runs: int) -> float:
    def once() -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t0

    return statistics.median(once() for _ in range(runs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=9)
    a = ap.parse_args()
    print(run_header())
    with acceptors(1) as procs:
        times = per_request(procs[0][0], a.requests)
    base = statistics.median(times["http.client.HTTPConnection"])
    for name, samples in times.items():
        extra = (statistics.median(samples) - base) * 1000
        print(f"GET state, kept alive, {name:27s} {fmt(summary(samples))} (+{extra:.3f} ms at the median)")
    bare = import_time("pass", a.runs)
    print(f"python -c pass: {bare:.3f} s")
    for mod in ("http.client", "requests", "paxos_shell.transport"):
        took = import_time(f"import {mod}", a.runs)
        print(f"python -c 'import {mod}': {took:.3f} s (+{took - bare:.3f} s)")


if __name__ == "__main__":
    main()
