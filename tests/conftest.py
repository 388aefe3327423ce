"""Shared fixtures: real acceptor processes on free loopback ports, and a private home."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from paxos_shell.pool import healthy

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """No test reads or writes the real home: XDG directories point into a temp dir."""
    home = str(tmp_path_factory.mktemp("home"))
    for var, sub in (("XDG_STATE_HOME", "state"), ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data")):
        monkeypatch.setenv(var, os.path.join(home, sub))
    monkeypatch.delenv("PAXOS_DATA_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@dataclass
class Acceptor:
    id: int
    port: int
    data_dir: str
    proc: Optional[subprocess.Popen] = None
    extra: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, wait: bool = True) -> Acceptor:
        log = open(os.path.join(self.data_dir, f"acceptor-{self.id}.log"), "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "paxos_shell.acceptor", "--id", str(self.id), "--port", str(self.port),
             "--data-dir", self.data_dir, *self.extra],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        log.close()
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 10.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while not healthy(HOST, self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"acceptor {self.id} exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"acceptor {self.id} did not start")
            time.sleep(0.01)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def acceptors(tmp_path: Path) -> Iterator[Callable[..., list[Acceptor]]]:
    """Start N real paxos-acceptor processes; every one is stopped at teardown."""
    started: list[Acceptor] = []

    def start(n: int, *extra: str) -> list[Acceptor]:
        accs = [Acceptor(i, free_port(), str(tmp_path), extra=extra) for i in range(1, n + 1)]
        for a in accs:
            a.start(wait=False)
            started.append(a)
        for a in accs:
            a.wait_healthy()
        return accs

    yield start
    for a in started:
        a.kill()


class Blackhole:
    """A socket that accepts connections and never answers: a hung acceptor."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def blackhole() -> Iterator[Callable[[], Blackhole]]:
    holes: list[Blackhole] = []

    def make() -> Blackhole:
        h = Blackhole()
        holes.append(h)
        return h

    yield make
    for h in holes:
        h.close()


def dead_url() -> str:
    """A loopback port with nothing listening: connection refused."""
    return f"http://{HOST}:{free_port()}"
