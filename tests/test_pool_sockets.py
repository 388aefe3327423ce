"""LocalPool's processes: ports held from the start, handed to the acceptors, and the pool as their peers.

Two shells (or two test runs) starting at once once both found ports 8081.. free
and raced to bind them; now the pool binds before it spawns, so a port it chose
is never someone else's. These tests never use the default ports: the layout a
pool prefers is moved to a free range first.
"""

from __future__ import annotations

import http.client
import inspect
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from paxos_shell.acceptor.store import Store
from paxos_shell.pool import local as pool_module
from paxos_shell.pool.local import LocalPool, PoolError

HOST = "127.0.0.1"


def ask(port: int, method: str, path: str) -> Any:
    conn = http.client.HTTPConnection(HOST, port, timeout=20)
    try:
        conn.request(method, path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def free_range(n: int) -> int:
    """A port P with P..P+n-1 free just now (probed, then released)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind((HOST, 0))
            base = s.getsockname()[1]
        if base + n <= 65535 and not any(taken(base + i) for i in range(n)):
            return base
    raise RuntimeError(f"no {n} consecutive free ports")


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[LocalPool]]:
    """Pools whose preferred layout starts at a free port, not 8081: other runs use the defaults."""
    monkeypatch.setattr(pool_module, "LAYOUT_BASE_PORT", free_range(3))
    made: list[LocalPool] = []
    yield made
    for p in made:
        p.close()


def test_ports_are_held_from_construction(pools: list[LocalPool], tmp_path: Path) -> None:
    pool = LocalPool(3, str(tmp_path / "a"))
    pools.append(pool)
    assert all(taken(m.port) for m in pool.members.values())  # before any acceptor runs


def test_two_pools_started_at_once_never_share_a_port_or_a_peer(pools: list[LocalPool], tmp_path: Path) -> None:
    def make(name: str) -> LocalPool:
        p = LocalPool(3, str(tmp_path / name))
        pools.append(p)
        p.start()
        return p

    with ThreadPoolExecutor(2) as ex:
        a, b = ex.map(make, ["a", "b"])
    ports_a = {m.port for m in a.members.values()}
    assert ports_a.isdisjoint(m.port for m in b.members.values())
    layout = set(range(pool_module.LAYOUT_BASE_PORT, pool_module.LAYOUT_BASE_PORT + 3))
    assert layout in (ports_a, {m.port for m in b.members.values()})  # one got the layout, the other free ports
    body = ask(a.members[1].port, "POST", "/api/broadcast/paxos/prepare?id=7")
    assert sorted(body) == ["1", "2", "3"]
    assert all(ask(m.port, "GET", "/api/paxos/state")["promisedId"] == 7 for m in a.members.values())
    assert all(ask(m.port, "GET", "/api/paxos/state")["promisedId"] == -1 for m in b.members.values())


def test_up_after_a_crash_comes_back_on_the_same_port(pools: list[LocalPool], tmp_path: Path) -> None:
    pool = LocalPool(2, str(tmp_path))
    pools.append(pool)
    pool.start()
    port = pool.members[2].port
    ask(port, "POST", "/api/paxos/prepare?id=4")
    pool.down([2])
    assert not taken(port)  # a crashed acceptor's port is closed: clients see "refused", not a hang
    assert pool.up([2]) == [2]
    assert pool.members[2].port == port and ask(port, "GET", "/api/paxos/state")["promisedId"] == 4


def test_up_when_another_program_took_the_port_says_so(pools: list[LocalPool], tmp_path: Path) -> None:
    pool = LocalPool(2, str(tmp_path))
    pools.append(pool)
    pool.start()
    pool.down([2])
    with socket.socket() as thief:
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the dead acceptor's TIME_WAIT
        thief.bind((HOST, pool.members[2].port))
        thief.listen(1)
        with pytest.raises(PoolError, match=rf"acceptor 2 cannot come back on port {pool.members[2].port}"):
            pool.up([2])


@pytest.mark.skipif("init" not in inspect.signature(Store.open).parameters,
                    reason="reset starts acceptors with --init, which needs Store.open(init=True) (store branch)")
def test_reset_starts_empty_on_purpose(pools: list[LocalPool], tmp_path: Path) -> None:
    pool = LocalPool(1, str(tmp_path))
    pools.append(pool)
    pool.start()
    ask(pool.members[1].port, "POST", "/api/paxos/accept?id=3&value=x")
    pool.reset([1])
    assert ask(pool.members[1].port, "GET", "/api/paxos/state") == {
        "promisedId": -1, "acceptedId": -1, "acceptedValue": None}
