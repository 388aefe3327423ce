"""The live view's cost to the shell, and how soon a page shows a round (issue 14).

In one run, on 3 durable acceptors on loopback, an in-process shell runs `propose`
command lines (rendered to memory, as in a script) in three conditions, in turn,
ROUNDS times over: no view; the view on with no viewer; the view on with VIEWERS
event-stream viewers connected (a separate process that reads every frame). Then a
headless Chromium opens the page and, for each propose, the page's own timestamp of
the frame it painted is compared with the arrival of the round's last reply.

After the first proposal the value is chosen, so each later `propose` is one prepare
round that ends early ("Consensus already reached during prepare phase"), as the shell
runs it. The view's cost is per command, so a shorter command is the harder case.

Run: python bench/view_bench.py [--proposals N] [--viewers V] [--rounds R]
Goals: propose with 50 viewers at most 10 % slower than with no view; delay from a round's
end to the page showing it <= 200 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.view.command import running_view
from paxos_shell.view.model import recent, round_end
from paxos_shell.view.server import FRAME_INTERVAL
from tests.helpers import Acceptor, free_port

PACE = 2 * FRAME_INTERVAL
"""The pause before each command of the paced page-delay run: slower than the server's frame rate."""
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run")


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_seconds(pid: int) -> float:
    """User and system time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p))]


def summary(samples: list[float]) -> str:
    ms = [x * 1000 for x in samples]
    return f"median {statistics.median(ms):.3f} ms, p90 {pct(ms, 0.9):.3f} ms, p99 {pct(ms, 0.99):.3f} ms"


# -- the viewers: a separate process, so their reading does not share the shell's interpreter --------


def viewers_main(url: str, count: int) -> None:
    """Connect `count` event streams and read everything until stdin closes; print bytes and events read.

    At the lowest priority: in a class the viewers are the students' laptops, so their reading
    should take only CPU the shell, the acceptors and the view's server leave over."""
    os.nice(19)
    parts = urlsplit(url)
    sel = selectors.DefaultSelector()
    for _ in range(count):
        s = socket.create_connection((parts.hostname, parts.port), timeout=10)
        s.sendall(f"GET {parts.path}events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    sel.register(sys.stdin, selectors.EVENT_READ)
    got = events = 0
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            if key.fileobj is sys.stdin:
                print(got, events, flush=True)
                return
            chunk = key.fileobj.recv(1 << 16)  # type: ignore[union-attr]  # a socket, registered above
            if not chunk:
                sel.unregister(key.fileobj)
            got += len(chunk)
            events += chunk.count(b"\nid: ") + chunk.startswith(b"id: ")  # one id line per event; a floor


def start_viewers(sh: Shell, url: str, count: int) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, __file__, "--viewers-of", url, "--viewers", str(count)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    view = running_view(sh)
    assert view is not None
    deadline = time.monotonic() + 30
    while view.server.viewers < count:
        if time.monotonic() > deadline or p.poll() is not None:
            raise RuntimeError(f"only {view.server.viewers} of {count} viewers connected")
        time.sleep(0.01)
    return p


def stop_viewers(p: subprocess.Popen) -> tuple[int, int]:
    """Bytes and events the viewers read, in all."""
    assert p.stdin is not None and p.stdout is not None
    p.stdin.close()
    got, events = (int(x) for x in (p.stdout.readline() or "0 0").split())
    p.wait(timeout=30)
    return got, events


# -- the shell -----------------------------------------------------------------------------------------


def proposes(sh: Shell, count: int, tag: str) -> list[float]:
    out = []
    for k in range(count):
        t0 = time.perf_counter()
        status = sh.run_line(f"propose {tag}{k}")
        out.append(time.perf_counter() - t0)
        assert status == 0, f"propose {tag}{k} failed"
        sh.out.stream = io.StringIO()  # rendered, then dropped: memory stays flat
    return out


Samples = dict[str, list[float]]
SERVER_CPU: Samples = {}
"""Per condition with a view, per block: the server process's CPU seconds per command."""
DELIVERED: list[tuple[float, int, float]] = []
"""Per block with viewers: events each viewer read, commands run, bytes per event."""


def command_cost(sh: Shell, count: int, viewers: int, rounds: int) -> tuple[Samples, Samples]:
    """Blocks of `count` proposes per condition, the order rotated each round (the load on a shared
    machine drifts); the samples per condition, and per round each condition's median over the
    no-view median of the same round."""
    names = ["no view", "view, no viewer", f"view, {viewers} viewers"]
    times: Samples = {n: [] for n in names}
    ratios: Samples = {n: [] for n in [*names, "viewers over no viewer"]}
    proposes(sh, 100, "warm")
    for r in range(rounds):
        medians = {}
        for k in range(3):
            name = names[(r + k) % 3]
            samples = block(sh, name, count, viewers, f"{r}-{k}-")
            medians[name] = statistics.median(samples)
            times[name] += samples
        for n in names:
            ratios[n].append(medians[n] / medians["no view"])
        ratios["viewers over no viewer"].append(medians[names[2]] / medians[names[1]])
    return times, ratios


def block(sh: Shell, name: str, count: int, viewers: int, tag: str) -> list[float]:
    """`count` proposes in one condition: no view, a view with no viewer, or with `viewers`."""
    if name == "no view":
        out = proposes(sh, count, tag)
    else:
        sh.run_line("view")
        view = running_view(sh)
        assert view is not None
        p = start_viewers(sh, view.url(), viewers) if name != "view, no viewer" else None
        assert view.server.proc is not None
        server_cpu = cpu_seconds(view.server.proc.pid)
        out = proposes(sh, count, tag)
        SERVER_CPU.setdefault(name, []).append((cpu_seconds(view.server.proc.pid) - server_cpu) / count)
        if p is not None:
            read, events = stop_viewers(p)
            DELIVERED.append((events / viewers, count, read / max(1, events)))
        sh.run_line("view off")
    return out


def listener_cost(sh: Shell, count: int) -> list[float]:
    """The view's own time per command: the listener (snapshot, JSON, the write to the pipe), timed
    alone after each propose (detached from the shell for it, so it is not counted twice)."""
    sh.run_line("view")
    view = running_view(sh)
    assert view is not None
    sh.listeners.remove(view)
    out = []
    for k in range(count):
        assert sh.run_line(f"propose l{k}") == 0
        t0 = time.perf_counter()
        view(f"propose l{k}")
        out.append(time.perf_counter() - t0)
    sh.listeners.append(view)
    sh.run_line("view off")
    return out


# -- the page ------------------------------------------------------------------------------------------


def page_delays(sh: Shell, count: int, viewers: int) -> Optional[dict[str, list[float]]]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    if not chromium or not driver:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="view-bench-chromium-")
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    d = webdriver.Chrome(service=Service(driver), options=options)
    out: dict[str, list[float]] = {}
    try:
        sh.run_line("view")
        view = running_view(sh)
        assert view is not None
        d.get(view.url())
        # Paced as typed (each command after the last frame went out), then back to back.
        for n, pause in ((0, PACE), (viewers, PACE), (viewers, 0.0)):
            p = start_viewers(sh, view.url(), n) if n else None
            key = f"{n} other viewers, " + ("commands paced as typed" if pause else "commands back to back")
            out[key] = [shown_after(sh, d, WebDriverWait, k, n, pause) for k in range(count)]
            if p is not None:
                stop_viewers(p)
        sh.run_line("view off")
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return out


def shown_after(sh: Shell, d: Any, wait: Any, k: int, n: int, pause: float) -> float:
    """Seconds from the last reply of the round to the page painting the frame that shows it."""
    time.sleep(pause)  # a teacher types slower than FRAME_INTERVAL
    assert sh.run_line(f"propose page{n}-{k}-{pause}") == 0
    ended = round_end(recent(sh.session.history, 1))
    assert ended is not None
    view = running_view(sh)
    assert view is not None
    seq = str(view.tracker.seq)
    wait(d, 10, poll_frequency=0.005).until(
        lambda drv: drv.execute_script("return document.body.dataset.seq === arguments[0] && "
                                       "document.body.dataset.shownAt", seq))
    shown = float(d.execute_script("return document.body.dataset.shownAt")) / 1000
    return shown - ended


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proposals", type=int, default=60, help="proposes per condition and round")
    ap.add_argument("--viewers", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--page-proposals", type=int, default=100)
    ap.add_argument("--viewers-of", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.viewers_of:
        return viewers_main(args.viewers_of, args.viewers)
    print(f"load average at start: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="view-bench-") as data:
        accs = [Acceptor(i, free_port(), data, extra=("--quiet",)).start() for i in (1, 2, 3)]
        sh = Shell(Pool({a.id: a.url for a in accs}, "bench pool"), timeout=1.0, stream=io.StringIO(),
                   err=io.StringIO(), colour=False)
        try:
            times, ratios = command_cost(sh, args.proposals, args.viewers, args.rounds)
            listener = listener_cost(sh, args.proposals * 5)
            delays = page_delays(sh, args.page_proposals, args.viewers)
        finally:
            sh.close()
            for a in accs:
                a.kill()
    for name, samples in times.items():
        print(f"propose, {name:<18} {summary(samples)}; against no view, median of {args.rounds} rounds: "
              f"{statistics.median(ratios[name]):.3f}x")
    print(f"propose with {args.viewers} viewers against the view with no viewer, median of {args.rounds} rounds: "
          f"{statistics.median(ratios['viewers over no viewer']):.3f}x")
    print(f"the view's listener alone, per command: {summary(listener)}")
    for name, per_command in SERVER_CPU.items():
        print(f"the view's server process, {name}: {statistics.mean(per_command) * 1e6:.0f} us of CPU per command")
    per_viewer, commands = sum(d[0] for d in DELIVERED), sum(d[1] for d in DELIVERED)
    print(f"each of the {args.viewers} viewers received {per_viewer:.0f} snapshots for {commands} commands "
          f"(at most {1 / FRAME_INTERVAL:.0f} a second), {statistics.median(d[2] for d in DELIVERED):.0f} bytes each")
    if delays is None:
        print("page delay: not measured (needs chromium, chromedriver and selenium)")
    for key, samples in (delays or {}).items():
        print(f"round end to page shown, {key}: {summary(samples)}, max {max(samples) * 1000:.1f} ms")
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
