"""One acceptor's proxy: a listening socket, and each proposer connection served on h11.

Its job: read each request whole (h11, as the acceptor reads it), send it on to
the acceptor (upstream.py), hand the exchange to the recorder, and only then
write the acceptor's reply back: its status, reason, headers and body bytes as
they came (hop-by-hop headers aside; h11 frames the body). The recorder runs
before the reply is written, so a proposer that has its reply is in the
session already. Requests on a connection are served one at a time, in order.
What the proxy cannot forward it refuses as our acceptor would, with the same
status and the Spring error shape, then closes: HTTP h11 refuses, versions
other than 1.0 and 1.1, both Transfer-Encoding and Content-Length, a head over
MAX_HEAD or a body over MAX_BODY (both above the acceptor's limits, so it
judges the usual oversize requests itself). A client outside --allow gets 403.
When the acceptor gives no answer the proposer gets 502 (refused, or the
connection failed) or 504 (no reply within the timeout), as from any gateway.
It never judges Paxos and never writes to a terminal.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass
from typing import Callable, Optional, Union
from urllib.parse import urlsplit

import h11

from paxos_shell.core import wire
from paxos_shell.watch import labels
from paxos_shell.watch.exchange import Answered, Asked, Unanswered, asked
from paxos_shell.watch.upstream import HOP_BY_HOP, READ, Target, Upstream

MAX_HEAD = 1 << 20
MAX_BODY = 1 << 20
IDLE = 120.0
"""Seconds a proposer's connection may sit without a complete request before the proxy closes it."""

LINGER = 1.0
"""Seconds a refused connection is drained before it closes."""

Record = Callable[[int, str, Asked, Union[Answered, Unanswered], str, float, float], None]
"""acceptor, label, request, answer, path, latency, time: called before the reply is written."""


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    target: str = ""


def framing_refusal(request: h11.Request) -> Optional[Refusal]:
    """HTTP h11 parses but that cannot be forwarded as it came; refused as the acceptor refuses it."""
    if request.http_version not in (b"1.0", b"1.1"):
        return Refusal(505, f"HTTP/{request.http_version.decode('ascii', 'replace')} is not supported")
    names = [name for name, _ in request.headers]
    if b"transfer-encoding" in names and b"content-length" in names:
        return Refusal(400, "both Transfer-Encoding and Content-Length: the body's length is ambiguous")
    return None


class Proxy:
    """The proxy for acceptor `acceptor`: serve() is the asyncio server's connection callback."""

    def __init__(self, acceptor: int, target: Target, record: Record, allow: tuple[labels.Network, ...]) -> None:
        self.acceptor = acceptor
        self.target = target
        self.record = record
        self.allow = allow
        self.connections: set[asyncio.StreamWriter] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else "unknown"
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections.add(writer)
        upstream = Upstream(self.target)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        idle = _Idle(writer)
        try:
            if not labels.allowed(address, self.allow):
                self._refuse(conn, writer, Refusal(403, "this proxy does not serve your address"), "")
                return await _linger(reader, writer)
            while await self._one(conn, reader, writer, upstream, address):
                conn.start_next_cycle()
                idle.restart()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the proposer went away, or the watch is stopping: nothing to answer
        finally:
            idle.cancel()
            upstream.close()
            self.connections.discard(writer)
            writer.close()

    async def _one(self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   upstream: Upstream, address: str) -> bool:
        """Serve one request; False when the connection is to close."""
        got = await _read_request(conn, reader)
        if got is None:
            return False
        if isinstance(got, Refusal):
            self._refuse(conn, writer, got, got.target)
            await _linger(reader, writer)
            return False
        request, body = got
        started, at = time.perf_counter(), time.time()
        answer, head = await upstream.exchange(request.method, request.target, list(request.headers), body)
        latency = time.perf_counter() - started
        method, target = request.method.decode("ascii", "replace"), request.target.decode("ascii", "replace")
        path = urlsplit(target).path
        protocol = asked(method, target)
        if protocol is not None:
            label = labels.label_of(_header(request, wire.PROPOSER_HEADER.lower().encode("ascii")), address)
            self.record(self.acceptor, label, protocol, answer, path, latency, at)
        writer.write(_reply(conn, request, answer, head, path))
        await writer.drain()
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE

    def _refuse(self, conn: h11.Connection, writer: asyncio.StreamWriter, refusal: Refusal, target: str) -> None:
        body = wire.error_reply(refusal.status, refusal.message, urlsplit(target).path)
        try:
            writer.write(_json(conn, refusal.status, body, close=True))
        except h11.LocalProtocolError:
            pass  # a reply was under way: only closing is left

    def close(self) -> None:
        for writer in list(self.connections):
            writer.close()


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader
                        ) -> Union[Refusal, tuple[h11.Request, bytes], None]:
    """The next request whole (head and body), None when the proposer closed, or why it is refused."""
    request: Optional[h11.Request] = None
    body = bytearray()
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as e:
            status = e.error_status_hint
            return Refusal(status if status in wire.REASONS else 400, "malformed request")
        if event is h11.NEED_DATA:
            data = await reader.read(READ)
            conn.receive_data(data)
            if not data and request is None and conn.their_state is h11.IDLE:
                return None
        elif isinstance(event, h11.Request):
            request = event
            refusal = framing_refusal(request)
            if refusal is not None:  # judged on the head: a body framed both ways may never end
                return Refusal(refusal.status, refusal.message, request.target.decode("ascii", "replace"))
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                return Refusal(413, f"request body is longer than {MAX_BODY} bytes")
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, bytes(body)
        else:  # ConnectionClosed, PAUSED: nothing more to serve
            return None


class _Idle:
    """Closes a proposer's connection that sends no request for IDLE seconds (a timer: cheaper than
    asyncio.wait_for on every read)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.handle = asyncio.get_running_loop().call_later(IDLE, writer.close)

    def restart(self) -> None:
        self.handle.cancel()
        self.handle = asyncio.get_running_loop().call_later(IDLE, self.writer.close)

    def cancel(self) -> None:
        self.handle.cancel()


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """After a refusal: stop sending, and read (and drop) what the client still sends for a moment,
    so it reads the refusal instead of a connection reset (as the acceptor does)."""
    await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
    deadline = asyncio.get_running_loop().time() + LINGER
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            if not await asyncio.wait_for(reader.read(READ), left):
                return
        except (asyncio.TimeoutError, TimeoutError, ConnectionError):
            return


def _header(request: h11.Request, name: bytes) -> Optional[str]:
    values = [v for n, v in request.headers if n == name]
    return values[-1].decode("latin-1") if values else None


def _reply(conn: h11.Connection, request: h11.Request, answer: Union[Answered, Unanswered],
           head: Optional[h11.Response], path: str) -> bytes:
    """The bytes the proposer gets: the acceptor's reply as it came, or a gateway's 502/504."""
    if isinstance(answer, Unanswered) or head is None:
        cause = answer.cause if isinstance(answer, Unanswered) else "no reply"
        status = 504 if cause == wire.TIMEOUT else 502
        return _json(conn, status, wire.error_reply(status, f"acceptor: {cause}", path), close=False)
    headers = [(n, v) for n, v in head.headers.raw_items() if n.lower() not in HOP_BY_HOP]
    closing = any(n == b"connection" and b"close" in v.lower() for n, v in head.headers)
    length = [v for n, v in head.headers if n == b"content-length"] if request.method == b"HEAD" else []
    headers.append((b"Content-Length", length[-1] if length else str(len(answer.body)).encode("ascii")))
    if closing:
        headers.append((b"Connection", b"close"))
    out = conn.send(h11.Response(status_code=head.status_code, headers=headers, reason=head.reason)) or b""
    if answer.body and request.method != b"HEAD":
        out += conn.send(h11.Data(data=answer.body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


def _json(conn: h11.Connection, status: int, body: dict, close: bool) -> bytes:
    data = json.dumps(body).encode("utf-8")
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if close:
        headers.append(("Connection", "close"))
    reason = wire.REASONS.get(status, "Bad Gateway" if status == 502 else "Gateway Timeout" if status == 504
                              else "Forbidden" if status == 403 else "Error")
    out = conn.send(h11.Response(status_code=status, headers=headers, reason=reason)) or b""
    return out + (conn.send(h11.Data(data=data)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
