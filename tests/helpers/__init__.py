"""Helpers shared by the tests: real acceptor processes on free loopback ports, a
blackhole that never answers, and running shell commands in-process.

Fixtures live in conftest.py; everything a test module imports lives here, so
test modules never import each other.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pexpect
import pytest

from paxos_shell.acceptor.server import AcceptorServer
from paxos_shell.acceptor.store import Store, StoreError
from paxos_shell.core.paxos import AcceptorState
from paxos_shell.pool.local import healthy

from .wait import wait_until

if TYPE_CHECKING:
    from paxos_shell.shell.app import Shell

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


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
        log = open(self.log_path, "ab")
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
        proc = self.proc
        assert proc is not None
        if not wait_until(lambda: healthy(HOST, self.port) or proc.poll() is not None, timeout):
            raise RuntimeError(f"acceptor {self.id} did not start")
        if proc.poll() is not None:
            raise RuntimeError(f"acceptor {self.id} exited with {proc.returncode}")

    @property
    def log_path(self) -> str:
        return os.path.join(self.data_dir, f"acceptor-{self.id}.log")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> None:
        """Until the acceptor's request log shows `text` (a request it has answered)."""
        def logged() -> bool:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return text in f.read()

        if not wait_until(logged, timeout):
            raise AssertionError(f"acceptor {self.id} never logged {text!r}")

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


class Blackhole:
    """A socket that accepts connections and never answers: a hung acceptor."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.connected = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_for_connection(self, timeout: float = 10.0) -> None:
        """Until a client has connected (its request is then in flight, unanswered)."""
        if not self.connected.wait(timeout):
            raise AssertionError("nobody connected to the blackhole")

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
                self.connected.set()
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


def dead_url() -> str:
    """A loopback port with nothing listening: connection refused."""
    return f"http://{HOST}:{free_port()}"


def run(sh: Shell, line: str) -> tuple[int, str]:
    """Run one line in a Shell; the exit status and everything it printed (stdout, then stderr)."""
    code, out, err = run_split(sh, line)
    return code, out + err


def run_split(sh: Shell, line: str) -> tuple[int, str, str]:
    """Like run, with stdout and stderr apart."""
    out, err = io.StringIO(), io.StringIO()
    sh.out.stream, sh.out.err = out, err
    status = sh.run_line(line)
    return int(status or 0), out.getvalue(), err.getvalue()


def alive(pid: int) -> bool:
    """A zombie (exited, not yet reaped by whoever adopted it) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    """The processes still alive after up to `timeout` seconds (none, when all ended)."""
    wait_until(lambda: not any(alive(p) for p in pids), timeout)
    return [p for p in pids if alive(p)]


def reset_arrived(sock: socket.socket, timeout: float = 10.0) -> bool:
    """True once the peer's RST has closed `sock` (TCP state CLOSE), not just its FIN.

    A server that resets a connection sends FIN first (socketserver shuts the
    write side before closing), and a send after the FIN alone still succeeds.
    """
    return wait_until(lambda: sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == _TCP_CLOSE, timeout)


_TCP_CLOSE = 7
"""tcpi_state of a socket the peer reset (linux/tcp_states.h)."""


# -- the real shell in a pseudo-terminal (pexpect) -----------------------------------

PROMPT = r"paxos\[3 acceptors[^\]]*\]> "


def spawn(*args: str, **kw: Any) -> pexpect.spawn:
    """The shell in a pseudo-terminal, once its first prompt is ready for keys; `kw` goes to
    pexpect (a `preexec_fn` that sets a signal ignored, as nohup does)."""
    env = dict(os.environ, TERM="xterm", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "paxos_shell", *args], env=env, encoding="utf-8",
                          timeout=15, dimensions=(40, 220), **kw)
    child.expect(PROMPT)
    # The placeholder, then the cursor shown again: the first render is complete and the
    # terminal is in raw mode, so keys sent now are read as typed. (The bottom toolbar needs
    # a cursor-position reply that pexpect does not give, so it is tested in test_app.py.)
    child.expect_exact("help")
    child.expect_exact("\x1b[?25h")
    return child


def line(child: pexpect.spawn, text: str, *markers: str) -> str:
    """Send a line and wait for each marker of its output in turn, then the prompt."""
    child.send(text + "\r")
    seen = ""
    for m in markers:
        child.expect_exact(m)
        seen += child.before + child.after
    child.expect(PROMPT)
    return seen + child.before


# -- the store: states to save, and how a refusal and a restart are read ---------------

A = AcceptorState(5, 3, "old")
B = AcceptorState(9, 9, "b" * 6000)
C = AcceptorState(11, 11, "c" * 6000)


def refusal(directory: Path, *parts: str, init: bool = False, **kw: Any) -> str:
    """Store.open's StoreError text, checked to be one line that contains each of `parts`."""
    with pytest.raises(StoreError) as e:
        Store(str(directory), **kw).open(init=init)
    text = str(e.value)
    assert "\n" not in text and "\r" not in text
    for part in parts:
        assert part in text
    return text


def reopen(directory: Path) -> AcceptorState:
    s = Store(str(directory))
    try:
        return s.open()
    finally:
        s.close()


def saved(directory: Path, *states: AcceptorState) -> Store:
    """An open store that has saved `states` in order."""
    s = Store(str(directory))
    s.open()
    for st in states:
        s.save(st)
    return s


def serve_in_thread(server: AcceptorServer) -> threading.Thread:
    """An in-process acceptor server, served until server.shutdown()."""
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return t
