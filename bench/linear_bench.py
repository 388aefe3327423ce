"""How long the linearizable rule's checker takes on a 1,000-exchange history from 8 clients.

Issue 21 asks for at most 2 s. Histories come from tests/helpers/histories.py: a correct acceptor's
(linearizable), and the same with a check-then-act race planted at the end (the worst place: every
order of everything before it is tried before the checker may say no) and 2 % of the requests left
without a reply (indefinite: each may have taken effect or not). The baseline, in the same run, is a
100-exchange history made the same way. Each figure is the median over SEEDS histories, with the
states explored; the run first shows what it measured (exchanges, clients, how many overlapped).

    python bench/linear_bench.py
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Callable

from common import run_header

from paxos_shell.audit.linear import Linearization, Op, Outcome, check
from tests.helpers.histories import History, linearizable, race

SEEDS = 7


def overlap(ops: list[Op]) -> int:
    """The most exchanges in flight at one instant (an exchange with no reply stays in flight)."""
    events = sorted([(o.call, 1) for o in ops] + [(o.ret, -1) for o in ops if o.ret is not None])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def measure(name: str, make: Callable[[random.Random], History], expect: Outcome) -> float:
    times, states, shape = [], [], []
    for seed in range(SEEDS):
        h = make(random.Random(seed))
        started = time.perf_counter()
        got: Linearization = check(h.ops, budget=60.0)
        times.append(time.perf_counter() - started)
        assert got.outcome == expect, (name, seed, got.why)
        states.append(got.explored)
        shape.append((len(h.ops), len({o.client for o in h.ops}), overlap(h.ops),
                      sum(not o.replied for o in h.ops), len(got.window)))
    ops, clients, most, silent, window = (statistics.median(col) for col in zip(*shape))
    print(f"{name:<44} {ops:>5.0f} exchanges, {clients:.0f} clients, up to {most:.0f} in flight, "
          f"{silent:.0f} without reply; median {statistics.median(times) * 1000:8.1f} ms "
          f"(max {max(times) * 1000:.1f}), {statistics.median(states):>8.0f} states"
          + (f", window of {window:.0f}" if window else ""))
    return statistics.median(times)


def main() -> None:
    print(run_header())
    clean = Outcome.LINEARIZABLE
    fail = Outcome.NOT_LINEARIZABLE
    base = measure("baseline: 100, correct acceptor", lambda r: linearizable(r, 100, 8, reads=0.1), clean)
    big = measure("1,000, correct acceptor", lambda r: linearizable(r, 1000, 8, reads=0.1), clean)
    measure("1,000, correct, 2 % without reply", lambda r: linearizable(r, 1000, 8, pending=0.02), clean)
    base_bad = measure("baseline: 100, race planted, 2 % without reply",
                       lambda r: race(linearizable(r, 100, 8, pending=0.02)), fail)
    bad = measure("1,000, race planted, 2 % without reply",
                  lambda r: race(linearizable(r, 1000, 8, pending=0.02)), fail)
    print(f"1,000 against 100: {big / base:.1f}x (correct), {bad / base_bad:.1f}x (race planted)")


if __name__ == "__main__":
    main()
