"""`paxos-acceptor` as an operator meets it: options, start-up failures, HTTPS, the request log."""

from __future__ import annotations

import http.client
import inspect
import json
import re
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import trustme

from paxos_shell.acceptor.store import Store

from .helpers import wait_gone
from .helpers.rawhttp import HOST, AcceptorProcess, get_json, state
from .helpers.wait import wait_until

ACCEPTOR = [sys.executable, "-m", "paxos_shell.acceptor"]


def run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([*ACCEPTOR, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def one_line_failure(p: subprocess.CompletedProcess, code: int, *words: str) -> str:
    assert p.returncode == code, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
    for w in words:
        assert w in p.stderr
    return str(p.stderr)


class TestStartupFailures:
    @pytest.mark.parametrize("port", ["99999", "-1", "http"])
    def test_bad_port_is_one_line_and_exit_2(self, tmp_path: Path, port: str) -> None:
        one_line_failure(run("--id", "1", "--port", port, "--data-dir", str(tmp_path)), 2, "port must be 0 to 65535")

    def test_port_in_use(self, tmp_path: Path) -> None:
        with socket.socket() as s:
            s.bind((HOST, 0))
            s.listen(1)
            port = s.getsockname()[1]
            one_line_failure(run("--id", "1", "--port", str(port), "--data-dir", str(tmp_path)), 1,
                             f"cannot listen on 127.0.0.1:{port}", "Address already in use")

    def test_unusable_data_dir(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_text("not a directory")
        one_line_failure(run("--id", "1", "--port", "0", "--data-dir", str(tmp_path / "file" / "sub")), 1,
                         "paxos-acceptor 1: ")

    def test_missing_tls_files(self, tmp_path: Path) -> None:
        one_line_failure(run("--id", "1", "--port", "0", "--data-dir", str(tmp_path), "--tls-cert",
                             str(tmp_path / "nope.pem"), "--tls-key", str(tmp_path / "nope.key")), 1, "--tls-cert")

    def test_tls_cert_without_key_is_a_usage_error(self, tmp_path: Path) -> None:
        one_line_failure(run("--id", "1", "--tls-cert", "x.pem", "--data-dir", str(tmp_path)), 2, "go together")

    def test_listen_fd_that_is_not_a_socket(self, tmp_path: Path) -> None:
        one_line_failure(run("--id", "1", "--listen-fd", "97", "--data-dir", str(tmp_path)), 1, "--listen-fd 97")

    def test_listen_fd_and_port_together_is_a_usage_error(self, tmp_path: Path) -> None:
        one_line_failure(run("--id", "1", "--listen-fd", "3", "--port", "1", "--data-dir", str(tmp_path)), 2)


def test_version() -> None:
    p = run("--version")
    assert p.returncode == 0 and re.fullmatch(r"paxos-acceptor \d+\.\d+\.\d+\n", p.stdout), p.stdout


def test_port_0_picks_a_free_port_and_says_which(tmp_path: Path) -> None:
    with AcceptorProcess(str(tmp_path), "--id", "3", "--port", "0") as acc:
        assert acc.port > 0
        assert get_json(acc.port, "GET", "/health") == (200, "UP acceptor 3\n")


def test_listen_fd_serves_on_the_inherited_socket(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(8)
        port = s.getsockname()[1]
        acc = AcceptorProcess(str(tmp_path), "--id", "1", "--listen-fd", str(s.fileno()), pass_fds=(s.fileno(),))
    with acc.wait_listening():
        assert acc.port == port and state(port)["promisedId"] == -1


@pytest.mark.skipif("init" not in inspect.signature(Store.open).parameters,
                    reason="--init needs Store.open(init=True), from the store branch")
def test_init_starts_empty_on_purpose(tmp_path: Path) -> None:
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0") as acc:
        get_json(acc.port, "POST", "/api/paxos/prepare?id=7")
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0") as acc:
        assert state(acc.port)["promisedId"] == 7
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--init") as acc:
        assert state(acc.port)["promisedId"] == -1


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_acceptor(tmp_path: Path, ca: trustme.CA) -> Iterator[AcceptorProcess]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--tls-cert", str(tmp_path / "server.pem"),
                         "--tls-key", str(tmp_path / "server.pem")) as acc:
        assert "listening on https://" in acc.log()
        yield acc


def test_https_with_the_ca_is_served(tls_acceptor: AcceptorProcess, ca: trustme.CA) -> None:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    conn = http.client.HTTPSConnection(HOST, tls_acceptor.port, timeout=20, context=ctx)
    conn.request("POST", "/api/paxos/prepare?id=3")
    r = conn.getresponse()
    assert (r.status, json.loads(r.read())) == (200, {"ignored": False, "promisedId": 3})
    conn.request("GET", "/health")  # the same TLS connection, kept alive
    assert conn.getresponse().read() == b"UP acceptor 1\n"
    conn.close()


def test_https_without_the_ca_is_refused(tls_acceptor: AcceptorProcess, ca: trustme.CA) -> None:
    conn = http.client.HTTPSConnection(HOST, tls_acceptor.port, timeout=20, context=ssl.create_default_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/health")
    conn.close()
    plain = http.client.HTTPConnection(HOST, tls_acceptor.port, timeout=20)  # no TLS at all
    with pytest.raises((http.client.HTTPException, OSError)):
        plain.request("GET", "/health")
        plain.getresponse()
    plain.close()
    assert "Traceback" not in tls_acceptor.log()
    assert verified_health(tls_acceptor.port, ca) == b"UP acceptor 1\n"  # still serving


def verified_health(port: int, ca: trustme.CA) -> bytes:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    conn = http.client.HTTPSConnection(HOST, port, timeout=20, context=ctx)
    conn.request("GET", "/health")
    body = conn.getresponse().read()
    conn.close()
    return body


def test_log_latency_is_the_request_not_the_idle_time_before_it(tmp_path: Path) -> None:
    """The logged interval (first byte to reply written) lies inside the client's own round trip,
    so it cannot include the second of keep-alive silence before the request."""
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0") as acc:
        conn = http.client.HTTPConnection(HOST, acc.port, timeout=20)
        conn.request("GET", "/health")
        conn.getresponse().read()
        time.sleep(1.0)  # idle on a kept-alive connection: the subject of this test
        t0 = time.perf_counter()
        conn.request("POST", "/api/paxos/prepare?id=12")
        conn.getresponse().read()
        client_ms = (time.perf_counter() - t0) * 1000
        conn.close()
        line = wait_for_line(acc, r"POST /api/paxos/prepare\?id=12 200 granted ([\d.]+)ms")
        assert float(line.group(1)) <= client_ms + 0.01


def wait_for_line(acc: AcceptorProcess, pattern: str) -> Any:
    m = wait_until(lambda: re.search(pattern, acc.log()), 20)
    assert m, f"no log line {pattern!r} in {acc.log()!r}"
    return m


def test_quiet_logs_no_requests(tmp_path: Path) -> None:
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--quiet") as acc:
        get_json(acc.port, "POST", "/api/paxos/prepare?id=1")
        get_json(acc.port, "GET", "/nope")
        acc.proc.terminate()
        assert acc.proc.wait(timeout=20) == 0
        assert acc.log().count("\n") == 1 and "listening on" in acc.log()


def test_acceptor_exits_when_its_parent_dies(tmp_path: Path) -> None:
    """--parent-pid: a shell killed with SIGKILL leaves no acceptor behind."""
    parent = subprocess.run(
        [sys.executable, "-c",
         "import os, subprocess, sys\n"
         f"p = subprocess.Popen({ACCEPTOR!r} + ['--id', '1', '--port', '0', '--quiet', '--data-dir', {str(tmp_path)!r},"
         " '--parent-pid', str(os.getpid())], stderr=subprocess.DEVNULL)\n"
         "print(p.pid)\n"],
        capture_output=True, text=True, timeout=20)
    assert wait_gone([int(parent.stdout)], timeout=20) == []


def test_sigterm_and_sigint_exit_cleanly(tmp_path: Path) -> None:
    for sig in ("terminate", "send_signal"):
        with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0") as acc:
            idle = socket.create_connection((HOST, acc.port))  # an open connection must not hold the exit
            if sig == "terminate":
                acc.proc.terminate()
            else:
                acc.proc.send_signal(2)
            assert acc.proc.wait(timeout=20) == 0
            idle.close()
            assert "Traceback" not in acc.log()
