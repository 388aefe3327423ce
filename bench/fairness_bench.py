"""/health on a fresh connection while clients pipeline requests, against no such client in the same run.

For 0, 1 and 20 pipelining clients (each writes GET /health back-to-back without
waiting, and reads replies only to count them; tests/helpers/pipeline.py, run in
its own process so the probe does not share its interpreter): every 50 ms a
/health on a fresh connection, for --seconds. The pipeliners' answered replies
are counted over the window, so a figure is only taken while they were really
being served. Then 5 probes right after they closed (a backlog left behind shows
there). With --against COMMIT, that commit's acceptor is measured first, the same way.
Bounded in count and time; loopback.

Run: python bench/fairness_bench.py [--seconds S] [--against COMMIT]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import time
from typing import Any, Optional

from baseline import acceptor, checkout
from common import HOST, fmt, run_header, summary

from tests.helpers.pipeline import Pipeliners

CLIENTS = (0, 1, 20)


def fresh_health(port: int) -> tuple[float, bool]:
    """Seconds to the answer, and whether it came (an acceptor cut off a probe it starved)."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("GET", "/health")
        r = conn.getresponse()
        ok = r.status == 200 and r.read().startswith(b"UP")
    except OSError:
        ok = False
    finally:
        conn.close()
    return time.perf_counter() - t0, ok


def probe(port: int, seconds: float, at_most: int = 10_000) -> list[float]:
    """Probe times, a probe that got no answer counted as infinitely slow."""
    times: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(times) < at_most:
        took, ok = fresh_health(port)
        times.append(took if ok else float("inf"))
        time.sleep(0.05)
    return times


def _pipeline(port: int, n: int, stop: Any, out: Any) -> None:
    """In the pipeliners' own process: run until told, then report (answered, when loaded)."""
    p = Pipeliners(port, n, seconds=600).start()
    loaded = p.wait_answered(1000, timeout=30)
    out.put(("loaded", loaded, p.answered))
    stop.wait(600)
    out.put(("done", loaded, p.stop()))


def under_load(port: int, n: int, seconds: float) -> tuple[list[float], list[float], int, int]:
    """(probes during, probes after, replies answered before the window, during it)."""
    if n == 0:
        return probe(port, seconds), [], 0, 0
    ctx = multiprocessing.get_context("fork")
    stop, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_pipeline, args=(port, n, stop, out), daemon=True)
    proc.start()
    try:
        _, loaded, before = out.get(timeout=60)
        if not loaded:
            raise RuntimeError(f"{n} pipelining clients got fewer than 1000 replies in 30 s")
        during = probe(port, seconds)
        stop.set()
        _, _, total = out.get(timeout=60)
        after = probe(port, 60, at_most=5)
    finally:
        stop.set()
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    return during, after, before, total - before


def measure(name: str, root: Optional[str], seconds: float) -> None:
    print(f"{name}:")
    with acceptor(root) as (port, _):
        base: Optional[float] = None
        for n in CLIENTS:
            during, after, before, answered = under_load(port, n, seconds)
            s = summary(during)
            base = base or s["median_ms"]
            failed = sum(t == float("inf") for t in during + after)
            line = (f"  {n:2} pipelining: /health {fmt(s)} ({s['median_ms'] / base:.1f}x of 0, {len(during)} probes, "
                    f"{failed} unanswered)")
            if n:
                line += (f"; pipeliners answered {answered:,} during the window ({before:,} before); "
                         f"after they closed: median {summary(after)['median_ms']:.2f} ms")
            print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0, help="probe window per client count")
    ap.add_argument("--against", default=None, metavar="COMMIT", help="also measure that commit's acceptor, first")
    args = ap.parse_args()
    print(run_header())
    if args.against:
        with checkout(args.against) as old:
            measure(f"acceptor at {args.against}", old, args.seconds)
    measure("this tree", None, args.seconds)


if __name__ == "__main__":
    main()
