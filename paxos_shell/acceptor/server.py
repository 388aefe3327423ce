"""The acceptor's HTTP server: one asyncio loop, its accept loop, and the bounds it keeps.

It owns the listening socket (bound here, or inherited from a parent that bound it),
accepts connections itself so that no limit is ever passed: at the connection limit
the longest-waiting or longest-idle connection is evicted to make room (limits.py),
and when accept() fails for want of descriptors it evicts one or, with nothing to
evict, spends a reserved descriptor to refuse the waiting client rather than spin.
A sweep a few times a second closes connections past their deadlines. HTTPS when
given an SSLContext. Routes are in routes.py, framing in connection.py; this module
never parses a byte.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import ssl
import threading
import time
from typing import Callable, Iterable, Optional

import h11

from paxos_shell.acceptor.broadcast import PEER_TIMEOUT, Peers
from paxos_shell.acceptor.connection import Connection, Context
from paxos_shell.acceptor.faults import Faults
from paxos_shell.acceptor.framing import JSON, reply_bytes
from paxos_shell.acceptor.limits import ConnectionTable, ConnPhase, Limits
from paxos_shell.acceptor.node import AcceptorNode
from paxos_shell.acceptor.routes import App, admin_allowed
from paxos_shell.core import wire
from paxos_shell.pool.layout import listening_socket

__all__ = ["AcceptorServer", "admin_allowed", "tls_context"]

ACCEPT_BATCH = 64
"""Connections accepted per readiness event, so one flood cannot starve the others' turns."""

SWEEP = 0.25
"""Seconds between deadline sweeps: the resolution of every connection deadline."""

OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """The server side of HTTPS; OSError or ssl.SSLError if the files are unusable."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def _refusal(status: int, message: str) -> bytes:
    conn = h11.Connection(h11.SERVER)
    return reply_bytes(conn, status, wire.error_reply(status, message, ""), JSON, close=True)


class AcceptorServer:
    """Serves one AcceptorNode over HTTP(S) until shutdown() or a stop signal."""

    def __init__(
        self,
        address: Optional[tuple[str, int]],
        node: AcceptorNode,
        peers: Optional[dict[int, str]] = None,
        faults: Optional[Faults] = None,
        log: Optional[Callable[[str], None]] = None,
        *,
        sock: Optional[socket.socket] = None,
        tls: Optional[ssl.SSLContext] = None,
        limits: Optional[Limits] = None,
        peer_timeout: float = PEER_TIMEOUT,
    ) -> None:
        if sock is None:
            assert address is not None
            sock = listening_socket(*address)
        sock.setblocking(False)
        self.socket = sock
        self.server_address: tuple[str, int] = sock.getsockname()[:2]
        self.node = node
        self.tls = tls
        self.limits = limits or Limits()
        self.peers = Peers(dict(peers or {}), peer_timeout, self.limits.peer_calls)
        self.table = ConnectionTable(self.limits)
        self.ctx = Context(App(node, self.peers, faults), self.table, self.limits, log)
        self.log = log
        self._reserve: Optional[int] = os.open(os.devnull, os.O_RDONLY)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._want_stop = False
        self._done = threading.Event()
        self._fd_warned = 0.0

    # -- running ---------------------------------------------------------------

    def serve_forever(self, stop_signals: Iterable[signal.Signals] = ()) -> None:
        """Serve until shutdown() (from another thread) or one of `stop_signals` arrives."""
        self._done.clear()
        try:
            asyncio.run(self._serve(tuple(stop_signals)))
        finally:
            self._done.set()

    def request_stop(self) -> bool:
        """Make serve_forever return soon, or at once if it has not started; safe from a
        signal handler or another thread. True if the loop is running and was told."""
        self._want_stop = True
        loop, stop = self._loop, self._stop
        if loop is None or stop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(stop.set)
        except RuntimeError:
            return False  # the loop closed meanwhile: serve_forever has returned
        return True

    def shutdown(self) -> None:
        """Stop serve_forever and wait for it to return (call from another thread)."""
        if self.request_stop():
            self._done.wait()

    def server_close(self) -> None:
        self.socket.close()
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None

    async def _serve(self, stop_signals: tuple[signal.Signals, ...]) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_error)
        self._stop = asyncio.Event()
        self._loop = loop
        if self._want_stop:
            return
        for sig in stop_signals:
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_reader(self.socket.fileno(), self._accept)
        sweeper = asyncio.ensure_future(self._sweep())
        try:
            await self._stop.wait()
        finally:
            loop.remove_reader(self.socket.fileno())
            sweeper.cancel()
            for sig in stop_signals:
                loop.remove_signal_handler(sig)
            for conn in self.table.members():
                assert isinstance(conn, Connection)
                conn.evict()
            await asyncio.sleep(0)  # let the aborted transports close their sockets

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """Whatever asyncio reports (a transport's error, a failed handshake) is one log line,
        never a traceback in the log."""
        if self.log is not None:
            exc = context.get("exception")
            self.log(f"event loop: {context.get('message', 'error')}{f': {exc!r}' if exc else ''}")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP)
            for conn, phase in list(self.table.expired(time.monotonic())):
                assert isinstance(conn, Connection)
                conn.on_deadline(phase)

    # -- accepting -------------------------------------------------------------

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, addr = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in OUT_OF_FDS:
                    return self._out_of_fds(e)
                if e.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue  # that client gave up before we got to it
                return self._pause_accepting(f"accept failed: {e.strerror or e}", SWEEP)
            self._admit(sock, addr)

    def _pause_accepting(self, why: str, seconds: float) -> None:
        """Stop listening for a moment rather than spin on an error that persists."""
        assert self._loop is not None
        if self.log is not None:
            self.log(f"{why}; not accepting for {seconds:g} s")
        fd = self.socket.fileno()
        self._loop.remove_reader(fd)
        self._loop.call_later(seconds, self._loop.add_reader, fd, self._accept)

    def _admit(self, sock: socket.socket, addr: object) -> None:
        if self.table.full and not self._evict_one():
            self._refuse_now(sock, 503, "too many connections: every one is busy; try again")
            return
        sock.setblocking(False)
        client = addr[0] if isinstance(addr, tuple) else "local"
        conn = Connection(self.ctx, sock, str(client))
        self.table.set(conn, ConnPhase.PENDING, time.monotonic())
        conn.task = asyncio.ensure_future(self._attach(conn, sock))  # held: the loop keeps only weak refs

    async def _attach(self, conn: Connection, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self.tls is None:
                await loop.connect_accepted_socket(lambda: conn, sock)
            else:
                await loop.connect_accepted_socket(lambda: conn, sock, ssl=self.tls,
                                                   ssl_handshake_timeout=self.limits.head_timeout)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError):
            self.table.remove(conn)  # a failed handshake: asyncio has closed the socket

    def _evict_one(self) -> bool:
        victim = self.table.victim()
        if victim is None:
            return False
        assert isinstance(victim, Connection)
        victim.evict()
        return True

    def _out_of_fds(self, e: OSError) -> None:
        """accept() found no descriptor: free one and retry on the next turn, never spin."""
        assert self._loop is not None
        now = time.monotonic()
        if self.log is not None and now - self._fd_warned > 1.0:
            self._fd_warned = now
            self.log(f"out of file descriptors ({e.strerror}) with {len(self.table)} connections open; "
                     "closing the longest idle or pending")
        if not self._evict_one() and self._reserve is not None:
            os.close(self._reserve)  # spend the reserve to take the waiting client off the queue
            try:
                sock, _ = self.socket.accept()
                self._refuse_now(sock, 503, "out of file descriptors; try again")
            except OSError:
                pass
            finally:
                self._reserve = os.open(os.devnull, os.O_RDONLY)
        fd = self.socket.fileno()
        self._loop.remove_reader(fd)
        self._loop.call_soon(self._loop.add_reader, fd, self._accept)  # after the evicted socket closes

    def _refuse_now(self, sock: socket.socket, status: int, message: str) -> None:
        try:
            sock.setblocking(False)
            sock.send(_refusal(status, message))
        except OSError:
            pass
        finally:
            sock.close()
