"""Bounded resources: the connection table's rules, and a real acceptor under fd exhaustion and slowloris.

Under each attack, the users that matter must still be served: a fresh /health
(what a pool's monitor or the shell's start-up sends) and an established
keep-alive client. Every load here is bounded in count and time, on loopback.
"""

from __future__ import annotations

import http.client
import json
import re
import resource
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from paxos_shell.acceptor.limits import ConnectionTable, ConnPhase, Limits, fd_budget

from .helpers.rawhttp import HOST, AcceptorProcess, get_json, state


class TestConnectionTable:
    def test_eviction_order_closing_then_pending_then_longest_idle_never_busy(self) -> None:
        t = ConnectionTable(Limits(max_connections=5))
        t.set("idle-old", ConnPhase.IDLE, 1.0)
        t.set("idle-new", ConnPhase.IDLE, 2.0)
        t.set("pending-new", ConnPhase.PENDING, 3.0)
        t.set("busy", ConnPhase.BUSY, 0.5)
        assert t.victim() == "pending-new"
        t.set("closing", ConnPhase.CLOSING, 4.0)
        assert t.full and t.victim() == "closing"
        t.remove("closing")
        t.remove("pending-new")
        assert t.victim() == "idle-old"
        t.set("idle-old", ConnPhase.PENDING, 5.0)  # its next request began: now the only pending one
        assert t.victim() == "idle-old"
        for key in ("idle-old", "idle-new"):
            t.remove(key)
        assert t.victim() is None and len(t) == 1  # only a busy connection: nothing to evict

    def test_deadlines_count_from_entering_the_phase(self) -> None:
        t = ConnectionTable(Limits(head_timeout=10, idle_timeout=60, linger=2))
        t.set("slow", ConnPhase.PENDING, 0.0)
        t.set("idle", ConnPhase.IDLE, 0.0)
        t.set("closing", ConnPhase.CLOSING, 9.0)
        t.set("busy", ConnPhase.BUSY, 0.0)
        assert list(t.expired(9.9)) == []
        assert list(t.expired(10.0)) == [("slow", ConnPhase.PENDING)]
        assert sorted(str(k) for k, _ in t.expired(61.0)) == ["closing", "idle", "slow"]

    def test_fd_budget_leaves_a_reserve(self) -> None:
        b = fd_budget(128)
        assert b.connections + b.peer_calls <= 128 - 32 and b.connections >= 64
        assert fd_budget(1_000_000).connections == 10_000


def nofile(limit: int) -> Callable[[], None]:
    """A preexec_fn: the child (only) gets `limit` descriptors."""
    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    return lower


def keep_alive_client(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(HOST, port, timeout=20)
    conn.request("POST", "/api/paxos/prepare?id=1")
    assert json.loads(conn.getresponse().read())["ignored"] is False
    return conn


def still_served(port: int, conn: http.client.HTTPConnection, n: int) -> None:
    """A fresh /health answers, and the established client's next request is answered on its own socket."""
    fresh = http.client.HTTPConnection(HOST, port, timeout=20)
    fresh.request("GET", "/health")
    r = fresh.getresponse()
    assert (r.status, r.read()) == (200, b"UP acceptor 1\n")
    fresh.close()
    sock = conn.sock
    conn.request("POST", f"/api/paxos/prepare?id={n}")
    assert json.loads(conn.getresponse().read()) == {"ignored": False, "promisedId": n}
    assert conn.sock is sock  # not evicted and reconnected


@pytest.mark.parametrize("cap", [None, "5000"], ids=["budget", "cap-above-fd-limit"])
def test_more_connections_than_descriptors(tmp_path: Path, cap: str) -> None:
    """RLIMIT_NOFILE of 128 and 300 silent connections. With its own budget the acceptor
    evicts before it runs out; with a cap above the limit accept() fails with EMFILE and
    the acceptor must neither crash nor spin."""
    args = ["--id", "1", "--port", "0", *(("--max-connections", cap) if cap else ())]
    with AcceptorProcess(str(tmp_path), *args, preexec_fn=nofile(128)) as acc:
        conn = keep_alive_client(acc.port)
        flood = [socket.create_connection((HOST, acc.port), timeout=20) for _ in range(300)]
        try:
            still_served(acc.port, conn, 2)
            flood += [socket.create_connection((HOST, acc.port), timeout=20) for _ in range(100)]
            still_served(acc.port, conn, 3)
            shell = subprocess.run([sys.executable, "-m", "paxos_shell", "--url", f"1=http://{HOST}:{acc.port}",
                                    "--json", "-c", "state"], capture_output=True, text=True, timeout=60)
            assert shell.returncode == 0 and json.loads(shell.stdout)["acceptors"]["1"]["promisedId"] == 3, shell
        finally:
            for s in flood:
                s.close()
            conn.close()
        assert state(acc.port)["promisedId"] == 3
        assert acc.proc.poll() is None and "Traceback" not in acc.log()
        if cap:
            assert "out of file descriptors" in acc.log()


def test_slowloris_is_cut_at_the_head_deadline_while_others_are_served(tmp_path: Path) -> None:
    """40 connections each trickle a header block a byte at a time, for far longer than the
    head deadline (2 s here). Each gets a 408 while still sending: bytes do not extend it."""
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--head-timeout", "2") as acc:
        conn = keep_alive_client(acc.port)
        head = b"POST /api/paxos/prepare?id=99 HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 400
        socks = [socket.create_connection((HOST, acc.port), timeout=20) for _ in range(40)]
        answers: dict[int, bytes] = {}
        try:
            for i in range(len(head)):  # at most 400 rounds of 0.05 s: bounded at 20 s
                open_ = [s for s in socks if s.fileno() not in answers]
                if not open_:
                    break
                for s in open_:
                    s.send(head[i:i + 1])
                readable, _, _ = select.select(open_, [], [], 0.05)
                for s in readable:
                    answers[s.fileno()] = s.recv(4096)
                if i == 10:
                    still_served(acc.port, conn, 2)  # during the attack
            assert len(answers) == len(socks), "a slow head was never cut off"
            assert all(a.startswith(b"HTTP/1.1 408 ") and b'"status": 408' in a for a in answers.values())
            still_served(acc.port, conn, 3)
        finally:
            for s in socks:
                s.close()
            conn.close()
        assert state(acc.port)["promisedId"] == 3  # id 99 never applied


def test_at_the_connection_limit_a_new_client_is_served(tmp_path: Path) -> None:
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--max-connections", "10") as acc:
        conn = keep_alive_client(acc.port)
        silent = [socket.create_connection((HOST, acc.port), timeout=20) for _ in range(30)]
        try:
            still_served(acc.port, conn, 2)
        finally:
            for s in silent:
                s.close()
            conn.close()


def test_a_client_that_pipelines_and_never_reads_is_not_buffered_without_bound(tmp_path: Path) -> None:
    """Replies pile up unread; the acceptor must stop reading requests rather than queue replies
    for ever. Sending stalls (the kernel buffers fill) long before 40 MB of requests."""
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 1000
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--quiet") as acc:
        s = socket.create_connection((HOST, acc.port), timeout=20)
        s.setblocking(False)
        sent, stalled_since, deadline = 0, None, time.monotonic() + 30
        while sent < 40_000_000 and time.monotonic() < deadline:
            try:
                sent += s.send(request)
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 2.0:
                    break  # the acceptor has stopped reading
                select.select([], [s], [], 0.1)
        rss = rss_mb(acc.proc.pid)
        s.close()
        assert sent < 40_000_000, "the acceptor kept reading requests whose replies nobody read"
        assert rss < 100, rss
        assert get_json(acc.port, "GET", "/health")[0] == 200


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def test_4000_connections_closed_at_once_do_not_cost_health_checks(tmp_path: Path) -> None:
    """A monitor's /health with a 5 s timeout (the subject here) is answered while 4,000
    connections close together, and so is an established client."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 4200:
        pytest.skip(f"needs 4,200 descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4200), hard))
    try:
        with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--quiet") as acc:
            conn = keep_alive_client(acc.port)
            crowd = [socket.create_connection((HOST, acc.port), timeout=20) for _ in range(4000)]
            still_served(acc.port, conn, 2)
            for s in crowd:
                s.close()
            monitor = http.client.HTTPConnection(HOST, acc.port, timeout=5)
            monitor.request("GET", "/health")
            assert monitor.getresponse().read() == b"UP acceptor 1\n"
            monitor.close()
            still_served(acc.port, conn, 3)
            conn.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one(tmp_path: Path) -> None:
    """Started with a soft limit of 256 under a hard one of 2,048, the acceptor holds 600
    connections without closing any: it raised its own limit instead of evicting at ~200."""
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 2048))

    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--quiet", preexec_fn=limits) as acc:
        socks = [socket.create_connection((HOST, acc.port), timeout=20) for _ in range(600)]
        try:
            assert get_json(acc.port, "GET", "/health")[0] == 200  # all 600 were accepted before this
            closed = 0
            for s in socks:
                s.setblocking(False)
                try:
                    closed += s.recv(1) == b""
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    closed += 1
            assert closed == 0
            with open(f"/proc/{acc.proc.pid}/limits") as f:
                assert re.search(r"Max open files\s+2048\s+2048", f.read())
        finally:
            for s in socks:
                s.close()
