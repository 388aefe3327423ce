"""Concurrent HTTP rounds to acceptors over kept-alive connections.

A round asks every named acceptor at once and lasts about as long as the
slowest one that answers, never more than the timeout: five dead acceptors cost
one timeout, not five. The standard library's http.client is used instead of
requests: a reused connection costs ~0.15 ms per request against ~0.5 ms, and
the shell starts ~0.1 s sooner (see docs/performance.md).
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence
from urllib.parse import quote, urlsplit

from . import wire
from .wire import NO_RESPONSE, Phase, Reply

STALE_AFTER = 1.0
"""A connection idle this long may have been closed by the server (Tomcat: 20 s,
ours: 60 s); a failure on it before any reply byte is retried once on a new one."""


@dataclass
class Round:
    """The replies of one round, in the order the acceptors were named."""

    phase: Phase
    params: dict
    replies: list[Reply] = field(default_factory=list)
    elapsed: float = 0.0
    interrupted: bool = False

    def ids(self, kind: str) -> list[int]:
        return [r.acceptor for r in self.replies if r.kind == kind]


class _Link:
    """One kept-alive connection to one acceptor; used by one thread at a time."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "") or not parts.hostname:
            raise ValueError(f"not an http URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.conn: Optional[http.client.HTTPConnection] = None
        self.last_used = 0.0
        self.abandoned = False
        self.busy = threading.Lock()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def call(self, method: str, target: str, timeout: float) -> tuple[int, bytes]:
        with self.busy:
            try:
                return self._call(method, self.prefix + target, timeout)
            finally:
                if self.abandoned:
                    self.close()

    def _call(self, method: str, target: str, timeout: float) -> tuple[int, bytes]:
        if self.conn is not None and _dropped(self.conn):
            self.close()  # the server closed it while idle (restart, idle timeout)
        reused = self.conn is not None
        stale = reused and time.monotonic() - self.last_used > STALE_AFTER
        if self.conn is None:
            self.conn = self._connect(timeout)
        else:
            self.conn.sock.settimeout(timeout)
        try:
            resp, body = self._exchange(method, target)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.close()
            if not stale:
                raise
            # The server dropped an idle connection before reading our request.
            self.conn = self._connect(timeout)
            resp, body = self._exchange(method, target)
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        self.last_used = time.monotonic()
        return resp.status, body

    def _exchange(self, method: str, target: str) -> tuple[http.client.HTTPResponse, bytes]:
        assert self.conn is not None
        self.conn.request(method, target, headers={"Content-Length": "0"} if method == "POST" else {})
        resp = self.conn.getresponse()
        return resp, resp.read()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle kept-alive socket that is readable has been closed by the peer."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _unreached(e: BaseException) -> bool:
    """A failure to connect: the request never left, so the acceptor did not act on it."""
    return isinstance(e, (ConnectionRefusedError, socket.gaierror))


def describe_error(e: BaseException) -> str:
    """The cause of a missing reply in the words a user debugging a pool needs."""
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (down)"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, http.client.RemoteDisconnected):
        return "connection closed without reply"
    if isinstance(e, ConnectionResetError):
        return "connection reset"
    if isinstance(e, socket.gaierror):
        return f"unknown host ({e.strerror})"
    if isinstance(e, http.client.HTTPException):
        return f"bad HTTP reply ({type(e).__name__})"
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    return f"{type(e).__name__}: {e}"


class Client:
    """Sends rounds to a pool given as {acceptor id: base URL}."""

    def __init__(self, urls: Mapping[int, str], timeout: float = 1.0) -> None:
        self.urls = dict(urls)
        self.timeout = timeout
        self._links: dict[int, _Link] = {}
        self._executor: Optional[ThreadPoolExecutor] = None

    def _link(self, acceptor: int) -> _Link:
        link = self._links.get(acceptor)
        if link is None or link.abandoned:
            link = self._links[acceptor] = _Link(self.urls[acceptor])
        return link

    def forget(self, acceptor: int) -> None:
        """Drop a connection, e.g. after the acceptor behind it was restarted.

        A request still in flight on it (an interrupted or timed-out round) is cut
        short, so its worker thread ends now rather than at the socket timeout.
        """
        link = self._links.pop(acceptor, None)
        if link is None:
            return
        link.abandoned = True
        if link.busy.acquire(blocking=False):
            link.close()
            link.busy.release()
            return
        conn = link.conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def prepare(self, n: int, servers: Sequence[int]) -> Round:
        return self.round(Phase.PREPARE, servers, {"id": n})

    def accept(self, n: int, value: str, servers: Sequence[int]) -> Round:
        return self.round(Phase.ACCEPT, servers, {"id": n, "value": value})

    def state(self, servers: Sequence[int]) -> Round:
        return self.round(Phase.STATE, servers, {})

    def round(self, phase: Phase, servers: Sequence[int], params: dict) -> Round:
        """Ask each server concurrently; Ctrl-C returns at once with what came."""
        method, path = wire.PHASES[phase]
        query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
        target = path + (f"?{query}" if query else "")
        rnd = Round(phase, dict(params))
        started = time.perf_counter()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="round")
        futures: dict[Future, int] = {}
        for sid in servers:
            futures[self._executor.submit(self._one, sid, phase, method, target, dict(params))] = sid
        done_replies: dict[int, Reply] = {}
        deadline = started + self.timeout + 0.05
        pending = set(futures)
        try:
            while pending:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                done, pending = wait(pending, timeout=min(left, 0.1), return_when=FIRST_COMPLETED)
                for fut in done:
                    done_replies[futures[fut]] = fut.result()
        except KeyboardInterrupt:
            rnd.interrupted = True
        for fut in pending:
            sid = futures[fut]
            cause = "interrupted" if rnd.interrupted else "timeout"
            done_replies[sid] = Reply(sid, phase, NO_RESPONSE, cause=cause,
                                      latency=time.perf_counter() - started, params=dict(params), at=time.time())
            self.forget(sid)
        rnd.replies = [done_replies[sid] for sid in servers]
        rnd.elapsed = time.perf_counter() - started
        return rnd

    def _one(self, sid: int, phase: Phase, method: str, target: str, params: dict) -> Reply:
        t0 = time.perf_counter()
        at = time.time()
        try:
            status, raw = self._link(sid).call(method, target, self.timeout)
            reply = wire.interpret(sid, phase, status, raw)
        except Exception as e:
            reply = Reply(sid, phase, NO_RESPONSE, cause=describe_error(e), reached=not _unreached(e))
        reply.latency = time.perf_counter() - t0
        reply.params = params
        reply.at = at
        return reply

    def admin_faults(self, acceptor: int, query: str) -> dict:
        """Set faults on one of our acceptors (POST /admin/faults); OSError or ValueError if refused."""
        link = _Link(self.urls[acceptor])
        conn = http.client.HTTPConnection(link.host, link.port, timeout=max(self.timeout, 1.0))
        try:
            conn.request("POST", f"{link.prefix}{wire.ADMIN_FAULTS}?{query}", headers={"Content-Length": "0"})
            resp = conn.getresponse()
            body = json.loads(resp.read() or b"null")
        finally:
            conn.close()
        if resp.status != 200 or not isinstance(body, dict):
            detail = body.get("message") if isinstance(body, dict) else resp.reason
            raise ValueError(f"acceptor {acceptor} refused fault injection (HTTP {resp.status}: {detail}); "
                             "it must be our paxos-acceptor started with --faults")
        return body

    def close(self) -> None:
        for sid in list(self._links):
            self.forget(sid)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
