"""Fairness: clients that pipeline requests never make the acceptor look dead to anyone else.

A proposer gives an acceptor the shell's default round timeout, 1 s, before it calls it
"no response". Twenty clients writing requests back-to-back must not push a fresh
connection's /health or prepare past that (once they took 3 s with one such client, and
cut the fresh connection off at the 10 s head deadline with twenty). The figures are in
bench/fairness_bench.py; here only the behaviour, with the load checked to be real.
Bounded in count and time; loopback only.
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

from .helpers.pipeline import HEALTH, Pipeliners
from .helpers.rawhttp import HOST, AcceptorProcess, read_until_closed

ROUND_TIMEOUT = 1.0
"""The shell's default --timeout: what a proposer waits before it says "no response"."""


def fresh(port: int, method: str, path: str) -> tuple[int, bytes]:
    """One request on a new connection, given the shell's round timeout to answer."""
    conn = http.client.HTTPConnection(HOST, port, timeout=ROUND_TIMEOUT)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_twenty_pipelining_clients_leave_health_and_prepare_answered_within_a_round(tmp_path: Path) -> None:
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--quiet") as acc:
        load = Pipeliners(acc.port, 20, seconds=60).start()
        try:
            assert load.wait_answered(2000), "the pipelining clients were never answered: no load"
            before = load.answered
            for n in range(1, 6):
                assert fresh(acc.port, "GET", "/health") == (200, b"UP acceptor 1\n")
                status, body = fresh(acc.port, "POST", f"/api/paxos/prepare?id={n}")
                assert (status, json.loads(body)) == (200, {"ignored": False, "promisedId": n})
            assert load.running and load.answered > before, "the load stopped while the probes ran"
        finally:
            load.stop()


def test_a_thousand_pipelined_requests_then_a_half_close_are_all_answered_in_order(tmp_path: Path) -> None:
    """The backlog is read in bounded pieces, a turn at a time: nothing is lost or reordered,
    and the half-close is honoured after the last reply."""
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--quiet") as acc:
        requests = [f"POST /api/paxos/prepare?id={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(1000)]
        with socket.create_connection((HOST, acc.port), timeout=30) as s:
            s.sendall(b"".join(requests) + HEALTH)
            s.shutdown(socket.SHUT_WR)
            data = read_until_closed(s)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in data.split(b"HTTP/1.1 ")[1:]]
    assert len(bodies) == 1001
    assert [json.loads(b)["promisedId"] for b in bodies[1:-1]] == list(range(1, 1000))
    assert bodies[-1] == b"UP acceptor 1\n"
