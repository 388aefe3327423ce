"""Store.save, durability on: the two-slot record against format 1's temp file + rename, in one run.

The baseline is the previous store's save, syscall for syscall (with exact writes):
write state.json.tmp, fsync it, rename it over state.json, open the directory and
fsync it. The record store writes one slot and fdatasyncs. Both save the same
states, in alternating blocks so drift in the machine's load hits both alike. A third
store is the record without the check that the state path still names the file
written, and a fourth does that check with os.stat instead of the directory listing:
what the check costs, each way.

Run: python bench/store_bench.py [--saves N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Callable, Optional

from common import fmt, run_header, summary

from paxos_shell.acceptor import diskio
from paxos_shell.acceptor.store import LEGACY_FILE, Store
from paxos_shell.core.paxos import AcceptorState

BLOCK = 100
"""Saves per block; the stores take turns block by block."""


def format_1(state: AcceptorState) -> bytes:
    """state.json as format 1 wrote it (the acceptor itself now only reads it, to migrate)."""
    return json.dumps({"promisedId": state.promised_id, "acceptedId": state.accepted_id,
                       "acceptedValue": state.accepted_value}).encode("utf-8")


class RenameStore:
    """Format 1's save: what the acceptor did before the record store."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def save(self, state: AcceptorState) -> None:
        dfd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            diskio.replace_file(dfd, LEGACY_FILE, format_1(state))
        finally:
            os.close(dfd)


class UncheckedStore(Store):
    """The record store without its identity check: the check's cost, by difference."""

    def _check_still_there(self) -> None:
        pass


class StatStore(Store):
    """The identity check by os.stat of the path: what the listing is measured against."""

    def _entry_inode(self) -> Optional[int]:
        try:
            return os.stat(self.path).st_ino
        except FileNotFoundError:
            return None


def run(saves: int, value_bytes: int, root: str, deadline: float) -> dict[str, list[float]]:
    value = "v" * value_bytes
    rec_dir, ren_dir, raw_dir, st_dir = (tempfile.mkdtemp(prefix=f"store-bench-{k}-", dir=root)
                                         for k in ("rec", "ren", "raw", "stat"))
    records = [Store(rec_dir), UncheckedStore(raw_dir), StatStore(st_dir)]
    for r in records:
        r.open()
    stores: dict[str, Callable[[AcceptorState], None]] = {
        "temp file + fsync + rename + fsync dir": RenameStore(ren_dir).save,
        "record: pwrite + fdatasync + listing": records[0].save,
        "record without the check": records[1].save,
        "record, the check by os.stat": records[2].save,
    }
    times: dict[str, list[float]] = {name: [] for name in stores}
    n = 0
    try:
        while n < saves and time.monotonic() < deadline:
            for name, save in stores.items():
                for i in range(n, n + BLOCK):
                    state = AcceptorState(i, i, value)
                    t0 = time.perf_counter()
                    save(state)
                    times[name].append(time.perf_counter() - t0)
            n += BLOCK
    finally:
        for r in records:
            r.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--saves", type=int, default=2000, help="saves per store and value size")
    ap.add_argument("--dir", default=None, help="where the stores live (default: the temp dir)")
    ap.add_argument("--max-seconds", type=float, default=60.0)
    args = ap.parse_args()
    deadline = time.monotonic() + args.max_seconds
    print(run_header())
    with tempfile.TemporaryDirectory(prefix="store-bench-", dir=args.dir) as root:
        for value_bytes in (16, 6000):
            times = run(args.saves, value_bytes, root, deadline)
            figures = {name: summary(t) for name, t in times.items()}
            b, r, u, st = figures.values()
            print(f"value of {value_bytes} bytes, {len(times[next(iter(times))])} saves each")
            for name, f in figures.items():
                print(f"  {name:40} {fmt(f)}")
            print(f"  record is {b['median_ms'] / r['median_ms']:.2f}x faster at the median, "
                  f"{b['p99_ms'] / r['p99_ms']:.2f}x at p99; the check costs "
                  f"{(r['median_ms'] - u['median_ms']) * 1000:+.1f} us at the median by listing, "
                  f"{(st['median_ms'] - u['median_ms']) * 1000:+.1f} us by os.stat")


if __name__ == "__main__":
    main()
