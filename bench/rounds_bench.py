"""Proposals through the engine against real acceptors, against the seed scripts' method.

The baseline, run in the same process on the same acceptors, contacts acceptors
one after another with a new connection each, as the old scripts did.

Run: python bench/rounds_bench.py [--proposals N]
Targets (issue 3): propose on 3 acceptors at median <= 3 ms; >= 3x the baseline on 5;
a prepare round with 2 of 5 blackholed, timeout 1 s, under 1.2 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
from urllib.parse import quote, urlsplit

from common import HOST, Blackhole, acceptors, fmt, summary

from paxos_shell import paxos
from paxos_shell.client import Client
from paxos_shell.proposer import Engine
from paxos_shell.session import Session


def one_by_one(url: str, path: str, timeout: float) -> dict | None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", path)
        return json.loads(conn.getresponse().read())
    except OSError:
        return None
    finally:
        conn.close()


def old_propose(urls: dict[int, str], n: int, value: str, timeout: float = 1.0) -> bool:
    """The seed's proposer_demo: every request in turn, a new connection each."""
    promises = []
    for i, url in urls.items():
        r = one_by_one(url, f"/api/paxos/prepare?id={n}", timeout)
        if r and r.get("ignored") is False:
            promises.append(paxos.Promise(i, n, r.get("acceptedId", -1), r.get("acceptedValue")))
    if len(promises) < paxos.quorum(len(urls)):
        return False
    v = paxos.choose_value(promises, value).value or value
    got = 0
    for p in promises:
        r = one_by_one(urls[p.acceptor], f"/api/paxos/accept?id={n}&value={quote(v)}", timeout)
        got += bool(r and r.get("ignored") is False)
    return got >= paxos.quorum(len(urls))


def bench_pool(size: int, count: int) -> tuple[dict, dict]:
    with acceptors(size) as procs:
        urls = {i: f"http://{HOST}:{port}" for i, (port, _) in enumerate(procs, 1)}
        eng = Engine(Client(urls, 1.0), Session(urls))
        for _ in range(50):  # warm-up: threads and connections
            eng.propose("warm")
        ours, old = [], []
        for k in range(count):
            t0 = time.perf_counter()
            res = eng.propose(f"v{k}")
            ours.append(time.perf_counter() - t0)
            assert res.ok
            n = eng.session.next_id()
            eng.session.proposer.seen = n
            t0 = time.perf_counter()
            assert old_propose(urls, n, f"v{k}")
            old.append(time.perf_counter() - t0)
        eng.client.close()
        return summary(ours), summary(old)


def bench_blackholed(timeout: float = 1.0, runs: int = 3) -> tuple[float, float]:
    with acceptors(3) as procs:
        holes = [Blackhole(), Blackhole()]
        urls = {i: f"http://{HOST}:{port}" for i, (port, _) in enumerate(procs, 1)}
        urls.update({4: f"http://{HOST}:{holes[0].port}", 5: f"http://{HOST}:{holes[1].port}"})
        ours, old = [], []
        n = 0
        for _ in range(runs):
            eng = Engine(Client(urls, timeout), Session(urls))
            n += 1
            t0 = time.perf_counter()
            res = eng.prepare(n)
            ours.append(time.perf_counter() - t0)
            assert res.promised == [1, 2, 3]
            eng.client.close()
            n += 1
            t0 = time.perf_counter()
            for url in urls.values():
                one_by_one(url, f"/api/paxos/prepare?id={n}", timeout)
            old.append(time.perf_counter() - t0)
        for h in holes:
            h.close()
        return statistics.median(ours), statistics.median(old)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proposals", type=int, default=500)
    count = ap.parse_args().proposals
    for size in (3, 5):
        ours, old = bench_pool(size, count)
        print(f"propose on {size}: engine   {fmt(ours)}")
        print(f"propose on {size}: baseline {fmt(old)}")
        print(f"propose on {size}: speed-up {old['median_ms'] / ours['median_ms']:.1f}x (median)")
    ours_b, old_b = bench_blackholed()
    print(f"prepare on 5 with 2 blackholed, timeout 1 s: engine {ours_b:.3f} s, baseline {old_b:.3f} s "
          f"({old_b / ours_b:.1f}x)")


if __name__ == "__main__":
    main()
