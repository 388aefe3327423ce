"""Acceptor round trips, durability on: one keep-alive connection versus a new connection each.

Run: python bench/acceptor_bench.py [--requests N]
Targets (issue 2): keep-alive median < 1 ms, p99 < 5 ms; RSS < 40 MB after 10,000 requests.
"""

from __future__ import annotations

import argparse
import http.client
import time

from common import HOST, acceptors, fmt, rss_mb, summary


def timed(conn_factory, paths: list[str], keep: bool) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    conn = conn_factory() if keep else None
    for path in paths:
        t0 = time.perf_counter()
        c = conn or conn_factory()
        c.request("POST", path)
        r = c.getresponse()
        r.read()
        if not keep:
            c.close()
        out.append(time.perf_counter() - t0)
        assert r.status == 200
    if conn:
        conn.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    n = ap.parse_args().requests
    with acceptors(1) as procs:
        port, proc = procs[0]

        def factory() -> http.client.HTTPConnection:
            return http.client.HTTPConnection(HOST, port, timeout=5)

        next_id = [0]

        def prepares(k: int) -> list[str]:
            ids = range(next_id[0] + 1, next_id[0] + k + 1)
            next_id[0] += k
            return [f"/api/paxos/prepare?id={i}" for i in ids]

        def accepts(k: int) -> list[str]:
            ids = range(next_id[0] + 1, next_id[0] + k + 1)
            next_id[0] += k
            return [f"/api/paxos/accept?id={i}&value=v{i}" for i in ids]

        timed(factory, prepares(200), True)  # warm-up
        results = {
            "prepare, keep-alive": summary(timed(factory, prepares(n), True)),
            "accept, keep-alive": summary(timed(factory, accepts(n), True)),
            "prepare, new connection": summary(timed(factory, prepares(n), False)),
            "accept, new connection": summary(timed(factory, accepts(n), False)),
        }
        for name, r in results.items():
            print(f"{name:26s} {fmt(r)}")
        done = 200 + 4 * n
        if done < 10_000:
            timed(factory, prepares(10_000 - done), True)
            done = 10_000
        print(f"acceptor RSS after {done} requests: {rss_mb(proc.pid):.1f} MB")


if __name__ == "__main__":
    main()
