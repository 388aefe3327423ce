"""How a client connection ends, and its request log line; what every connection shares.

A request that cannot be trusted is refused (a Spring-shaped error, then a linger
that drains the client's input so the answer is not lost to a reset); a fault may
silence a connection; the server may evict one to make room, or when its phase's
deadline passes. Connection (connection.py) reads and answers; this part never
parses a request.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import urlsplit

import h11

from paxos_shell.acceptor import framing
from paxos_shell.acceptor.framing import JSON, Refusal
from paxos_shell.acceptor.limits import ConnectionTable, ConnPhase, Limits
from paxos_shell.acceptor.routes import App
from paxos_shell.core import wire
from paxos_shell.core.text import visible

LogFn = Callable[[str], None]


@dataclass
class Context:
    """What every connection of one server shares."""

    app: App
    table: ConnectionTable
    limits: Limits
    log: Optional[LogFn]


class Ending:
    """The ways a connection ends; mixed into Connection, whose state these read."""

    ctx: Context
    sock: socket.socket
    client: str
    transport: Optional[asyncio.Transport]
    h: h11.Connection
    request: Optional[h11.Request]
    closing: bool
    started: float

    def refuse(self, refusal: Refusal) -> None:
        """Answer a request that cannot be trusted, then close (after draining)."""
        if self.transport is None or self.closing:
            return
        path = urlsplit(self.request.target.decode("ascii")).path if self.request is not None else ""
        body = wire.error_reply(refusal.status, refusal.message, path)
        try:
            data = framing.reply_bytes(self.h, refusal.status, body, JSON, close=True)
        except h11.LocalProtocolError:
            data = b""  # a reply is already under way: only closing is left
        self.transport.write(data)
        method = self.request.method.decode("ascii") if self.request is not None else "-"
        self._log(method, self.request.target.decode("ascii") if self.request is not None else "-",
                  str(refusal.status))
        self._linger()

    def _linger(self) -> None:
        """Stop sending but keep reading (and discarding) for a moment, so a client still
        sending its request reads the error instead of a connection reset."""
        assert self.transport is not None
        self.closing = True
        self.ctx.table.set(self, ConnPhase.CLOSING, time.monotonic())
        self.transport.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.transport.close()

    def _silence(self) -> None:
        """An injected dropped message: answer nothing until the client gives up."""
        assert self.transport is not None
        self.closing = True
        self.ctx.table.set(self, ConnPhase.SILENT, time.monotonic())
        self.transport.resume_reading()

    def _close(self) -> None:
        self.closing = True
        self.ctx.table.remove(self)
        if self.transport is not None:
            self.transport.close()

    def evict(self) -> None:
        """Make room: drop this connection now, before or after its TLS handshake."""
        self.closing = True
        self.ctx.table.remove(self)
        if self.transport is not None:
            self.transport.abort()
        else:  # not attached yet: end the TCP connection; the pending handshake cleans up
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def on_deadline(self, phase: ConnPhase) -> None:
        """Called by the server's sweep when this connection's phase ran out of time."""
        if phase is ConnPhase.PENDING and self.started and self.transport is not None and not self.closing:
            return self.refuse(Refusal(408, f"request not complete within {self.ctx.limits.head_timeout:g} s"))
        self.evict()

    def _log(self, method: str, target: str, outcome: str) -> None:
        if self.ctx.log is None:
            return
        ms = (time.perf_counter() - self.started) * 1000 if self.started else 0.0
        self.ctx.log(f"{self.client} {visible(method)} {visible(target)} {outcome} {ms:.2f}ms")
