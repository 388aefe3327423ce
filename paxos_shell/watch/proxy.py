"""One acceptor's proxy: each proposer connection an asyncio Protocol that speaks h11.

Its job: take each request whole from what the proposer sends (h11, as the
acceptor reads it), send it on to the acceptor (upstream.py), hand the
exchange to the recorder, and only then write the acceptor's reply back: its
status, reason, headers and body bytes as they came (hop-by-hop headers aside;
h11 frames the body). The recorder runs before the reply is written, so a
proposer that has its reply is in the session already. Requests on a
connection are served one at a time, in order; what a proposer sends ahead
waits in h11's buffer (reading pauses beyond AHEAD bytes), and the next request
waits until the transport took the last reply. Everything runs in the loop's
callbacks (asyncio BufferedProtocols, documented API, reading into one buffer
per proxy): no task, future or stream per request. What the proxy cannot
forward it refuses as our acceptor would, with the same status and the Spring
error shape, then closes: HTTP h11 refuses,
versions other than 1.0 and 1.1, both Transfer-Encoding and Content-Length, a
head over MAX_HEAD or a body over MAX_BODY (both above the acceptor's limits,
so it judges the usual oversize requests itself). A client outside --allow
gets 403. When the acceptor gives no answer the proposer gets 502 (refused, or
the connection failed) or 504 (no reply within the timeout), as from any
gateway. It never judges Paxos and never writes to a terminal.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Callable, Optional, Union
from urllib.parse import urlsplit

import h11

from paxos_shell.core import wire
from paxos_shell.watch import labels
from paxos_shell.watch.exchange import Answered, Asked, Unanswered, asked
from paxos_shell.watch.replies import MAX_HEAD, Refusal, framing_refusal, refusal_bytes, reply_bytes
from paxos_shell.watch.target import Target
from paxos_shell.watch.upstream import Links

MAX_BODY = 1 << 20
AHEAD = 1 << 16
"""Bytes a proposer may send ahead of the reply it waits for before the proxy stops reading."""
IDLE = 120.0
"""Seconds a proposer's connection may sit without a complete request before the proxy closes it."""
LINGER = 1.0
"""Seconds a refused connection is drained before it closes."""
_PROPOSER = wire.PROPOSER_HEADER.lower().encode("ascii")

Record = Callable[[int, str, Asked, Union[Answered, Unanswered], str, float, float], None]
"""acceptor, label, request, answer, path, latency, time: called before the reply is written."""


class Proxy:
    """The proxy for acceptor `acceptor`: `protocol` is the factory loop.create_server calls."""

    def __init__(self, acceptor: int, target: Target, record: Record, allow: tuple[labels.Network, ...]) -> None:
        self.acceptor = acceptor
        self.record = record
        self.allow = allow
        self.links = Links(target)
        self.connections: set[Proposer] = set()

    def protocol(self) -> Proposer:
        return Proposer(self)

    def close(self) -> None:
        """Every proposer's connection and every connection to the acceptor closed; nothing more recorded."""
        for conn in list(self.connections):
            conn.transport.close()
        self.links.close()


class Proposer(asyncio.BufferedProtocol):
    """One proposer's connection: requests read by h11, forwarded, recorded, answered, in turn."""

    transport: asyncio.Transport

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.loop = asyncio.get_running_loop()
        self.h = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.address = "unknown"
        self.request: Optional[h11.Request] = None
        self.body = bytearray()
        self.busy = self.lingering = self.closed = self.paused = self.blocked = False
        self.ahead = self.received = 0
        self.started = self.at = self.last = 0.0
        self.path = self.label = ""
        self.protocol: Optional[Asked] = None
        self.idle: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) else "unknown"
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proxy.connections.add(self)
        if not labels.allowed(self.address, self.proxy.allow):
            self._refuse(Refusal(403, "this proxy does not serve your address"))
            return
        self.last = self.loop.time()
        self.idle = self.loop.call_at(self.last + IDLE, self._idle)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.proxy.links.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self._received(bytes(self.proxy.links.buffer[:nbytes]))

    def _received(self, data: bytes) -> None:
        if self.lingering:
            return  # read and dropped, so the client reads the refusal rather than a reset
        self.h.receive_data(data)
        self.received += len(data)
        if not self.busy and not self.blocked:
            self._next()
            return
        self.ahead += len(data)  # sent ahead: it waits in h11's buffer, and beyond AHEAD in the socket's
        if self.ahead > AHEAD and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        if self.lingering:
            return False
        self.h.receive_data(b"")
        if not self.busy:
            self._next()
        return True  # half closed: the reply to a request under way can still be written

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        if self.idle is not None:
            self.idle.cancel()
        self.proxy.connections.discard(self)

    def pause_writing(self) -> None:
        self.blocked = True

    def resume_writing(self) -> None:
        self.blocked = False
        if not self.busy and not self.closed and not self.lingering:
            self._serve_next()

    def _idle(self) -> None:
        """The idle timer, moved on lazily: a request costs no timer handle."""
        due = self.last + IDLE
        if self.busy or self.loop.time() < due:
            self.idle = self.loop.call_at(max(due, self.loop.time() + 1.0), self._idle)
        else:
            self.transport.close()

    def _next(self) -> None:
        """Read on in h11's buffer until a request is whole (then forward it) or more is needed."""
        while not self.blocked:
            try:
                event = self.h.next_event()
            except h11.RemoteProtocolError as e:
                status = e.error_status_hint
                self._refuse(Refusal(status if status in wire.REASONS else 400, "malformed request"))
                return
            if event is h11.NEED_DATA:
                return
            if isinstance(event, h11.Request):
                self.request = event
                refusal = framing_refusal(event, self.received > MAX_HEAD)
                if refusal is not None:  # judged on the head: a body framed both ways may never end
                    self._refuse(refusal)
                    return
            elif isinstance(event, h11.Data):
                self.body += event.data
                if len(self.body) > MAX_BODY:
                    self._refuse(Refusal(413, f"request body is longer than {MAX_BODY} bytes"))
                    return
            elif isinstance(event, h11.EndOfMessage):
                self._forward()
                return
            else:  # ConnectionClosed, PAUSED: nothing more to serve
                self.transport.close()
                return

    def _forward(self) -> None:
        """Send the request on; while the acceptor works, read what the record needs from it."""
        request = self.request
        assert request is not None
        self.busy = True
        self.started, self.at = time.perf_counter(), time.time()
        self.proxy.links.ask(request.method, request.target, request.headers.raw_items(), bytes(self.body),
                             self._answered)
        target = request.target.decode("ascii", "replace")
        self.path = urlsplit(target).path
        self.protocol = asked(request.method.decode("ascii", "replace"), target)
        if self.protocol is not None:
            names = [v for n, v in request.headers if n == _PROPOSER]
            self.label = labels.label_of(names[-1].decode("latin-1") if names else None, self.address)

    def _answered(self, answer: Union[Answered, Unanswered], head: Optional[h11.Response]) -> None:
        """The acceptor's answer: recorded first, then written back; then the next request."""
        latency = time.perf_counter() - self.started
        request = self.request
        assert request is not None
        try:
            if self.protocol is not None:
                self.proxy.record(self.proxy.acceptor, self.label, self.protocol, answer, self.path, latency,
                                  self.at)
        except BaseException:
            self.transport.close()  # a bug: the proposer sees its connection end, never a wrong reply
            raise
        if self.closed:
            return  # the proposer went away meanwhile: recorded all the same, as the acceptor acted
        self.transport.write(reply_bytes(self.h, request, answer, head, self.path))
        self._done()

    def _done(self) -> None:
        self.request, self.body, self.busy = None, bytearray(), False
        if self.h.our_state is not h11.DONE or self.h.their_state is not h11.DONE:
            self.transport.close()  # the reply said Connection: close (after it is written)
            return
        self.h.start_next_cycle()
        self.last = self.loop.time()
        if not self.blocked:
            self._serve_next()

    def _serve_next(self) -> None:
        """Read again, and serve a request sent ahead (already in h11's buffer), if any."""
        self.ahead = 0
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        self._next()

    def _refuse(self, refusal: Refusal) -> None:
        """Refuse as the acceptor would, then stop sending and read (and drop) what the client still
        sends for LINGER seconds, so it reads the refusal instead of a connection reset."""
        self.transport.write(refusal_bytes(self.h, refusal))
        self.lingering = True
        if self.paused:
            self.transport.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self.idle is not None:
            self.idle.cancel()
        self.idle = self.loop.call_later(LINGER, self.transport.close)
