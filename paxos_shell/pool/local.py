"""Pool layouts, and the local acceptor processes the shell starts and stops.

A pool is a map from acceptor id (1..N) to base URL. It comes from the
paxos-server layout, from explicit URLs, or from a LocalPool: real
`paxos-acceptor` processes on loopback that a class can crash and revive.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

from paxos_shell.core.errors import UserError
from paxos_shell.core.wire import HEALTH
from paxos_shell.pool.layout import BASE_PORT, listening_socket, parse_id_url, port_of

START_TIMEOUT = 10.0
LAYOUT_BASE_PORT = BASE_PORT


class PoolError(UserError):
    """A pool that cannot be built or changed; one line for the user."""


class PoolUsageError(PoolError):
    """The pool was described wrongly (bad size, port or URL): a usage error, exit code 2."""

    usage = True


def layout(count: int, host: str = "localhost", base_port: int = LAYOUT_BASE_PORT) -> dict[int, str]:
    """The paxos-server layout: acceptor i at base_port + i - 1 (8081, 8082, ...)."""
    if not 1 <= count <= 999:
        raise PoolUsageError(f"bad server count {count}: choose 1 to 999")
    if not 1 <= base_port <= 65535 - count + 1:
        raise PoolUsageError(f"bad base port {base_port}")
    return {i: f"http://{host}:{port_of(i, base_port)}" for i in range(1, count + 1)}


def parse_url_option(text: str) -> tuple[int, str]:
    """`ID=URL`, the form of --url and of `url` lines in the config file."""
    try:
        return parse_id_url(text)
    except ValueError as e:
        raise PoolUsageError(str(e)) from None


def _bind_pool(host: str, ports: list[int]) -> list[socket.socket]:
    """All of `ports` bound and held, or OSError with none held."""
    socks: list[socket.socket] = []
    try:
        for port in ports:
            socks.append(listening_socket(host, port))
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


RECOVERED = "recovered: "
"""How /health's line saying what start-up set aside begins (acceptor/routes.py)."""


def healthy(host: str, port: int, timeout: float = 0.2) -> bool:
    return health(host, port, timeout) is not None


def health(host: str, port: int, timeout: float = 0.2) -> Optional[str]:
    """/health's body when the acceptor is up (its `recovered:` line says what start-up set aside), else None."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", HEALTH)
        r = conn.getresponse()
        body = r.read().decode("utf-8", "replace")
        return body if r.status == 200 else None
    except OSError:
        return None
    finally:
        conn.close()


@dataclass
class Member:
    id: int
    port: int
    proc: Optional[subprocess.Popen] = None
    volatile: bool = False

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None


@dataclass
class LocalPool:
    """N real acceptor processes on loopback, owned by this shell and stopped with it."""

    count: int
    data_dir: Optional[str] = None
    host: str = "127.0.0.1"
    faults: bool = True
    volatile: Iterable[int] = ()
    base_port: Optional[int] = None
    """Where acceptor 1 listens (acceptor i at base_port + i - 1), as --base-port asks: exactly
    there or not at all. None: the layout's ports (8081...) when free, else free ports."""
    members: dict[int, Member] = field(default_factory=dict)
    recovered: dict[int, str] = field(default_factory=dict)
    """What each acceptor's last start set aside of its state file, in its words ("" for nothing)."""
    _own_dir: bool = False
    _listeners: dict[int, socket.socket] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.count <= 99:
            raise PoolUsageError(f"bad local pool size {self.count}: choose 1 to 99")
        # The parent binds every port and hands each socket to its acceptor (--listen-fd): no
        # window in which another shell or test run could take a port it found free.
        socks = self._bind_ports()
        if self.data_dir is None:
            self.data_dir = tempfile.mkdtemp(prefix="paxos-shell-")
            self._own_dir = True
        else:
            os.makedirs(self.data_dir, exist_ok=True)
        self._listeners = dict(enumerate(socks, 1))
        vol = set(self.volatile)
        self.members = {i: Member(i, s.getsockname()[1], volatile=i in vol) for i, s in self._listeners.items()}

    def _bind_ports(self) -> list[socket.socket]:
        """The layout's ports (8081...) when all are free, else free ports; held until spawned."""
        if self.base_port is not None:
            ports = list(layout(self.count, self.host, self.base_port))  # checks the range
            try:
                return _bind_pool(self.host, [self.base_port + i - 1 for i in ports])
            except OSError as e:
                last = self.base_port + self.count - 1
                raise PoolError(f"cannot listen on {self.host} port{'s' if self.count > 1 else ''} "
                                f"{self.base_port}{f'..{last}' if self.count > 1 else ''} (--base-port): "
                                f"{e.strerror or e}") from None
        try:
            return _bind_pool(self.host, [LAYOUT_BASE_PORT + i for i in range(self.count)])
        except OSError:
            try:
                return _bind_pool(self.host, [0] * self.count)
            except OSError as e:
                raise PoolError(f"cannot listen on {self.host}: {e.strerror or e}") from None

    @property
    def temporary(self) -> bool:
        """The pool lives in a directory this shell made (and removes): it started empty."""
        return self._own_dir

    @property
    def urls(self) -> dict[int, str]:
        return {i: f"http://{self.host}:{m.port}" for i, m in self.members.items()}

    def log_path(self, i: int) -> str:
        assert self.data_dir is not None
        return os.path.join(self.data_dir, f"acceptor-{i}.log")

    def state_dir(self, i: int) -> str:
        assert self.data_dir is not None
        return os.path.join(self.data_dir, f"acceptor-{i}")

    def _command(self, m: Member, fd: int, init: bool = False) -> list[str]:
        """The acceptor's command line: its inherited socket, and this pool (not a layout) as peers."""
        cmd = [sys.executable, "-m", "paxos_shell.acceptor", "--id", str(m.id), "--count", str(self.count),
               "--listen-fd", str(fd), "--data-dir", str(self.data_dir), "--parent-pid", str(os.getpid()),
               "--log-file", self.log_path(m.id)]  # rotated by the acceptor: bounded however long it runs
        for j, url in self.urls.items():
            if j != m.id:
                cmd += ["--peer", f"{j}={url}"]
        if self.faults:
            cmd.append("--faults")
        if m.volatile:
            cmd.append("--volatile")
        if init:
            cmd.append("--init")
        return cmd

    def start(self, wait: bool = True) -> None:
        """Spawn every acceptor; with wait=False the caller overlaps its own start-up
        with theirs and calls wait_started() before the first round."""
        self._spawn(list(self.members))
        if wait:
            self.wait_started()

    def wait_started(self) -> None:
        self._wait_healthy(list(self.members))

    def is_up(self, i: int) -> bool:
        return self.members[i].pid is not None

    def up(self, ids: Iterable[int]) -> list[int]:
        """Start the named acceptors (those not running) and wait until they answer."""
        started = self._spawn(ids)
        self._wait_healthy(started)
        return started

    def _spawn(self, ids: Iterable[int], init: bool = False) -> list[int]:
        started = []
        for i in ids:
            m = self.members[i]
            if m.pid is not None:
                continue
            sock = self._listeners.pop(i, None) or self._rebind(m)
            try:
                with open(self.log_path(i), "ab") as log:
                    # A new session: the terminal's Ctrl-C is for the shell, not the pool.
                    m.proc = subprocess.Popen(self._command(m, sock.fileno(), init), stdin=subprocess.DEVNULL,
                                              stdout=log, stderr=log, start_new_session=True,
                                              pass_fds=(sock.fileno(),))
            finally:
                sock.close()  # the acceptor has its own copy; a crash must leave the port closed
            started.append(i)
        return started

    def _rebind(self, m: Member) -> socket.socket:
        """The same port again for an acceptor coming back after a crash."""
        try:
            return listening_socket(self.host, m.port)
        except OSError as e:
            raise PoolError(f"acceptor {m.id} cannot come back on port {m.port}: {e.strerror or e} "
                            "(another program took it while the acceptor was down)") from None

    def _wait_healthy(self, ids: list[int]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        waiting = list(ids)
        while waiting:
            for i in list(waiting):
                m = self.members[i]
                assert m.proc is not None
                if m.proc.poll() is not None:
                    raise PoolError(f"acceptor {i} failed to start (exit code {m.proc.returncode}): "
                                    f"{self._last_log_line(i)} - see {self.log_path(i)}")
                said = health(self.host, m.port)
                if said is not None:
                    waiting.remove(i)
                    self.recovered[i] = next((ln[len(RECOVERED):] for ln in said.splitlines()
                                              if ln.startswith(RECOVERED)), "")
            if waiting and time.monotonic() > deadline:
                raise PoolError(f"acceptor {waiting[0]} did not answer /health within {START_TIMEOUT:.0f} s; "
                                f"see {self.log_path(waiting[0])}")
            if waiting:
                time.sleep(0.01)

    def recovery_warnings(self, ids: Iterable[int]) -> list[str]:
        """One line per acceptor whose last start loaded an older slot: it may have forgotten a promise."""
        return [f"WARNING: acceptor {i} started from an older state: {self.recovered[i]}"
                for i in ids if self.recovered.get(i)]

    def _last_log_line(self, i: int) -> str:
        try:
            with open(self.log_path(i), "rb") as f:
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1] if lines else "no output"
        except OSError:
            return "no log"

    def down(self, ids: Iterable[int]) -> list[int]:
        """SIGKILL: a crash, not a shutdown. The durable state stays on disk."""
        stopped = []
        for i in ids:
            m = self.members[i]
            if m.pid is None:
                continue
            assert m.proc is not None
            m.proc.kill()
            m.proc.wait()
            stopped.append(i)
        return stopped

    def set_volatile(self, ids: Iterable[int], volatile: bool) -> None:
        """Takes effect at the next start: `restart ID --volatile` for the amnesia lesson."""
        for i in ids:
            self.members[i].volatile = volatile

    def reset(self, ids: Iterable[int]) -> list[int]:
        """Wipe and restart: a brand-new durable acceptor in the same place, started empty on
        purpose (--init), so an acceptor that merely lost its state file still refuses to start."""
        ids = list(ids)
        self.down(ids)
        self.set_volatile(ids, False)
        self._wait_healthy(self._spawn(ids, init=True))
        return ids

    def close(self) -> None:
        """Stop every acceptor (SIGTERM, then SIGKILL) and drop a temporary data dir."""
        for sock in self._listeners.values():
            sock.close()
        self._listeners.clear()
        procs = [m.proc for m in self.members.values() if m.proc is not None and m.proc.poll() is None]
        for p in procs:
            p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 1.0
        for p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self._own_dir and self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._own_dir = False


@dataclass
class Pool:
    """What the shell talks to: ids to URLs, and the processes if they are ours."""

    urls: dict[int, str]
    description: str
    local: Optional[LocalPool] = None

    @property
    def size(self) -> int:
        return len(self.urls)

    def close(self) -> None:
        if self.local is not None:
            self.local.close()
