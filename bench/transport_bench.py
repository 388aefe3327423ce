"""What requests costs the shell: per request against http.client, and once at import.

Three clients ask the same acceptor for its state over one kept-alive
connection each, in turn within every iteration so that they share the
machine's load: the standard library's http.client (what the shell used
before), requests.Session.get (what a requests user would write), and
transport.Link.call (what the shell does: requests' HTTPAdapter, with the
1 MiB cap, the tap and the request template). The import figures are whole
interpreter runs, so they include start-up; the bare interpreter is the
baseline.

Then a round: the state of 3 acceptors at once, two ways taking turns: each
acceptor's Link.call on a thread of a bare ThreadPoolExecutor (the least a
thread per request can cost), and Client.state, which does the same with
what a round adds (its deadline, Ctrl-C, the replies interpreted). Both
count only rounds in which all 3 answered 200.

Run: python bench/transport_bench.py [--requests N] [--runs N]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import requests
from common import HOST, acceptors, fmt, run_header, summary

from paxos_shell.core.wire import OK, STATE
from paxos_shell.net.client import Client
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.net.transport import Link


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


def per_round(ports: list[int], n: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    urls = {i: f"http://{HOST}:{port}" for i, port in enumerate(ports, 1)}
    links = [Link(url, ClientOptions()) for url in urls.values()]
    client = Client(urls, 5.0)
    pool = ThreadPoolExecutor(max_workers=len(links))

    def threads() -> int:
        answers = [f.result() for f in [pool.submit(link.call, "GET", STATE, 5) for link in links]]
        return sum(a.status == 200 for a in answers)

    def rounds() -> int:
        return len(client.state(list(urls)).ids(OK))

    ways: dict[str, Callable[[], int]] = {"Link.call on a thread each": threads,
                                          "Client.state": rounds}
    times: dict[str, list[float]] = {name: [] for name in ways}
    cpu = {name: 0.0 for name in ways}
    for k in range(200 + n):
        for name, fn in ways.items():
            t0, c0 = time.perf_counter(), time.process_time()
            answered = fn()
            took, used = time.perf_counter() - t0, time.process_time() - c0
            if answered != len(links):
                sys.exit(f"refusing to report: a round of {name} had {answered} of {len(links)} answers")
            if k >= 200:
                times[name].append(took)
                cpu[name] += used
    pool.shutdown()
    client.close()
    for link in links:
        link.close()
    return times, {name: used / n for name, used in cpu.items()}


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
    with acceptors(3) as procs:
        rounds, cpu = per_round([port for port, _ in procs], a.requests)
    base = statistics.median(rounds["Link.call on a thread each"])
    for name, samples in rounds.items():
        print(f"round of GET state on 3, {name:27s} {fmt(summary(samples))} "
              f"({statistics.median(samples) / base:.2f}x the threads), shell CPU {cpu[name] * 1000:.3f} ms a round")
    bare = import_time("pass", a.runs)
    print(f"python -c pass: {bare:.3f} s")
    for mod in ("http.client", "requests", "paxos_shell.net.transport"):
        took = import_time(f"import {mod}", a.runs)
        print(f"python -c 'import {mod}': {took:.3f} s (+{took - bare:.3f} s)")


if __name__ == "__main__":
    main()
