"""Test helpers: a real acceptor process started any way a test needs, and raw HTTP.

Raw sockets send what no client library would (smuggled lines, bad lengths,
HTTP/0.9); replies are read back with the standard library's response parser,
so a test sees exactly the replies a client would, and counts them.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .wait import wait_until

HOST = "127.0.0.1"
BANNER = re.compile(r"listening on (https?)://127\.0\.0\.1:(\d+)")


class AcceptorProcess:
    """`python -m paxos_shell.acceptor ARGS` with its stderr in a log file; port read from its banner."""

    def __init__(self, data_dir: str, *args: str, preexec_fn: Optional[Callable[[], None]] = None,
                 pass_fds: tuple[int, ...] = ()) -> None:
        self.log_path = os.path.join(data_dir, f"acceptor-{os.getpid()}-{time.monotonic_ns()}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "paxos_shell.acceptor", "--data-dir", data_dir, *args],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=preexec_fn,
                                         pass_fds=pass_fds)
        self.port = 0

    def wait_listening(self, timeout: float = 15.0) -> AcceptorProcess:
        m = wait_until(lambda: BANNER.search(self.log()) or self.proc.poll() is not None, timeout)
        if isinstance(m, re.Match):
            self.port = int(m.group(2))
            return self
        if self.proc.poll() is not None:
            raise RuntimeError(f"acceptor exited with {self.proc.returncode}: {self.log()}")
        raise RuntimeError(f"acceptor did not start: {self.log()}")

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> AcceptorProcess:
        return self.wait_listening()

    def __exit__(self, *exc: object) -> None:
        self.kill()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Stream(io.BytesIO):
    def close(self) -> None:  # http.client closes its file after each response; keep reading ours
        pass


class _Source:
    def __init__(self, data: bytes) -> None:
        self.stream = _Stream(data)

    def makefile(self, mode: str) -> _Stream:
        return self.stream


def parse_responses(data: bytes, methods: tuple[str, ...] = ()) -> list[RawResponse]:
    """Every complete HTTP response in `data`, in order; methods[i] is request i's (HEAD has no body)."""
    src = _Source(data)
    out: list[RawResponse] = []
    while src.stream.tell() < len(data):
        r = http.client.HTTPResponse(src, method=methods[len(out)] if len(out) < len(methods) else "GET")  # type: ignore[arg-type]  # duck-typed socket
        r.begin()
        out.append(RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()))
    return out


def converse(port: int, data: bytes, timeout: float = 20.0) -> bytes:
    """Send `data` on a new connection and read until the server closes it (or `timeout`)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may refuse and close before reading everything
        return read_until_closed(s)


def read_until_closed(s: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def get_json(port: int, method: str, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        raw = r.read()
        return r.status, json.loads(raw) if "json" in r.getheader("Content-Type", "") else raw.decode()
    finally:
        conn.close()


def state(port: int) -> dict:
    return get_json(port, "GET", "/api/paxos/state")[1]
