"""Full proposals (prepare round + accept round) through the engine, against the seed scripts' method.

Every proposal counted ran both phases: a prepare round that reached a quorum
of promises and an accept round that a quorum granted. Engine.propose runs
with early_stop=False, so a value already chosen does not end it after phase
1; the bench counts what really ran and refuses to report if any proposal
(ours or a baseline's) fell short. The baseline, interleaved with ours on
the same acceptors in the same run, is the seed's proposer_demo: acceptors
asked one after another with requests.post, a new connection per request, as
the seed scripts did; a lighter one-by-one method on http.client is shown too.

The shell's own CPU time per proposal is printed too: the acceptors need CPU
as well, so on a machine whose cores are busy elsewhere concurrency has
nothing to run on, and the engine's lead over the one-by-one method shrinks.

Run: python bench/rounds_bench.py [--proposals N] [--volatile]
Targets (issue 11): a full propose on 3 acceptors at median <= 3 ms; >= 3x the
baseline on 5; a prepare round on 5 with 2 blackholed, timeout 1 s: about 1 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from typing import Callable, Optional
from urllib.parse import quote, urlsplit

from common import HOST, Blackhole, acceptors, fmt, run_header, summary

from paxos_shell.core import paxos
from paxos_shell.core.wire import GRANTED
from paxos_shell.engine.proposer import Engine
from paxos_shell.engine.results import ProposeResult
from paxos_shell.engine.session import Session
from paxos_shell.net.client import Client

Send = Callable[[str, str, float], Optional[dict]]


def seed_post(url: str, path: str, timeout: float) -> Optional[dict]:
    """One request as the seed scripts sent it: requests.post, a new connection each time."""
    import requests

    try:
        body = requests.post(url + path, timeout=timeout).json()
        return body if isinstance(body, dict) else None
    except (requests.RequestException, ValueError):
        return None


def one_by_one(url: str, path: str, timeout: float) -> Optional[dict]:
    """The same with the standard library's http.client: a lighter one-by-one method than the seed's."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or HOST, parts.port, timeout=timeout)
    try:
        conn.request("POST", path)
        body = json.loads(conn.getresponse().read())
        return body if isinstance(body, dict) else None
    except (OSError, ValueError):
        return None
    finally:
        conn.close()


def old_propose(urls: dict[int, str], n: int, value: str, send: Send = seed_post, timeout: float = 1.0) -> bool:
    """The seed's proposer_demo, every request in turn. True only if both phases reached a quorum."""
    promises = []
    for i, url in urls.items():
        r = send(url, f"/api/paxos/prepare?id={n}", timeout)
        if r and r.get("ignored") is False:
            promises.append(paxos.Promise(i, n, r.get("acceptedId", -1), r.get("acceptedValue")))
    if len(promises) < paxos.quorum(len(urls)):
        return False
    v = paxos.choose_value(promises, value).value or value
    got = 0
    for p in promises:
        r = send(urls[p.acceptor], f"/api/paxos/accept?id={n}&value={quote(v, safe='')}", timeout)
        got += bool(r and r.get("ignored") is False)
    return got >= paxos.quorum(len(urls))


def both_phases(res: ProposeResult, quorum: int) -> bool:
    """The proposal sent a prepare round and an accept round, and a quorum granted the accept."""
    return res.ok and not res.early and any(
        a.prepare.quorum_reached and a.accept is not None and len(a.accept.round.ids(GRANTED)) >= quorum
        for a in res.attempts)


def bench_pool(size: int, count: int, extra: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """Engine, seed method (requests.post in turn) and http.client in turn, interleaved on one pool."""
    with acceptors(size, *extra) as procs:
        urls = {i: f"http://{HOST}:{port}" for i, (port, _) in enumerate(procs, 1)}
        eng = Engine(Client(urls, 1.0), Session(urls))
        quorum = paxos.quorum(size)
        for _ in range(50):  # warm-up: threads, connections, the import of requests
            eng.propose("warm", early_stop=False)
        times: dict[str, list[float]] = {"engine": [], "seed": [], "light": []}
        full = {"engine": 0, "seed": 0, "light": 0}
        cpu = 0.0
        for k in range(count):
            t0, c0 = time.perf_counter(), time.process_time()
            res = eng.propose(f"v{k}", early_stop=False)
            times["engine"].append(time.perf_counter() - t0)
            cpu += time.process_time() - c0
            full["engine"] += both_phases(res, quorum)
            for name, send in (("seed", seed_post), ("light", one_by_one)):
                n = eng.fresh_id()
                eng.session.proposer.seen = n
                t0 = time.perf_counter()
                full[name] += old_propose(urls, n, f"v{k}", send)
                times[name].append(time.perf_counter() - t0)
        eng.client.close()
    if any(v != count for v in full.values()):
        sys.exit(f"refusing to report: on {size} acceptors, of {count} proposals these ran both phases with a "
                 f"quorum: {full}")
    print(f"propose on {size}: {count} of {count} proposals of each method ran both phases with a quorum of accepts")
    print(f"propose on {size}: the shell's CPU time per full propose (all its threads): {cpu / count * 1000:.3f} ms")
    return summary(times["engine"]), summary(times["seed"]), summary(times["light"])


def bench_pacing(count: int, extra: tuple[str, ...], pauses: tuple[float, ...] = (0.0, 0.012, 0.1)) -> dict:
    """The engine alone on 3: a block of proposals in a row, then proposals after an idle pause.

    The main table interleaves the baseline's proposals with ours; this shows how much the
    figure depends on what the machine did just before: an idle core wakes slower. In the
    rotation the pauses take turns proposal by proposal, so its "0 ms" proposal follows the
    100 ms one; the block before it is back to back throughout.
    """
    with acceptors(3, *extra) as procs:
        urls = {i: f"http://{HOST}:{port}" for i, (port, _) in enumerate(procs, 1)}
        eng = Engine(Client(urls, 1.0), Session(urls))
        for _ in range(50):
            eng.propose("warm", early_stop=False)
        times: dict[object, list[float]] = {"block": [], **{p: [] for p in pauses}}
        full = 0
        for k in range(count):
            t0 = time.perf_counter()
            res = eng.propose(f"b{k}", early_stop=False)
            times["block"].append(time.perf_counter() - t0)
            full += both_phases(res, paxos.quorum(3))
        for k in range(count):
            for pause in pauses:  # the conditions take turns, proposal by proposal
                time.sleep(pause)
                t0 = time.perf_counter()
                res = eng.propose(f"p{k}", early_stop=False)
                times[pause].append(time.perf_counter() - t0)
                full += both_phases(res, paxos.quorum(3))
        eng.client.close()
    if full != count * (len(pauses) + 1):
        sys.exit(f"refusing to report: of {count * (len(pauses) + 1)} paced proposals {full} ran both phases")
    return {p: summary(t) for p, t in times.items()}


def bench_blackholed(timeout: float = 1.0, runs: int = 3) -> tuple[float, float]:
    """A prepare round on 5 acceptors of which 2 accept the connection and never answer."""
    with acceptors(3) as procs:
        holes = [Blackhole(), Blackhole()]
        urls = {i: f"http://{HOST}:{port}" for i, (port, _) in enumerate(procs, 1)}
        urls.update({4: holes[0].url, 5: holes[1].url})
        ours, old = [], []
        n = 0
        for _ in range(runs):
            client = Client(urls, timeout)
            n += 1
            rnd = client.prepare(n, list(urls))
            ours.append(rnd.elapsed)
            assert rnd.ids(GRANTED) == [1, 2, 3], rnd.replies
            client.close()
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
    ap.add_argument("--volatile", action="store_true",
                    help="acceptors that keep state in memory only (no fsync): what the disk costs, by difference")
    a = ap.parse_args()
    print(run_header())
    extra = ("--volatile",) if a.volatile else ()
    if a.volatile:
        print("acceptors run with --volatile: no fsync, not the durable figures")
    results = {size: bench_pool(size, a.proposals, extra) for size in (3, 5)}
    for size, (ours, seed, light) in results.items():
        print(f"full propose on {size}, engine:                        {fmt(ours)}")
        print(f"full propose on {size}, seed method (requests.post):   {fmt(seed)}")
        print(f"full propose on {size}, one by one with http.client:   {fmt(light)}")
        print(f"full propose on {size}, speed-up: {seed['median_ms'] / ours['median_ms']:.1f}x the seed method, "
              f"{light['median_ms'] / ours['median_ms']:.1f}x http.client one by one (medians)")
    for pause, figures in bench_pacing(min(a.proposals, 300), extra).items():
        when = "in a row, a block of back to back  " if pause == "block" else \
            f"in rotation, {float(pause) * 1000:>3.0f} ms idle before each"
        print(f"full propose on 3, engine alone, {when}: {fmt(figures)}")
    ours_b, old_b = bench_blackholed()
    print(f"prepare on 5 with 2 blackholed, timeout 1 s: engine {ours_b:.3f} s, one by one {old_b:.3f} s")
    checks = [("full propose on 3, median <= 3 ms", results[3][0]["median_ms"] <= 3.0),
              ("full propose on 5, >= 3x the seed method",
               results[5][1]["median_ms"] / results[5][0]["median_ms"] >= 3.0),
              ("blackholed round within 1.2 s", ours_b <= 1.2)]
    for name, met in checks:
        print(f"target {name}: {'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
