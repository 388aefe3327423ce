"""One client connection: bytes into h11, complete requests to the routes, replies out.

Requests on a connection are served one at a time, and fairly: after each reply
with more pipelined bytes waiting, the connection yields to the event loop for
one turn, so a client that pipelines gets one request answered per turn like
every other connection, and cannot starve them. Bytes received wait in an inbox
and reach h11 a few KiB at a time, when it needs them; an inbox over BACKLOG
bytes stops the reading until all of it has been answered, so a pipelining
client's backlog stays bounded. A request is acted on only once it is complete,
head and body; a framing error or an oversize head or body is answered with a
Spring-shaped error and the connection closes, after draining the client's
input for a moment so the answer is not lost to a reset. The connection's phase in
the ConnectionTable drives its deadlines and eviction (limits.py). The request log
line carries the time from the request's first byte to its reply written, and
escapes what the client sent (ending.py: refusals, eviction, the log line). The
routes call the node inline, in the event loop: a save's fdatasync is the one
wait (docs/performance.md says why not a thread).
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Awaitable, Optional

import h11

from paxos_shell.acceptor import framing
from paxos_shell.acceptor.ending import Context, Ending
from paxos_shell.acceptor.limits import ConnPhase
from paxos_shell.acceptor.routes import Reply
from paxos_shell.core import wire

__all__ = ["BACKLOG", "Connection", "Context"]

FEED = 4096
"""Bytes handed to h11 at a time: its buffer (copied to look for a pipelined request) stays small."""

BACKLOG = 16384
"""Unparsed bytes past which a connection is not read until they have all been answered."""


class Connection(Ending, asyncio.Protocol):
    """One client connection as asyncio drives it: reading, pacing and answering requests."""

    def __init__(self, ctx: Context, sock: socket.socket, client: str) -> None:
        self.ctx = ctx
        self.sock = sock
        self.client = client
        self.transport: Optional[asyncio.Transport] = None
        self.h = h11.Connection(h11.SERVER, max_incomplete_event_size=ctx.limits.max_head)
        self._reset_request()
        self.closing = False
        self.busy = False
        self.blocked = False  # the client is not reading our replies: stop reading its requests
        self.stuffed = False  # the inbox is over BACKLOG: read nothing until it is answered
        self.waiting = False  # a turn is scheduled: other connections go first
        self.pending = False  # h11 holds bytes of the next request
        self.eof = False
        self.inbox = bytearray()
        self.task: Optional[asyncio.Future[None]] = None

    def _reset_request(self) -> None:
        self.request: Optional[h11.Request] = None
        self.line = bytearray()
        self.line_ok = False
        self.body = 0
        self.started = 0.0

    # -- transport events ----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a test's socketpair): no Nagle to defeat

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.ctx.table.remove(self)
        self.closing = True
        self.inbox.clear()

    def pause_writing(self) -> None:
        """Replies are piling up unread (a pipelining client that never reads): read no more."""
        self.blocked = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.blocked = False
        self._resume_reading()
        self._pump()

    def _resume_reading(self) -> None:
        if self.transport is not None and not (self.blocked or self.busy or self.stuffed):
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # draining after an error reply, or silenced by a fault
        self.inbox += data
        if len(self.inbox) > BACKLOG and not self.stuffed:
            self.stuffed = True
            assert self.transport is not None
            self.transport.pause_reading()
        self._pump()

    def eof_received(self) -> Optional[bool]:
        if self.closing or self.transport is None:
            return False
        self.eof = True
        if not self.inbox:  # else h11 is told when the inbox is fed to it
            self.h.receive_data(b"")
        if self.inbox or self.busy or self.waiting or self.pending:
            return True  # half-closed behind complete requests: answer them, then close
        if self.started:  # the client abandoned a request halfway: act on nothing
            return False
        self._pump()
        return False

    # -- reading a request ---------------------------------------------------

    def _first_byte(self) -> None:
        self.started = time.perf_counter()
        if self.ctx.table.phase(self) is ConnPhase.IDLE:
            self.ctx.table.set(self, ConnPhase.PENDING, time.monotonic())

    def _check_line(self, data: bytes) -> bool:
        """Judge the request line as soon as it is complete: False if refused."""
        room = wire.MAX_REQUEST_LINE + 2 - len(self.line)
        self.line += data[:room]
        refusal = framing.check_request_line(bytes(self.line))
        if refusal is not None:
            self.refuse(refusal)
            return False
        self.line_ok = b"\n" in self.line
        return True

    def _feed(self) -> None:
        """Hand h11 the next few KiB of the inbox (and the end of input once it is empty)."""
        chunk = bytes(self.inbox[:FEED])
        del self.inbox[:FEED]
        if not self.started:
            self._first_byte()
        self.h.receive_data(chunk)
        if self.eof and not self.inbox:
            self.h.receive_data(b"")
        if not self.line_ok:
            self._check_line(chunk)  # a refusal sets `closing`, which ends the caller's loop

    def _pump(self) -> None:
        """Parse and answer what is buffered, one request per turn of the event loop; a loop,
        not recursion, so pipelined requests answered synchronously cannot deepen the stack."""
        limits = self.ctx.limits
        while not (self.closing or self.busy or self.blocked or self.waiting):
            try:
                event = self.h.next_event()
            except h11.RemoteProtocolError as e:
                if self.h.their_state is h11.ERROR and self._client_closed():
                    return self._close()
                return self.refuse(framing.protocol_refusal(e))
            if event is h11.NEED_DATA:
                if not self.inbox:
                    return self._drained()
                self._feed()
            elif event is h11.PAUSED:
                return
            elif isinstance(event, h11.Request):
                refusal = framing.check_request(event, limits.max_head, limits.max_body)
                self.request = event
                if refusal is not None:
                    return self.refuse(refusal)
            elif isinstance(event, h11.Data):
                self.body += len(event.data)
                if self.body > limits.max_body:
                    return self.refuse(framing.body_too_large(limits.max_body))
            elif isinstance(event, h11.EndOfMessage):
                return self._dispatch()
            elif isinstance(event, h11.ConnectionClosed):
                return self._close()

    def _drained(self) -> None:
        """Everything received is parsed: read again."""
        if self.stuffed:
            self.stuffed = False
            self._resume_reading()

    def _take_turn(self) -> None:
        """After answering, the next pipelined request waits one turn of the loop: every other
        connection's ready work runs first."""
        if self.closing:
            return
        if not (self.inbox or self.pending or self.eof):  # at the end of input, h11 says so next turn
            return self._drained()
        self.waiting = True
        asyncio.get_running_loop().call_soon(self._turn)

    def _turn(self) -> None:
        self.waiting = False
        self._pump()

    def _client_closed(self) -> bool:
        return self.h.trailing_data[1]

    # -- answering -----------------------------------------------------------

    def _dispatch(self) -> None:
        assert self.transport is not None and self.request is not None
        method, target = self.request.method.decode("ascii"), self.request.target.decode("ascii")
        reply = self.ctx.app.handle(method, target, self.client)
        if isinstance(reply, Reply):
            self._answer(method, target, reply)
            return self._take_turn()
        self.busy = True  # a broadcast or an injected delay: read nothing more until it is answered
        self.ctx.table.set(self, ConnPhase.BUSY, time.monotonic())
        self.transport.pause_reading()
        self.task = asyncio.ensure_future(self._later(method, target, reply))  # held: the loop keeps weak refs

    async def _later(self, method: str, target: str, reply: Awaitable[Reply]) -> None:
        answer = await reply
        if self.transport is not None and not self.transport.is_closing():
            self._answer(method, target, answer)
            self._take_turn()  # requests pipelined behind this one

    def _answer(self, method: str, target: str, reply: Reply) -> None:
        assert self.transport is not None
        if reply.drop:
            self._log(method, target, "dropped (fault injection)")
            return self._silence()
        data = framing.reply_bytes(self.h, reply.status, reply.body, reply.content_type, close=False,
                                   head_only=method == "HEAD")
        self.transport.write(data)
        self._log(method, target, f"{reply.status}{' ' + reply.outcome if reply.outcome else ''}")
        if self.h.our_state is h11.MUST_CLOSE:
            return self._close()
        self.h.start_next_cycle()
        self._next_request()

    def _next_request(self) -> None:
        """Ready for the next request; bytes of it already buffered start its clock and are judged."""
        assert self.transport is not None
        self.busy = False
        self._reset_request()
        pending, _ = self.h.trailing_data  # at most FEED bytes, so the copy is cheap
        self.pending = bool(pending)
        self.ctx.table.set(self, ConnPhase.PENDING if pending or self.inbox else ConnPhase.IDLE, time.monotonic())
        self._resume_reading()
        if pending:
            self.started = time.perf_counter()
            self._check_line(pending)  # a refusal sets `closing`, which ends the caller's loop
