"""Peers and broadcast: who an acceptor's peers are, and that a dead peer never hides a live one."""

from __future__ import annotations

import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest

from paxos_shell.acceptor.__main__ import parse_args

from .helpers import Blackhole, free_port
from .helpers.rawhttp import HOST, AcceptorProcess, get_json


class TestPeersFromTheCommandLine:
    def peers(self, *argv: str) -> dict[int, str]:
        peers: dict[int, str] = parse_args(["--id", "2", *argv]).peers
        return peers

    def test_derived_from_own_port_and_id(self) -> None:
        assert self.peers("--count", "3", "--port", "18082") == {1: "http://127.0.0.1:18081",
                                                                 3: "http://127.0.0.1:18083"}

    def test_base_port_lays_out_the_pool_and_this_acceptor(self) -> None:
        args = parse_args(["--id", "2", "--count", "3", "--base-port", "9001"])
        assert args.peers == {1: "http://127.0.0.1:9001", 3: "http://127.0.0.1:9003"}
        from paxos_shell.acceptor.__main__ import own_port

        assert own_port(args) == 9002

    def test_default_layout_is_8080_plus_id(self) -> None:
        assert self.peers("--count", "3") == {1: "http://127.0.0.1:8081", 3: "http://127.0.0.1:8083"}

    def test_explicit_peers_replace_the_layout(self) -> None:
        assert self.peers("--count", "3", "--port", "18082", "--peer", "1=http://a:1/", "--peer", "7=https://b:2") == {
            1: "http://a:1", 7: "https://b:2"}

    def test_a_free_port_has_no_layout(self) -> None:
        assert self.peers("--count", "3", "--port", "0") == {}

    def test_tls_peers_are_https_and_a_wildcard_host_is_reached_on_loopback(self) -> None:
        tls = ("--tls-cert", "c", "--tls-key", "k")
        assert self.peers("--count", "2", "--port", "7002", "--host", "0.0.0.0", *tls) == {1: "https://127.0.0.1:7001"}

    def test_a_pool_that_does_not_fit_the_port_range_is_a_usage_error(self, capsys: Any) -> None:
        with pytest.raises(SystemExit) as e:
            parse_args(["--id", "3", "--count", "3", "--port", "1"])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "does not fit" in err


def two_free_ports() -> int:
    """A port P with P+1 free too (bound and released: another run could take them, rarely)."""
    for _ in range(50):
        p = free_port()
        with socket.socket() as s:
            try:
                s.bind((HOST, p + 1))
                return p
            except OSError:
                continue
    raise RuntimeError("no two consecutive free ports")


def test_a_pool_on_its_own_ports_finds_its_own_peers(tmp_path: Path) -> None:
    """`--count 2 --port P` once looked for its peer on 8082, another pool's port."""
    p = two_free_ports()
    with AcceptorProcess(str(tmp_path), "--id", "1", "--count", "2", "--port", str(p)) as a1, \
            AcceptorProcess(str(tmp_path), "--id", "2", "--count", "2", "--port", str(p + 1)):
        get_json(p + 1, "POST", "/api/paxos/prepare?id=4")
        status, body = get_json(a1.port, "GET", "/api/broadcast/paxos/state")
        assert status == 200 and body == {"1": {"promisedId": -1, "acceptedId": -1, "acceptedValue": None},
                                          "2": {"promisedId": 4, "acceptedId": -1, "acceptedValue": None}}


@pytest.mark.parametrize("how", ["blackholed", "refused"])
def test_100_concurrent_broadcasts_with_a_dead_peer_all_list_the_live_one(
        tmp_path: Path, blackhole: Callable[[], Blackhole], how: str) -> None:
    """Each broadcast waits at most the peer timeout (3 s here: generous, this is not a timing
    test) for the dead peer; the live peer answers well within it and must be in every reply."""
    dead = blackhole().url if how == "blackholed" else f"http://{HOST}:{free_port()}"
    live = AcceptorProcess(str(tmp_path), "--id", "2", "--port", "0", "--quiet").wait_listening()
    try:
        with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--quiet", "--peer-timeout", "3",
                             "--peer", f"2=http://{HOST}:{live.port}", "--peer", f"3={dead}") as acc:

            def broadcast(_: int) -> Any:
                conn = http.client.HTTPConnection(HOST, acc.port, timeout=60)
                conn.request("POST", "/api/broadcast/paxos/accept?id=5&value=v")
                body = json.loads(conn.getresponse().read())
                conn.close()
                return body

            with ThreadPoolExecutor(100) as pool:
                replies = list(pool.map(broadcast, range(100)))
        granted = {"ignored": False, "acceptedId": 5, "acceptedValue": "v"}
        assert replies == [{"1": granted, "2": granted}] * 100
    finally:
        live.kill()


def test_a_peer_answering_json_nested_too_deep_is_left_out_not_a_failure() -> None:
    """`[[[[...` exhausts json's recursion: that peer is left out; the others still count."""
    import asyncio

    from paxos_shell.acceptor.broadcast import Peers
    from paxos_shell.core import wire

    from .helpers.fake import Fake

    hostile = Fake(lambda h: h.respond(200, b"[" * 60_000))
    honest = Fake()
    try:
        peers = Peers({2: hostile.url, 3: honest.url})
        mine = {"ignored": False, "promisedId": 5}
        got = asyncio.run(peers.broadcast(1, mine, wire.PREPARE, "id=5", keep=lambda b: True))
        assert list(got) == ["1", "3"] and got["3"]["promisedId"] == 5
    finally:
        hostile.close()
        honest.close()
