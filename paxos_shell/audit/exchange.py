"""The auditor's HTTP: one request and its reply, recorded with their times, on a lane.

A lane is one connection (one requests Session): the linearizability and
durability rules run several at once. Every request becomes an Exchange, the
evidence a report shows: method, path with its query, status, reply body, and
when the request left and its reply came back (seconds since the audit began;
no end when nothing came back, as in Jepsen: an indefinite request). Replies are
read up to 1 MiB and within the request's deadline, so an acceptor that hangs,
trickles or sends 100 MB costs one bounded exchange: a head trickled a byte at a
time never trips a read timeout, so each lane's watchdog shuts the socket of a
request past its deadline. A TLS handshake trickled the same way needs no
watchdog: the connect timeout bounds it whole (since Python 3.5 a socket's
timeout is the total duration of SSLSocket.do_handshake, not a per-read one),
so it ends at most one TCP connect's time past the deadline. Redirects are
never followed. This module never judges a reply against the Paxos rules
(expect.py does) and never uses the shell's round client.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import quote

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from paxos_shell.core.text import visible
from paxos_shell.core.wire import MAX_REPLY, PHASES, Phase, Reply, interpret
from paxos_shell.net.causes import describe_error

BODY_SHOWN = 2000
"""Characters of a reply body kept as evidence: enough for any protocol reply."""
READ_STEP = 65536


@dataclass(frozen=True)
class Exchange:
    """One request and what came back, as the evidence shows it."""

    lane: int
    method: str
    path: str
    start: float
    end: Optional[float]
    status: Optional[int] = None
    body: Optional[str] = None
    cause: Optional[str] = None
    """Why no usable reply came (a timeout, a reset, a cut-off body), None when one did."""
    reply: Optional[Reply] = None
    """The reply as the protocol reads it (wire.interpret), for prepare, accept and state."""

    def record(self) -> dict[str, Any]:
        """The evidence as JSON: the keys the --json schema names."""
        return {"method": self.method, "path": visible(self.path), "status": self.status,
                "body": self.body if self.cause is None else f"({self.cause})",
                "start": round(self.start, 6), "end": None if self.end is None else round(self.end, 6)}

    def said(self) -> str:
        """One line: the request and what came back."""
        what = f"{self.status} {visible(self.body or '')}" if self.status is not None else "no reply"
        if self.cause:
            what = f"{what} ({self.cause})" if self.status is not None else f"no reply ({self.cause})"
        ends = f"{self.end:.4f}" if self.end is not None else "-"
        return f"[c{self.lane} {self.start:.4f}-{ends}] {self.method} {visible(self.path)} -> {what}"


def target(path: str, params: Optional[dict[str, str]] = None) -> str:
    """The path with its query, every parameter percent-encoded (a space as %20, '+' as %2B)."""
    if not params:
        return path
    return path + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())


@dataclass
class Recorder:
    """Every exchange of one audit, in the order they ended, and the audit's clock."""

    t0: float = field(default_factory=time.monotonic)
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def keep(self, x: Exchange) -> Exchange:
        with self.lock:
            self.exchanges.append(x)
        return x


class Lane:
    """One connection to the acceptor: requests on it go one at a time, kept alive."""

    def __init__(self, base: str, number: int, recorder: Recorder, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.number = number
        self.recorder = recorder
        self.timeout = timeout
        self.watchdog = Watchdog()
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or netrc from the environment: the URL given is the one audited
        self.session.headers["Accept-Encoding"] = "identity"
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, _Watched(self.watchdog.watch))

    def send(self, method: str, path: str, params: Optional[dict[str, str]] = None,
             phase: Optional[Phase] = None) -> Exchange:
        """Send one request and record it; never raises for anything the acceptor does."""
        tgt = target(path, params)
        start = self.recorder.now()
        deadline = time.monotonic() + self.timeout
        status: Optional[int] = None
        self.watchdog.arm(deadline)
        try:
            resp = self.session.request(method, self.base + tgt, stream=True, allow_redirects=False,
                                        timeout=(self.timeout, self.timeout))  # the first bounds the handshake
            status = resp.status_code
            try:
                raw, cut = _read(resp, deadline)
            finally:
                resp.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:  # raw reads raise urllib3's
            late = self.watchdog.disarm()
            return self.recorder.keep(Exchange(self.number, method, tgt, start, None, status,
                                               cause="timeout" if late else _why(e)))
        if self.watchdog.disarm():  # the body may look whole only because the watchdog cut it
            return self.recorder.keep(Exchange(self.number, method, tgt, start, None, status, cause="timeout"))
        end = self.recorder.now()
        reply = _interpret(phase, resp, raw, cut, path)
        cause = "reply larger than 1 MiB: cut off" if cut else None
        body = raw[:BODY_SHOWN * 4].decode("utf-8", "replace")[:BODY_SHOWN]
        return self.recorder.keep(Exchange(self.number, method, tgt, start, end, resp.status_code, body, cause, reply))

    def close(self) -> None:
        self.watchdog.stop()
        self.session.close()


class Watchdog:
    """Shuts the socket of a lane's request once it is past its deadline, so that the blocked
    read ends at once: a head trickled a byte at a time never trips a read timeout."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.sock: Optional[socket.socket] = None
        self.until: Optional[float] = None
        self.fired = False
        self.stopped = False
        threading.Thread(target=self._run, daemon=True, name="audit-watchdog").start()

    def watch(self, sock: socket.socket) -> None:
        """The lane's connection opened on `sock` (it stays for the requests that follow)."""
        with self.changed:
            self.sock = sock

    def arm(self, until: float) -> None:
        with self.changed:
            self.until, self.fired = until, False
            self.changed.notify()

    def disarm(self) -> bool:
        """The request ended; whether the watchdog cut it."""
        with self.changed:
            self.until = None
            return self.fired

    def stop(self) -> None:
        with self.changed:
            self.stopped = True
            self.changed.notify()

    def _run(self) -> None:
        with self.changed:
            while not self.stopped:
                left = None if self.until is None else self.until - time.monotonic()
                if left is None or left > 0:
                    self.changed.wait(left)  # until the deadline, or the next arm, disarm or stop
                    continue
                self.fired, self.until = True, None
                if self.sock is not None:
                    try:
                        # socket.socket's own shutdown, not SSLSocket's (as net/tap.py cuts a request)
                        socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
                    except OSError:
                        pass


class _Watched(HTTPAdapter):
    """requests' adapter, whose connections tell the lane's watchdog the socket they open."""

    def __init__(self, watch: Callable[[socket.socket], None]) -> None:
        self.watch = watch
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _pool(HTTPConnectionPool, HTTPConnection, self.watch),
            "https": _pool(HTTPSConnectionPool, HTTPSConnection, self.watch)}


def _pool(pool: type[HTTPConnectionPool], conn: type[HTTPConnection],
          watch: Callable[[socket.socket], None]) -> type[HTTPConnectionPool]:
    """A connection pool class whose connections report their socket once connected."""

    class Connection(conn):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            watch(self.sock)

    return type(pool.__name__, (pool,), {"ConnectionCls": Connection})


def _read(resp: requests.Response, deadline: float) -> tuple[bytes, bool]:
    """The body, at most MAX_REPLY bytes, read before the deadline; True when it was cut off."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the reply did not end within the timeout")
        chunk = resp.raw.read1(READ_STEP)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REPLY:
            return b"".join(chunks)[:MAX_REPLY], True


def _interpret(phase: Optional[Phase], resp: requests.Response, raw: bytes, cut: bool, path: str) -> Optional[Reply]:
    if phase is None or PHASES[phase][1] != path:
        return None
    return interpret(1, phase, resp.status_code, raw, content_type=resp.headers.get("Content-Type"),
                     location=resp.headers.get("Location"), cut_off=cut, path=path)


def _why(e: BaseException) -> str:
    """Why a request got no reply, in one line with no traceback."""
    if isinstance(e, (requests.Timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, requests.ConnectionError) and "refused" in str(e).lower():
        return "connection refused"
    return describe_error(e)  # the shell's words for it (net/causes.py), never the message with the URL
