"""The watch's cost and its limits (issue 22): latency through a proxy, 32 proposers at once,
the shell's prompt meanwhile, and memory over 100,000 exchanges.

In one run, on 3 acceptor processes on loopback, an in-process shell (the real Shell, output to
memory) runs `watch`; foreign proposers are separate processes (this file with --drive), as on
a class's pool:

1. latency: one proposer on kept-alive connections (http.client) sends prepare to acceptor 1
   directly and through its proxy, alternately, --requests times each; the goal is at most
   0.3 ms added to the median.
2. load: 32 proposers at once (threads of one process, half on a new connection per request like
   the old scripts, half kept alive), each sending --per prepare/accept pairs; every one must get
   every reply and every exchange must be in the record, under its label. Meanwhile the shell's
   thread runs a command every 50 ms, as a teacher typing, alternately `watch` (the proposers
   seen: the session and the record, read under the guard the proxies take for every exchange)
   and `state` (a round to the acceptors, which are busy with the 32): each must be answered
   within 100 ms; the goal is judged on `watch`, since `state` also waits on busy acceptors.
3. memory: --exchanges exchanges (8 kept-alive proposers, prepare then accept at rising ids);
   the shell process's RSS after each tenth: flat once the history is full means bounded.

Acceptors are --volatile for 1 (an fsync's variance would swamp a tenth of a millisecond) and
durable for 2 and 3. Every loop is bounded in count and in time.

Run: python bench/watch_bench.py [--requests N] [--per N] [--exchanges N]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from common import HOST, acceptors, rss_mb, run_header

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.commands.watchcmds import Watching, running_watch

DEADLINE = 600.0
"""Seconds any one phase may take before the run gives up."""


# -- the foreign proposers (a process of their own) -------------------------------------------

def drive(args: argparse.Namespace) -> None:
    """--drive MODE: act as foreign proposers and print what they saw as one JSON line."""
    urls = args.urls.split(",")
    if args.drive == "latency":
        direct, proxied = urls
        print(json.dumps(latency(direct, proxied, args.requests)))
    else:
        print(json.dumps(load(urls, args.threads, args.per, args.drive == "mixed", args.start)))


def latency(direct: str, proxied: str, n: int) -> dict[str, list[float]]:
    conns = {k: http.client.HTTPConnection(HOST, urlsplit(u).port, timeout=30)
             for k, u in (("direct", direct), ("proxied", proxied))}
    out: dict[str, list[float]] = {"direct": [], "proxied": []}
    for i in range(n):
        for k in ("direct", "proxied") if i % 2 else ("proxied", "direct"):
            t0 = time.perf_counter()
            conns[k].request("POST", f"/api/paxos/prepare?id={i + 1}", headers={"X-Paxos-Proposer": "bench"})
            r = conns[k].getresponse()
            r.read()
            out[k].append(time.perf_counter() - t0)
            assert r.status == 200, r.status
    return out


def load(urls: list[str], threads: int, per: int, mixed: bool, start: int) -> dict[str, Any]:
    """`threads` proposers at once; each proposal is prepare n then accept n to one acceptor."""
    got: dict[str, int] = {}
    lock = threading.Lock()

    def proposer(k: int) -> None:
        fresh = mixed and k % 2 == 0  # a new connection per request, like the old scripts
        url = urlsplit(urls[k % len(urls)])
        conn = http.client.HTTPConnection(HOST, url.port, timeout=30)
        ok = 0
        for j in range(per):
            n = start + (j * threads + k) * 100 + k % 100
            for path in (f"/api/paxos/prepare?id={n}", f"/api/paxos/accept?id={n}&value=v{k}"):
                if fresh:
                    conn.close()
                conn.request("POST", path, headers={"X-Paxos-Proposer": f"p{k}"})
                r = conn.getresponse()
                r.read()
                ok += r.status == 200
        with lock:
            got[f"p{k}"] = ok

    ts = [threading.Thread(target=proposer, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(DEADLINE)
    return got


def run_drive(urls: list[str], mode: str, **kw: Any) -> subprocess.Popen:
    extra = [x for k, v in kw.items() for x in (f"--{k}", str(v))]
    return subprocess.Popen([sys.executable, __file__, "--drive", mode, "--urls", ",".join(urls), *extra],
                            stdout=subprocess.PIPE, text=True)


def result(p: subprocess.Popen) -> Any:
    out, _ = p.communicate(timeout=DEADLINE)
    assert p.returncode == 0
    return json.loads(out)


# -- the shell's side ---------------------------------------------------------------------------

def ms(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * q))] * 1000


def phase_latency(sh: Shell, w: Watching, direct: str, n: int) -> None:
    got = result(run_drive([direct, w.watch.url(1)], "latency", requests=n))
    d, p = statistics.median(got["direct"]) * 1000, statistics.median(got["proxied"]) * 1000
    print(f"latency, prepare to one volatile acceptor, {n} each, alternating, kept alive:")
    print(f"  direct   median {d:.3f} ms  p90 {ms(got['direct'], 0.9):.3f} ms  p99 {ms(got['direct'], 0.99):.3f} ms")
    print(f"  proxied  median {p:.3f} ms  p90 {ms(got['proxied'], 0.9):.3f} ms  p99 {ms(got['proxied'], 0.99):.3f} ms")
    verdict = "met" if p - d <= 0.3 else "NOT met"
    print(f"  added by the proxy: {p - d:.3f} ms median (goal: at most 0.300 ms: {verdict})")


def phase_load(sh: Shell, w: Watching, per: int) -> None:
    before = w.recorder.exchanges
    proc = run_drive([w.watch.url(i) for i in (1, 2, 3)], "mixed", threads=32, per=per, start=1000)
    waits: dict[str, list[float]] = {"watch": [], "state": []}
    end = time.monotonic() + DEADLINE
    while proc.poll() is None and time.monotonic() < end:
        line = "watch" if len(waits["watch"]) <= len(waits["state"]) else "state"
        t0 = time.perf_counter()
        sh.run_line(line)
        waits[line].append(time.perf_counter() - t0)
        time.sleep(0.05)
    got = result(proc)
    sent = 32 * per * 2
    with sh.session.guard:
        recorded = w.recorder.exchanges - before
        labels = {f"p{k}": w.recorder.by_label.get(f"p{k}", 0) for k in range(32)}
    print(f"load: 32 proposers at once (16 on a new connection per request), {per} prepare+accept pairs each:")
    print(f"  replies received: {sum(got.values())} of {sent} (every proposer: "
          f"{'yes' if all(v == per * 2 for v in got.values()) and len(got) == 32 else 'NO'})")
    print(f"  exchanges in the record: {recorded} of {sent}; under each proposer's label: "
          f"{'all' if all(v == per * 2 for v in labels.values()) else labels}")
    for line, xs in waits.items():
        goal = f" (goal: within 100 ms: {'met' if max(xs) <= 0.1 else 'NOT met'})" if line == "watch" else ""
        print(f"  `{line}` typed meanwhile: {len(xs)} commands, median {ms(xs, 0.5):.1f} ms, "
              f"p99 {ms(xs, 0.99):.1f} ms, max {max(xs) * 1000:.1f} ms{goal}")


def phase_memory(sh: Shell, w: Watching, exchanges: int) -> None:
    tenth = exchanges // 10
    per = max(1, tenth // (8 * 2))
    print(f"memory: {exchanges} exchanges, by tenths (8 kept-alive proposers, prepare then accept):")
    start = 10_000_000
    for _ in range(10):
        got = result(run_drive([w.watch.url(i) for i in (1, 2, 3)], "kept", threads=8, per=per, start=start))
        start += 8 * per * 100 + 100
        assert sum(got.values()) == 8 * per * 2
        with sh.session.guard:
            done, history = w.recorder.exchanges, len(sh.session.history)
            held = sh.session.knowledge.held()
        print(f"  {done:>7} exchanges: shell RSS {rss_mb(os.getpid()):6.1f} MB, history {history} replies, "
              f"model {held['votes']} (id, value) pairs with votes, {held['proposals']} proposals, "
              f"{held['past']} let go with their voters")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--per", type=int, default=100)
    ap.add_argument("--exchanges", type=int, default=100_000)
    ap.add_argument("--drive")
    ap.add_argument("--urls")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--start", type=int, default=1)
    args = ap.parse_args()
    if args.drive:
        return drive(args)
    print(run_header())
    with acceptors(1, "--volatile") as fast, acceptors(3) as pool:
        sh = Shell(Pool({i + 1: f"http://{HOST}:{port}" for i, (port, _) in enumerate(pool)}, "bench"),
                   timeout=5.0, stream=io.StringIO(), err=io.StringIO(), colour=False)
        try:
            lat = Shell(Pool({1: f"http://{HOST}:{fast[0][0]}"}, "bench, volatile"), timeout=5.0,
                        stream=io.StringIO(), err=io.StringIO(), colour=False)
            lat.run_line("watch")
            w = running_watch(lat)
            assert w is not None
            phase_latency(lat, w, f"http://{HOST}:{fast[0][0]}", args.requests)
            lat.close()
            sh.run_line("watch")
            w = running_watch(sh)
            assert w is not None
            phase_load(sh, w, args.per)
            phase_memory(sh, w, args.exchanges)
        finally:
            sh.close()


if __name__ == "__main__":
    main()
