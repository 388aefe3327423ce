"""The knowledge model's memory over a long session, against the same model that never lets go.

Two models in one process are told the same 100,000 replies (by default): correct rounds on 3
acceptors at rising ids, prepare then accept, each reply as the shell would fold it (the pool
simulator the tests use, tests/helpers/sim.py). One is the model as it is (knowledge/ledger.py
sweeps every PRUNE_EVERY votes); the baseline is the same model with its sweep switched off,
which is what the model was before its memory was bounded. After each tenth: the bytes each
holds (tracemalloc, the models only), the microseconds per reply (timed with tracemalloc off,
in separate passes), and what the bounded one keeps. The run checks that it measured what it
says: both models must answer alike (the same chosen value, every round counted as chosen).

Run: python bench/model_memory_bench.py [--exchanges N]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from common import run_header

from paxos_shell.knowledge.facts import Reset
from paxos_shell.knowledge.model import Knowledge
from tests.helpers.sim import Pool

PER_ROUND = 6
"""Replies per round: a prepare and an accept, to 3 acceptors."""


def model(bounded: bool) -> tuple[Knowledge, Pool]:
    k = Knowledge([1, 2, 3])
    k.add(Reset(0, (1, 2, 3)))
    if not bounded:
        k._ledger.due = lambda: False  # type: ignore[method-assign]  # the baseline never lets go
    return k, Pool(3, k)


def play(pool: Pool, first: int, count: int) -> None:
    for n in range(first, first + count):
        pool.prepare(n)
        pool.accept(n, "A")


def traced(bounded: bool, rounds: int) -> list[tuple[int, float, dict[str, int]]]:
    """(replies, MB held, what is kept) after each tenth, with tracemalloc on."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    k, pool = model(bounded)
    rows = []
    for tenth in range(10):
        play(pool, 1 + tenth * (rounds // 10), rounds // 10)
        rows.append(((tenth + 1) * (rounds // 10) * PER_ROUND,
                     (tracemalloc.get_traced_memory()[0] - base) / 1e6, k.held()))
    tracemalloc.stop()
    out = k.outlook()
    assert out.headline() == "chosen: A" and len(out.chosen) + out.unlisted == rounds // 10 * 10, out
    return rows


def timed(bounded: bool, rounds: int) -> float:
    """Microseconds per reply over the whole run (tracemalloc off)."""
    _, pool = model(bounded)
    t = time.perf_counter()
    play(pool, 1, rounds)
    return (time.perf_counter() - t) * 1e6 / (rounds * PER_ROUND)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exchanges", type=int, default=100_000)
    rounds = ap.parse_args().exchanges // PER_ROUND
    print(run_header())
    bounded, whole = traced(True, rounds), traced(False, rounds)
    print("| replies | bounded model | never lets go | kept by the bounded model |")
    print("|---|---|---|---|")
    for (n, mb, held), (_, mb0, _) in zip(bounded, whole):
        kept = f"{held['votes']} pairs with votes, {held['proposals']} proposals, {held['past']} voters let go"
        print(f"| {n:,} | {mb:.2f} MB | {mb0:.2f} MB | {kept} |")
    speeds = [(timed(True, rounds), timed(False, rounds)) for _ in range(2)]
    print("per reply, two passes each (bounded / never lets go): "
          + "; ".join(f"{a:.1f} / {b:.1f} us" for a, b in speeds))


if __name__ == "__main__":
    main()
