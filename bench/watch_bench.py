"""The watch's cost and its limits (issue 22): latency through a proxy, 32 proposers at once,
the shell's prompt meanwhile, and memory over 100,000 exchanges.

In one run, on acceptor processes on loopback; the foreign proposers are separate processes (this
file with --drive), as on a class's pool; the shell is the real Shell, output to memory:

1. latency: a shell process of its own (the real Shell, `watch`, nothing else to do) puts a proxy
   in front of one volatile acceptor; one proposer on kept-alive connections (http.client) sends
   prepare to the acceptor directly and through the proxy, alternately, --requests times each, at
   rising ids (each one granted); the goal is at most 0.3 ms added to the median. With --baseline
   COMMIT a second shell process runs that commit's paxos_shell (extracted with `git archive`,
   bench/baseline.py) with its proxy in front of the same acceptor; the two proxies take turns by
   blocks of BLOCK requests, each beside its own direct ones, so both are measured in one run, under
   the same load, each exactly as it would be alone.
2. load (3 acceptors, an in-process shell running `watch`): 32 proposers at once (threads of one
   process, half on a new connection per request like the old scripts, half kept alive), each
   sending --per prepare/accept pairs; every one must get every reply and every exchange must be
   in the record, under its label. Meanwhile the shell's thread runs a command every 50 ms, as a
   teacher typing, alternately `watch` (the proposers seen: the session and the record, read under
   the guard the proxies take for every exchange) and `state` (a round to the acceptors, which are
   busy with the 32): each must be answered within 100 ms; the goal is judged on `watch`, since
   `state` also waits on busy acceptors.
3. memory: --exchanges exchanges (8 kept-alive proposers, prepare then accept at rising ids);
   the shell process's RSS after each tenth: flat once the history is full means bounded.

Acceptors are --volatile for 1 (an fsync's variance would swamp a tenth of a millisecond) and
durable for 2 and 3. Every loop is bounded in count and in time.

Run: python bench/watch_bench.py [--requests N] [--per N] [--exchanges N] [--baseline COMMIT]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Optional
from urllib.parse import urlsplit

from baseline import checkout, where
from common import HOST, acceptors, rss_mb, run_header

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.commands.watchcmds import Watching, running_watch

DEADLINE = 600.0
"""Seconds any one phase may take before the run gives up."""
BLOCK = 100
"""Turns in a row through one proxy in the latency phase (with --baseline, the two take turns by block)."""


# -- the foreign proposers (a process of their own) -------------------------------------------

def drive(args: argparse.Namespace) -> None:
    """--drive MODE: act as foreign proposers and print what they saw as one JSON line."""
    urls = args.urls.split(",")
    if args.drive == "latency":
        print(json.dumps(latency(urls, args.requests)))
    else:
        print(json.dumps(load(urls, args.threads, args.per, args.drive == "mixed", args.start)))


def latency(urls: list[str], n: int) -> dict[str, list[list[float]]]:
    """Seconds per prepare: urls[0] direct, each other a proxy. In blocks of BLOCK turns, one proxy a
    block (the proxies in rotation), each turn a prepare direct and one through that block's proxy
    (which first alternating); n through each proxy, as many direct beside each; ids rising."""
    conns = [http.client.HTTPConnection(HOST, urlsplit(u).port, timeout=30) for u in urls]
    out: dict[str, list[list[float]]] = {"direct": [[] for _ in urls[1:]], "proxied": [[] for _ in urls[1:]]}
    sent = 0
    for b in range(-(-n // BLOCK) * len(urls[1:])):
        p = b % len(urls[1:])
        for i in range(min(BLOCK, n - len(out["proxied"][p]))):
            for k in (0, p + 1) if i % 2 else (p + 1, 0):
                sent += 1
                t0 = time.perf_counter()
                conns[k].request("POST", f"/api/paxos/prepare?id={sent}", headers={"X-Paxos-Proposer": "bench"})
                r = conns[k].getresponse()
                r.read()
                out["proxied" if k else "direct"][p].append(time.perf_counter() - t0)
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


WATCHER = """
import io, json, os, sys
import paxos_shell
from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.commands.watchcmds import running_watch
sh = Shell(Pool({1: sys.argv[1]}, "bench, volatile"), timeout=5.0, stream=io.StringIO(), err=io.StringIO(),
           colour=False)
sh.run_line("watch")
w = running_watch(sh)
assert w is not None
print(json.dumps({"url": w.watch.url(1), "tree": os.path.dirname(os.path.dirname(paxos_shell.__file__))}),
      flush=True)
sys.stdin.read()  # until the bench closes it
sh.close()
"""
"""A shell process watching one acceptor (argv[1]), with the paxos_shell of its cwd: prints its proxy's URL."""


class Watcher:
    """A shell process of its own, from this tree (root None) or a baseline's checkout, running `watch`."""

    def __init__(self, name: str, root: Optional[str], acceptor: str) -> None:
        self.name = name
        self.proc = subprocess.Popen([sys.executable, "-c", WATCHER, acceptor], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, **where(root))
        assert self.proc.stdout is not None
        said = json.loads(self.proc.stdout.readline() or "{}")
        if "url" not in said:
            self.close()
            sys.exit(f"the {name} shell did not start its watch")
        self.url, self.tree = said["url"], said["tree"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def phase_latency(direct: str, n: int, baseline: Optional[tuple[str, str]]) -> None:
    """Direct, through this tree's proxy and (with --baseline) through the baseline's, in turn."""
    watchers = [Watcher("this tree", None, direct)]
    if baseline is not None:
        watchers.append(Watcher(f"baseline {baseline[0]}", baseline[1], direct))
    try:
        got = result(run_drive([direct, *(w.url for w in watchers)], "latency", requests=n))
    finally:
        for w in watchers:
            w.close()
    print(f"latency, prepare to one volatile acceptor, kept alive, {n} through each proxy and as many direct")
    print(f"beside them, in turn, in blocks of {BLOCK} (proxies in rotation):")
    added = []
    for w, direct_s, proxied_s in zip(watchers, got["direct"], got["proxied"]):
        for name, xs in (("direct", direct_s), (f"via {w.name}", proxied_s)):
            print(f"  {name:<22} median {statistics.median(xs) * 1000:.3f} ms  p90 {ms(xs, 0.9):.3f} ms  "
                  f"p99 {ms(xs, 0.99):.3f} ms")
        added.append((statistics.median(proxied_s) - statistics.median(direct_s)) * 1000)
    verdict = "met" if added[0] <= 0.3 else "NOT met"
    print(f"  added by this tree's proxy: {added[0]:.3f} ms median (goal: at most 0.300 ms: {verdict})")
    if baseline is not None:
        print(f"  added by the baseline's proxy ({watchers[1].tree}): {added[1]:.3f} ms median; this tree's "
              f"adds {added[1] - added[0]:.3f} ms less ({added[0] / added[1]:.2f} of it)")


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
    ap.add_argument("--baseline", help="also measure this commit's proxy in the latency phase")
    ap.add_argument("--drive")
    ap.add_argument("--urls")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--start", type=int, default=1)
    args = ap.parse_args()
    if args.drive:
        return drive(args)
    print(run_header())
    with acceptors(1, "--volatile") as fast:
        with checkout(args.baseline) if args.baseline else contextlib.nullcontext() as old:
            phase_latency(f"http://{HOST}:{fast[0][0]}", args.requests,
                          (args.baseline, old) if args.baseline else None)
    with acceptors(3) as pool:
        sh = Shell(Pool({i + 1: f"http://{HOST}:{port}" for i, (port, _) in enumerate(pool)}, "bench"),
                   timeout=5.0, stream=io.StringIO(), err=io.StringIO(), colour=False)
        try:
            sh.run_line("watch")
            w = running_watch(sh)
            assert w is not None
            phase_load(sh, w, args.per)
            phase_memory(sh, w, args.exchanges)
        finally:
            sh.close()

if __name__ == "__main__":
    main()
