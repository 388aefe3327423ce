"""Store.save, durability on: the two-slot record against format 1's temp file + rename, in one run.

The baseline is the previous store's save, syscall for syscall (with exact writes):
write state.json.tmp, fsync it, rename it over state.json, open the directory and
fsync it. The record store writes one slot and fdatasyncs. Both save the same
states, in alternating blocks so drift in the machine's load hits both alike.

Run: python bench/store_bench.py [--saves N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Callable

from common import fmt, summary

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


def run(saves: int, value_bytes: int, root: str, deadline: float) -> dict[str, list[float]]:
    value = "v" * value_bytes
    rec_dir, ren_dir = (tempfile.mkdtemp(prefix=f"store-bench-{k}-", dir=root) for k in ("rec", "ren"))
    store = Store(rec_dir)
    store.open()
    stores: dict[str, Callable[[AcceptorState], None]] = {
        "temp file + fsync + rename + fsync dir": RenameStore(ren_dir).save,
        "record: pwrite + fdatasync": store.save,
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
        store.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--saves", type=int, default=2000, help="saves per store and value size")
    ap.add_argument("--dir", default=None, help="where the stores live (default: the temp dir)")
    ap.add_argument("--max-seconds", type=float, default=60.0)
    args = ap.parse_args()
    deadline = time.monotonic() + args.max_seconds
    with tempfile.TemporaryDirectory(prefix="store-bench-", dir=args.dir) as root:
        for value_bytes in (16, 6000):
            times = run(args.saves, value_bytes, root, deadline)
            (base_name, base), (rec_name, rec) = times.items()
            b, r = summary(base), summary(rec)
            print(f"value of {value_bytes} bytes, {len(rec)} saves each")
            print(f"  {base_name:40} {fmt(b)}")
            print(f"  {rec_name:40} {fmt(r)}")
            print(f"  record is {b['median_ms'] / r['median_ms']:.2f}x faster at the median, "
                  f"{b['p99_ms'] / r['p99_ms']:.2f}x at p99")


if __name__ == "__main__":
    main()
