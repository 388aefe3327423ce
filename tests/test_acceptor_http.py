"""A real paxos-acceptor process, spoken to over raw HTTP as any client would."""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Optional
from urllib.parse import quote

import pytest

from paxos_shell.acceptor.node import AcceptorNode
from paxos_shell.acceptor.server import AcceptorServer
from paxos_shell.acceptor.store import STATE_FILE, Store
from paxos_shell.core.paxos import AcceptorState

from .helpers import HOST, Acceptor, dead_url, free_port, serve_in_thread


def call(port: int, method: str, path: str, conn: Optional[http.client.HTTPConnection] = None) -> tuple[int, Any, str]:
    c = conn or http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        c.request(method, path)
        r = c.getresponse()
        raw = r.read()
        ctype = r.getheader("Content-Type", "")
        body = json.loads(raw) if "json" in ctype else raw.decode()
        return r.status, body, ctype
    finally:
        if conn is None:
            c.close()


def state(port: int) -> dict:
    return call(port, "GET", "/api/paxos/state")[1]


@pytest.fixture
def one(acceptors: Any) -> Acceptor:
    return acceptors(1)[0]


class TestProtocol:
    def test_fresh_state(self, one: Acceptor) -> None:
        status, body, ctype = call(one.port, "GET", "/api/paxos/state")
        assert status == 200 and ctype == "application/json"
        assert body == {"promisedId": -1, "acceptedId": -1, "acceptedValue": None}

    def test_prepare_accept_sequence_matches_the_table(self, one: Acceptor) -> None:
        p = one.port
        assert call(p, "POST", "/api/paxos/prepare?id=7")[1] == {"ignored": False, "promisedId": 7}
        assert call(p, "POST", "/api/paxos/prepare?id=7")[1] == {"ignored": True, "promisedId": 7}
        assert call(p, "POST", "/api/paxos/prepare?id=3")[1] == {"ignored": True, "promisedId": 7}
        assert call(p, "POST", "/api/paxos/accept?id=6&value=x")[1] == {"ignored": True}
        assert call(p, "POST", "/api/paxos/accept?id=7&value=test-val")[1] == {
            "ignored": False, "acceptedId": 7, "acceptedValue": "test-val"}
        assert call(p, "POST", "/api/paxos/prepare?id=9")[1] == {
            "ignored": False, "promisedId": 9, "acceptedId": 7, "acceptedValue": "test-val"}
        assert call(p, "POST", "/api/paxos/prepare?id=8")[1] == {
            "ignored": True, "promisedId": 9, "acceptedId": 7, "acceptedValue": "test-val"}
        assert state(p) == {"promisedId": 9, "acceptedId": 7, "acceptedValue": "test-val"}

    def test_accept_without_prepare_raises_the_promise(self, one: Acceptor) -> None:
        assert call(one.port, "POST", "/api/paxos/accept?id=4&value=v")[1]["ignored"] is False
        assert state(one.port) == {"promisedId": 4, "acceptedId": 4, "acceptedValue": "v"}

    def test_refused_prepare_on_fresh_acceptor_never_happens_but_id_zero_works(self, one: Acceptor) -> None:
        assert call(one.port, "POST", "/api/paxos/prepare?id=0")[1] == {"ignored": False, "promisedId": 0}
        assert call(one.port, "POST", "/api/paxos/prepare?id=0")[1] == {"ignored": True, "promisedId": 0}

    @pytest.mark.parametrize("value", ["", "two words", "a&b=c+d", "ünïcødé ✓", "%41", "x" * 2000])
    def test_any_utf8_value_round_trips(self, one: Acceptor, value: str) -> None:
        status, body, _ = call(one.port, "POST", f"/api/paxos/accept?id=1&value={quote(value, safe='')}")
        assert status == 200 and body == {"ignored": False, "acceptedId": 1, "acceptedValue": value}
        assert state(one.port)["acceptedValue"] == value

    def test_health(self, one: Acceptor) -> None:
        status, body, ctype = call(one.port, "GET", "/health")
        assert status == 200 and ctype.startswith("text/plain") and "UP" in body

    def test_keep_alive_serves_many_requests_on_one_connection(self, one: Acceptor) -> None:
        conn = http.client.HTTPConnection(HOST, one.port, timeout=5)
        conn.connect()
        sock = conn.sock
        for i in range(1, 51):
            assert call(one.port, "POST", f"/api/paxos/prepare?id={i}", conn)[1]["ignored"] is False
        assert conn.sock is sock  # never reconnected
        conn.close()


class TestBadInput:
    @pytest.mark.parametrize("path,message", [
        ("/api/paxos/prepare", "missing"),
        ("/api/paxos/prepare?id=", "integer"),
        ("/api/paxos/prepare?id=abc", "integer"),
        ("/api/paxos/prepare?id=1.5", "integer"),
        ("/api/paxos/prepare?id=-1", "between"),
        ("/api/paxos/prepare?id=2147483648", "between"),
        ("/api/paxos/accept?id=3", "'value' is missing"),
        ("/api/paxos/accept?value=x", "'id' is missing"),
        ("/api/paxos/accept?id=x&value=v", "integer"),
        ("/api/paxos/accept?id=1&value=%ff", "UTF-8"),
    ])
    def test_400_with_json_body_and_no_change(self, one: Acceptor, path: str, message: str) -> None:
        call(one.port, "POST", "/api/paxos/prepare?id=5")
        status, body, ctype = call(one.port, "POST", path)
        assert status == 400 and ctype == "application/json"
        assert body["status"] == 400 and body["error"] == "Bad Request" and message in body["message"]
        assert body["path"] == path.split("?")[0] and "ignored" not in body
        assert state(one.port) == {"promisedId": 5, "acceptedId": -1, "acceptedValue": None}

    def test_unknown_path_404(self, one: Acceptor) -> None:
        status, body, _ = call(one.port, "GET", "/api/nothing")
        assert status == 404 and body["error"] == "Not Found" and body["path"] == "/api/nothing"

    @pytest.mark.parametrize("method,path", [("GET", "/api/paxos/prepare?id=1"), ("POST", "/api/paxos/state"),
                                             ("DELETE", "/api/paxos/accept?id=1&value=x"), ("PUT", "/health")])
    def test_wrong_method_405(self, one: Acceptor, method: str, path: str) -> None:
        status, body, _ = call(one.port, method, path)
        assert status == 405 and body["error"] == "Method Not Allowed"
        assert state(one.port)["promisedId"] == -1

    def test_long_request_line_414(self, one: Acceptor) -> None:
        status, body, _ = call(one.port, "POST", "/api/paxos/accept?id=1&value=" + "v" * 9000)
        assert status == 414 and body["status"] == 414
        assert state(one.port)["acceptedId"] == -1

    def test_malformed_http_gets_400_and_server_goes_on(self, one: Acceptor) -> None:
        with socket.create_connection((HOST, one.port), timeout=5) as s:
            s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 400") and b'"status": 400' in data
        assert state(one.port)["promisedId"] == -1

    def test_silent_and_dropping_clients_do_not_block_others(self, one: Acceptor) -> None:
        silent = [socket.create_connection((HOST, one.port)) for _ in range(20)]
        half = socket.create_connection((HOST, one.port))
        half.sendall(b"POST /api/paxos/prepare?id=3 HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        dropped = socket.create_connection((HOST, one.port))
        dropped.sendall(b"POST /api/paxos/prep")
        dropped.close()
        t0 = time.monotonic()
        assert call(one.port, "POST", "/api/paxos/prepare?id=1")[1]["ignored"] is False
        assert time.monotonic() - t0 < 1.0
        for s in [*silent, half]:
            s.close()
        assert state(one.port)["promisedId"] == 1


class TestBroadcast:
    def test_broadcast_state_prepare_accept(self, tmp_path: Any) -> None:
        ports = [free_port() for _ in range(3)]
        peers = [arg for j, p in enumerate(ports, 1) for arg in ("--peer", f"{j}=http://{HOST}:{p}")]
        dead = dead_url()
        accs = [Acceptor(i, ports[i - 1], str(tmp_path), extra=(*peers, "--peer", f"4={dead}")) for i in (1, 2, 3)]
        try:
            for a in accs:
                a.start()
            t0 = time.monotonic()
            status, body, _ = call(ports[0], "GET", "/api/broadcast/paxos/state")
            assert status == 200 and time.monotonic() - t0 < 1.0
            assert body == {str(i): {"promisedId": -1, "acceptedId": -1, "acceptedValue": None} for i in (1, 2, 3)}
            call(ports[2], "POST", "/api/paxos/prepare?id=9")
            _, body, _ = call(ports[1], "POST", "/api/broadcast/paxos/prepare?id=5")
            assert body == {"1": {"ignored": False, "promisedId": 5}, "2": {"ignored": False, "promisedId": 5}}
            _, body, _ = call(ports[0], "POST", "/api/broadcast/paxos/accept?id=5&value=x")
            assert set(body) == {"1", "2"} and body["1"]["acceptedValue"] == "x"
            assert state(ports[2])["acceptedId"] == -1
            status, body, _ = call(ports[0], "POST", "/api/broadcast/paxos/prepare?id=oops")
            assert status == 400
        finally:
            for a in accs:
                a.kill()

    def test_layout_peers_from_count(self, tmp_path: Any) -> None:
        """With --count and no --peer, peers are looked for at own port - id + j; absent ones are left out fast."""
        a = Acceptor(1, free_port(), str(tmp_path), extra=("--count", "3"))
        try:
            a.start()
            status, body, _ = call(a.port, "GET", "/api/broadcast/paxos/state")
            assert status == 200 and "1" in body
        finally:
            a.kill()


class TestDurability:
    def test_state_survives_kill_9(self, one: Acceptor) -> None:
        call(one.port, "POST", "/api/paxos/prepare?id=7")
        call(one.port, "POST", "/api/paxos/accept?id=7&value=kept")
        one.kill()
        one.start()
        assert state(one.port) == {"promisedId": 7, "acceptedId": 7, "acceptedValue": "kept"}

    def test_kill_9_mid_stream_loses_nothing_acknowledged(self, one: Acceptor) -> None:
        rng = random.Random(7)
        next_id = 1
        for _ in range(5):
            acked: list[int] = []
            sent: list[int] = []
            stop = threading.Event()

            def hammer(stop: threading.Event, sent: list[int], acked: list[int]) -> None:
                nonlocal next_id
                conn = http.client.HTTPConnection(HOST, one.port, timeout=2)
                while not stop.is_set():
                    n = next_id
                    next_id += 1
                    sent.append(n)
                    try:
                        conn.request("POST", f"/api/paxos/prepare?id={n}")
                        body = json.loads(conn.getresponse().read())
                    except (OSError, http.client.HTTPException, ValueError):
                        return
                    if body.get("ignored") is False:
                        acked.append(n)

            t = threading.Thread(target=hammer, args=(stop, sent, acked))
            t.start()
            time.sleep(rng.uniform(0.05, 0.2))
            one.kill()
            stop.set()
            t.join()
            one.start()
            promised = state(one.port)["promisedId"]
            assert acked, "the acceptor acknowledged nothing before the kill"
            assert acked[-1] <= promised <= sent[-1]

    def test_corrupt_state_file_refuses_to_start(self, tmp_path: Any) -> None:
        d = tmp_path / "acceptor-1"
        os.makedirs(d)
        (d / STATE_FILE).write_text('{"promisedId": 3, "accep')
        port = free_port()
        p = subprocess.run([sys.executable, "-m", "paxos_shell.acceptor", "--id", "1", "--port", str(port),
                            "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=10)
        assert p.returncode == 1
        assert str(d / STATE_FILE) in p.stderr and "refusing to start" in p.stderr
        assert "Traceback" not in p.stderr

    def test_sigterm_is_a_clean_exit(self, one: Acceptor) -> None:
        assert one.proc is not None
        one.proc.terminate()
        assert one.proc.wait(timeout=5) == 0


class FailingStore(Store):
    def save(self, state: AcceptorState) -> None:
        raise OSError(28, "No space left on device")


def test_persist_failure_is_500_and_not_granted(tmp_path: Any) -> None:
    store = FailingStore(str(tmp_path / "a"))
    node = AcceptorNode(1, store, store.open())
    server = AcceptorServer((HOST, 0), node)
    serve_in_thread(server)
    port = server.server_address[1]
    try:
        status, body, _ = call(port, "POST", "/api/paxos/prepare?id=3")
        assert status == 500 and "No space left" in body["message"] and "ignored" not in body
        status, body, _ = call(port, "POST", "/api/paxos/accept?id=3&value=v")
        assert status == 500
        assert state(port) == {"promisedId": -1, "acceptedId": -1, "acceptedValue": None}
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def test_concurrent_clients_see_the_rules_applied_one_at_a_time(one: Acceptor) -> None:
    """Many threads prepare and accept at once; every reply must obey the rules."""
    results: list[tuple[str, int, str, dict]] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(HOST, one.port, timeout=5)
        for i in range(40):
            n = rng.randint(0, 60)
            if rng.random() < 0.5:
                conn.request("POST", f"/api/paxos/prepare?id={n}")
                op, value = "prepare", ""
            else:
                value = f"t{seed}-{i}"
                conn.request("POST", f"/api/paxos/accept?id={n}&value={value}")
                op = "accept"
            body = json.loads(conn.getresponse().read())
            with lock:
                results.append((op, n, value, body))
        conn.close()

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    granted_prepares = [n for op, n, _, b in results if op == "prepare" and not b["ignored"]]
    assert len(granted_prepares) == len(set(granted_prepares)), "an id was promised twice"
    for op, n, value, b in results:
        if op == "prepare":
            assert (b["promisedId"] == n) if not b["ignored"] else (b["promisedId"] >= n)
            if "acceptedId" in b:
                assert b["acceptedId"] <= b["promisedId"]
        elif not b["ignored"]:
            assert b == {"ignored": False, "acceptedId": n, "acceptedValue": value}
        else:
            assert b == {"ignored": True}
    final = state(one.port)
    granted_accepts = [(n, v) for op, n, v, b in results if op == "accept" and not b["ignored"]]
    top = max([n for n, _ in granted_accepts] + granted_prepares)
    assert final["promisedId"] == top
    if granted_accepts:
        best = max(n for n, _ in granted_accepts)
        assert final["acceptedId"] == best
        assert (best, final["acceptedValue"]) in granted_accepts


def test_request_log_and_data_dir_from_environment(tmp_path: Any) -> None:
    """One log line per request on stderr; $PAXOS_DATA_DIR is the default data root."""
    port = free_port()
    env = dict(os.environ, PAXOS_DATA_DIR=str(tmp_path / "env-data"))
    p = subprocess.Popen([sys.executable, "-m", "paxos_shell.acceptor", "--id", "2", "--port", str(port)],
                         env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr is not None
        assert "listening on http://127.0.0.1:" in p.stderr.readline()
        assert call(port, "POST", "/api/paxos/prepare?id=3")[1]["ignored"] is False
        assert "POST /api/paxos/prepare?id=3 200 granted" in p.stderr.readline()
        assert os.path.exists(tmp_path / "env-data" / "acceptor-2" / STATE_FILE)
    finally:
        p.terminate()
        p.wait(timeout=5)
        if p.stderr:
            p.stderr.close()
    assert p.returncode == 0


def test_layout_port_and_ctrl_c(tmp_path: Any) -> None:
    """--id I --count N listens on 8080+I (checked without binding it: other runs use those
    ports); Ctrl-C (SIGINT) is a clean exit."""
    import signal

    from paxos_shell.acceptor.__main__ import own_port, parse_args

    assert own_port(parse_args(["--id", "7", "--count", "9"])) == 8087
    p = subprocess.Popen([sys.executable, "-m", "paxos_shell.acceptor", "--id", "7", "--count", "9", "--quiet",
                          "--port", "0", "--data-dir", str(tmp_path)], stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr is not None
        banner = p.stderr.readline()
        assert banner.startswith("paxos-acceptor 7 listening on http://127.0.0.1:")
        port = int(banner.split("127.0.0.1:")[1].split(",")[0])
        assert state(port) == {"promisedId": -1, "acceptedId": -1, "acceptedValue": None}
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=5) == 0
        assert "Traceback" not in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if p.stderr:
            p.stderr.close()
