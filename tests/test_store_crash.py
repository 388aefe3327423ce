"""The store inside a real acceptor process: a file-size limit, kill -9, a second acceptor.

Each test starts `python -m paxos_shell.acceptor` on a free loopback port and
stops it by the pid it started. What is checked is what a proposer sees: which
replies acknowledged a change, and the state the acceptor holds after a restart.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import quote

import pytest

from paxos_shell.acceptor import record
from paxos_shell.acceptor.store import LEGACY_LOCK, STATE_FILE
from paxos_shell.core import paxos
from paxos_shell.core.paxos import AcceptorState
from paxos_shell.pool.local import healthy

from .helpers import HOST, Acceptor, free_port
from .helpers.wait import wait_until

Op = tuple[str, int, Optional[str]]
"""A request the client sent: ("prepare", id, None) or ("accept", id, value)."""


def path_of(op: Op) -> str:
    kind, n, value = op
    if kind == "prepare":
        return f"/api/paxos/prepare?id={n}"
    return f"/api/paxos/accept?id={n}&value={quote(value or '')}"


def apply(state: AcceptorState, op: Op) -> AcceptorState:
    """The state after `op`, which the client only sends with ids above every earlier one."""
    kind, n, value = op
    t = paxos.on_prepare(state, n) if kind == "prepare" else paxos.on_accept(state, n, value or "")
    assert t.granted
    return t.state


def brief(s: AcceptorState) -> str:
    """A state as a failure message shows it: ids, and the value's start and length."""
    v = s.accepted_value
    return f"({s.promised_id}, {s.accepted_id}, {v if v is None else repr(v[:8]) + f'+{len(v)} chars'})"


def send(conn: http.client.HTTPConnection, method: str, path: str) -> tuple[int, Any]:
    conn.request(method, path)
    r = conn.getresponse()
    return r.status, json.loads(r.read())


def state_of(port: int) -> AcceptorState:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        status, body = send(conn, "GET", "/api/paxos/state")
    finally:
        conn.close()
    assert status == 200
    return AcceptorState(body["promisedId"], body["acceptedId"], body["acceptedValue"])


def start(root: Path, port: int, fsize: Optional[int] = None, *extra: str) -> subprocess.Popen:
    """Acceptor 1 under `root`; with `fsize`, the file-size limit is set in the child only."""
    def limit() -> None:
        assert fsize is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.Popen(
        [sys.executable, "-m", "paxos_shell.acceptor", "--id", "1", "--port", str(port),
         "--data-dir", str(root), "--quiet", *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=limit if fsize is not None else None,
    )


def wait_up(p: subprocess.Popen, port: int) -> None:
    wait_until(lambda: healthy(HOST, port) or p.poll() is not None)
    assert p.poll() is None, f"acceptor exited with {p.returncode}: {p.stderr.read() if p.stderr else ''}"
    assert healthy(HOST, port), "acceptor did not start"


def refused(p: subprocess.Popen) -> str:
    """The one line an acceptor that refused to start printed; it must exit 1 with no traceback."""
    _, err = p.communicate(timeout=10)
    assert p.returncode == 1, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def kill(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.kill()
    p.communicate(timeout=10)


@pytest.fixture
def procs() -> Any:
    """Every process a test starts here, killed by its pid at teardown."""
    started: list[subprocess.Popen] = []

    def track(p: subprocess.Popen) -> subprocess.Popen:
        started.append(p)
        return p

    yield track
    for p in started:
        kill(p)


class TestFileSizeLimit:
    def test_limit_below_the_record_refuses_at_initialisation(self, tmp_path: Path, procs: Any) -> None:
        port = free_port()
        err = refused(procs(start(tmp_path, port, record.RECORD_BYTES - 1)))
        assert "cannot initialise state directory" in err and os.strerror(errno.EFBIG) in err
        assert not (tmp_path / "acceptor-1" / STATE_FILE).exists()
        p = procs(start(tmp_path, port))  # without the limit: a fresh acceptor, nothing half-made in the way
        wait_up(p, port)
        assert state_of(port) == AcceptorState()

    def test_short_write_is_a_500_and_the_last_acknowledged_state_survives(
        self, tmp_path: Path, procs: Any
    ) -> None:
        """The limit falls 512 bytes into slot 1. Saves to slot 0, and small saves to slot 1,
        fit; a state holding a 6,000-byte value bound for slot 1 is cut short: os.pwrite
        writes 512 bytes, the next write fails with EFBIG. Saves alternate slots, starting
        with slot 1, and a failed save is retried in the same slot."""
        port = free_port()
        p = procs(start(tmp_path, port))
        wait_up(p, port)
        kill(p)
        p = procs(start(tmp_path, port, record.SLOT_BYTES + 512))
        wait_up(p, port)
        ops: list[Op] = [("prepare", 1, None), ("accept", 2, "small"), ("accept", 3, "3" * 6000),
                         ("accept", 4, "small"), ("accept", 5, "5" * 6000), ("prepare", 6, None)]
        model, statuses = AcceptorState(), []
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        for op in ops:
            status, body = send(conn, "POST", path_of(op))
            statuses.append(status)
            if status == 200:
                assert body["ignored"] is False
                model = apply(model, op)
            else:
                assert "ignored" not in body  # an error, never a protocol answer a proposer could count
            assert state_of(port) == model
        conn.close()
        assert statuses == [200, 200, 500, 200, 200, 500]
        kill(p)
        p = procs(start(tmp_path, port))
        wait_up(p, port)
        assert state_of(port) == AcceptorState(5, 5, "5" * 6000)


class TestDirectoryIdentity:
    def test_second_acceptor_and_missing_state_file_refuse(self, tmp_path: Path, procs: Any) -> None:
        port = free_port()
        first = procs(start(tmp_path, port))
        wait_up(first, port)
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        assert send(conn, "POST", "/api/paxos/prepare?id=100")[1]["ignored"] is False
        conn.close()
        assert LEGACY_LOCK not in os.listdir(tmp_path / "acceptor-1")  # no file whose deletion unlocks it
        assert "is in use by another paxos-acceptor" in refused(procs(start(tmp_path, free_port())))
        assert state_of(port).promised_id == 100
        kill(first)
        os.remove(tmp_path / "acceptor-1" / STATE_FILE)
        err = refused(procs(start(tmp_path, port)))
        assert "is missing" in err and "--init to start empty" in err


def client(port: int, first_id: int, rng: random.Random, sent: list[Op], acked: list[Op],
           kill_at: int, due: threading.Event) -> None:
    """Prepares and accepts with increasing ids, one at a time, until a request fails;
    `due` is set once `kill_at` requests were acknowledged."""
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        for n in range(first_id, first_id + 20_000):
            value = f"v{n}-" + "x" * rng.choice([0, 10, 3000, 6000])
            op: Op = ("prepare", n, None) if rng.random() < 0.4 else ("accept", n, value)
            sent.append(op)
            status, body = send(conn, "POST", path_of(op))
            if status != 200 or body.get("ignored") is not False:
                return
            acked.append(op)
            if len(acked) == kill_at:
                due.set()
    except (OSError, http.client.HTTPException, ValueError):
        return  # the kill: this request may or may not have been applied
    finally:
        conn.close()


def test_kill_9_at_random_moments_loses_nothing_acknowledged(
    acceptors: Callable[..., list[Acceptor]]
) -> None:
    """20 cycles: a client runs, the acceptor is SIGKILLed at a random moment and restarted.
    It must come back in the state after the last acknowledged request, or after the one
    request in flight at the kill, never anything else. Kills land after a random count of
    acknowledged requests, often the first few after a restart, where recovery bugs live."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    (acc,) = acceptors(1, "--quiet")
    model, next_id, total = AcceptorState(), 0, 0
    for cycle in range(20):
        sent: list[Op] = []
        acked: list[Op] = []
        due = threading.Event()
        kill_at = rng.choice([1, 1, 2, 3, rng.randint(4, 100)])
        t = threading.Thread(target=client, args=(acc.port, next_id, rng, sent, acked, kill_at, due))
        t.start()
        assert due.wait(10), f"the acceptor acknowledged fewer than {kill_at} requests"
        time.sleep(rng.choice([0, rng.uniform(0, 0.002)]))
        acc.kill()
        t.join(10)
        acc.start()
        for op in acked:
            model = apply(model, op)
        allowed = [model, apply(model, sent[len(acked)])] if len(sent) > len(acked) else [model]
        got = state_of(acc.port)
        assert got in allowed, f"cycle {cycle}, seed {seed}: {brief(got)} after {len(acked)} acknowledged, " \
            f"allowed {[brief(s) for s in allowed]}"
        model, next_id, total = got, sent[-1][1] + 1, total + len(acked)
    assert total >= 20
