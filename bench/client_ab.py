"""This tree's client against a baseline commit's, side by side in one run.

Two worker processes, one importing paxos_shell from this tree and one from
the baseline commit (extracted with `git archive`, so it runs that code
exactly), take turns in blocks on identical pools of real acceptors (each its
own pools, started from this tree, so neither's ids disturb the other's): a
full propose on 3 acceptors (Engine.propose, early_stop=False: a prepare
round and an accept round, each counted only if a quorum granted both), and
a prepare+accept pair typed through the shell on 5 (Shell.run_line of
`prepare N` then `accept N v`, output rendered to memory, counted only if
a quorum granted each). The order of the two trees alternates from block to
block, so both share the machine's load. Each worker's CPU time (all its
threads) is shown too.

Run: python bench/client_ab.py [--baseline COMMIT] [--blocks N] [--per-block N] [--history N]
With --history N, each worker starts a fresh Shell (untimed, warmed by five
pairs) once its shell has typed N pairs, so a long run measures the pair at a
session's length of at most N pairs: some of the shell's per-command work grows
with its history, the baseline's more than this tree's.
The default baseline is the commit before the transport moved onto documented
requests/urllib3 hooks and worker threads (issue 19).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from typing import Any

BASELINE = "5511e48"
"""main before the transport change: the one-thread round on urllib3's private API."""


# -- the worker: runs in a process whose paxos_shell is one tree or the other ------------------


def worker() -> None:
    """Answer one task per line of stdin (JSON) with one line of figures."""
    import paxos_shell
    from paxos_shell.core import paxos
    from paxos_shell.core.wire import GRANTED
    from paxos_shell.engine.proposer import Engine
    from paxos_shell.engine.session import Session
    from paxos_shell.net.client import Client
    from paxos_shell.pool.local import Pool
    from paxos_shell.shell.app import Shell

    urls3 = {int(k): v for k, v in json.loads(sys.argv[2]).items()}
    urls5 = {int(k): v for k, v in json.loads(sys.argv[3]).items()}
    eng = Engine(Client(urls3, 1.0), Session(urls3))
    def new_shell() -> Any:
        return Shell(Pool(urls5, "bench"), timeout=1.0, stream=io.StringIO(), err=io.StringIO(), colour=False)

    sh = new_shell()
    next_id = [1]
    print(json.dumps({"tree": os.path.dirname(os.path.dirname(paxos_shell.__file__))}), flush=True)

    def propose(k: int) -> bool:
        res = eng.propose(f"v{k}", early_stop=False)
        return res.ok and not res.early and any(
            _promised(a.prepare) and a.accept is not None and len(a.accept.round.ids(GRANTED)) >= paxos.quorum(3)
            for a in res.attempts)

    def pair(k: int) -> bool:
        n = next_id[0]
        next_id[0] += 1
        granted = 0
        for line in (f"prepare {n}", f"accept {n} v"):  # one value: the first is chosen, later ones carry it
            sh.out.stream = out = io.StringIO()
            status = sh.run_line(line)
            granted += status == 0 and out.getvalue().count(" granted ") >= paxos.quorum(5)
        return granted == 2

    def _promised(prepare: Any) -> bool:
        """A quorum promised (`quorum_reached` since issue 19 renamed it; `reached` before)."""
        return bool(getattr(prepare, "quorum_reached", None) or getattr(prepare, "reached", False))

    tasks = {"propose": propose, "pair": pair}
    for line in sys.stdin:
        task = json.loads(line)
        run = tasks[task["task"]]
        if task.get("fresh"):
            sh.close()
            sh = new_shell()
            for k in range(5):
                pair(k)
        times, full = [], 0
        c0 = time.process_time()
        for k in range(task["count"]):
            t0 = time.perf_counter()
            full += run(k)
            times.append(time.perf_counter() - t0)
        print(json.dumps({"times": times, "full": full, "cpu": time.process_time() - c0}), flush=True)
    sh.close()
    eng.client.close()


# -- the coordinator --------------------------------------------------------------------------


class Worker:
    def __init__(self, name: str, root: str, urls3: dict, urls5: dict) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(urls3), json.dumps(urls5)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **where(root))
        self.tree = self._read()["tree"]
        self.times: dict[str, list[float]] = {"propose": [], "pair": []}
        self.full = {"propose": 0, "pair": 0}
        self.cpu = {"propose": 0.0, "pair": 0.0}

    def _read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"the {self.name} worker died")
        return json.loads(line)

    def run(self, task: str, count: int, fresh: bool = False) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"task": task, "count": count, "fresh": fresh}) + "\n")
        self.proc.stdin.flush()
        got = self._read()
        self.times[task] += got["times"]
        self.full[task] += got["full"]
        self.cpu[task] += got["cpu"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default=BASELINE)
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--per-block", type=int, default=50)
    ap.add_argument("--warm", type=int, default=50)
    ap.add_argument("--history", type=int, default=0, help="a fresh shell after this many pairs (0: never)")
    a = ap.parse_args()
    print(run_header())
    with baseline.checkout(a.baseline) as old, acceptors(3) as p3a, acceptors(3) as p3b, acceptors(5) as p5a, \
            acceptors(5) as p5b:
        def urls(procs: Any) -> dict:
            return {i: f"http://{HOST}:{port}" for i, (port, _) in enumerate(procs, 1)}

        workers = [Worker("this tree", None, urls(p3a), urls(p5a)),  # type: ignore[arg-type]
                   Worker(f"baseline {a.baseline}", old, urls(p3b), urls(p5b))]
        for w in workers:
            print(f"{w.name}: paxos_shell from {w.tree}")
            for task in ("propose", "pair"):
                w.run(task, a.warm)
                w.times[task], w.full[task], w.cpu[task] = [], 0, 0.0
        typed = a.warm
        for b in range(a.blocks):
            fresh = bool(a.history) and typed + a.per_block > a.history
            typed = a.per_block if fresh else typed + a.per_block
            for w in workers if b % 2 == 0 else workers[::-1]:
                for task in ("propose", "pair"):
                    w.run(task, a.per_block, fresh=fresh and task == "pair")
        for w in workers:
            w.close()
    report(workers, a.blocks * a.per_block)


def report(workers: list[Worker], count: int) -> None:
    for w in workers:
        if w.full != {"propose": count, "pair": count}:
            sys.exit(f"refusing to report: {w.name} ran {w.full} of {count} with a quorum granting each round")
    print(f"{count} of {count} of each ran every round with a quorum granting it")
    labels = {"propose": "full propose on 3 (Engine.propose)", "pair": "prepare+accept through the shell on 5"}
    for task, label in labels.items():
        medians = []
        for w in workers:
            s = summary(w.times[task])
            medians.append(s["median_ms"])
            print(f"{label}, {w.name:>18}: {fmt(s)}; CPU {w.cpu[task] / count * 1000:.3f} ms each")
        print(f"{label}: this tree / baseline at the median = {medians[0] / medians[1]:.3f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker()
    else:
        import baseline
        from baseline import where
        from common import HOST, acceptors, fmt, run_header, summary

        main()
