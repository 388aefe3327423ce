"""A full audit of our paxos-acceptor without --restart, per rule and in all (issue 21: at most 10 s).

Each run audits a fresh durable acceptor (every change fsynced) in-process, through the same
function paxos-audit calls, and times every rule. The baseline, in the same run and against the
same kind of acceptor, is the floor of its I/O: as many state reads as the audit sent requests, one
at a time on one kept-alive requests Session (the audit's changes are fsynced, its storms concurrent).

Run: python bench/audit_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests
from common import HOST, acceptors, run_header

from paxos_shell.audit import battery
from paxos_shell.audit.auditor import Auditor, Options
from paxos_shell.audit.battery import RULES, run_rule


def one_audit(url: str, seed: int) -> tuple[float, dict[str, float], int]:
    """Seconds for the whole audit, per rule, and the requests it sent."""
    a = Auditor(url, Options(seed=seed))
    per: dict[str, float] = {}
    start = time.perf_counter()
    a.see(battery.preflight(a))
    for rule in sorted(RULES, key=lambda r: r.name != "negative-ids"):
        t = time.perf_counter()
        f = run_rule(a, rule)
        assert f.verdict.value != "fail", (rule.name, f.why)
        per[rule.name] = time.perf_counter() - t
    total = time.perf_counter() - start
    sent = len(a.recorder.exchanges)
    a.close()
    return total, per, sent


def baseline(url: str, count: int) -> float:
    """The same number of requests as state reads (nothing to fsync), one at a time on one
    kept-alive connection: the floor of HTTP round trips to this acceptor on this machine."""
    s = requests.Session()
    start = time.perf_counter()
    for _ in range(count):
        s.get(f"{url}/api/paxos/state").content  # noqa: B018 - read the whole reply
    s.close()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    print(run_header())
    totals, bases, rules = [], [], {r.name: [] for r in RULES}  # type: ignore[var-annotated]
    for k in range(args.runs):
        with acceptors(1) as [(port, _)], acceptors(1) as [(bport, _)]:
            total, per, sent = one_audit(f"http://{HOST}:{port}", 1000 + k)
            bases.append(baseline(f"http://{HOST}:{bport}", sent))
        totals.append(total)
        for name, t in per.items():
            rules[name].append(t)
        print(f"run {k + 1}: audit {total:.2f} s ({sent} requests); baseline {bases[-1]:.2f} s")
    print(f"full audit without --restart: median {statistics.median(totals):.2f} s, "
          f"max {max(totals):.2f} s (target <= 10 s); baseline (as many state reads, one at a time): "
          f"median {statistics.median(bases):.2f} s")
    for name, ts in rules.items():
        print(f"  {name:<24} median {statistics.median(ts) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
