"""The proxy's side towards one acceptor: kept-alive connections on h11, as asyncio Protocols, pooled.

Its job: send a proposer's request on to the acceptor (its method, target and
body as they came, the hop-by-hop headers dropped, the acceptor's Host, and the
shell's own --header and --auth options added, so a proxy works in front of
acceptors that ask for credentials), over TLS with the shell's --ca-bundle or
--insecure for an https acceptor, and read the whole reply (at most
wire.MAX_REPLY bytes of body). Each connection is a Link, an asyncio
BufferedProtocol (loop.create_connection) that carries one request at a time and hands the
answer to a callback: no task, future or stream per request. A proxy's Links
keeps the free connections and gives the next request the one used last, so a
proposer that opens a connection per request (the old scripts) still reaches
the acceptor on a kept-alive one. When no reply comes, it says why as the
shell's client would: connection refused (the request never arrived) or
timeout (it may have). A request is never sent twice (a prepare sent again may
be refused): a connection idle for REOPEN_AFTER seconds is closed, not used,
well inside the idle timeouts of our acceptor (60 s) and of Tomcat (20 s), so
an acceptor closing an idle connection is not mistaken for one that died. It
never judges the reply (exchange.py, through wire.interpret, does) and never
shows a URL's secret.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Iterable, Optional, Union

import h11

from paxos_shell.core import wire
from paxos_shell.watch.exchange import Answered, Unanswered
from paxos_shell.watch.target import Target, request_headers

REOPEN_AFTER = 5.0
"""Seconds a kept-alive connection to the acceptor may have been idle and still be used."""
MAX_FREE = 64
"""Free connections a proxy keeps open for the next requests; more are closed."""
READ = 1 << 16
"""Bytes read at a time; h11 judges the proposers' heads (MAX_HEAD) on what it has been handed."""

Done = Callable[[Union[Answered, Unanswered], Optional[h11.Response]], None]
"""Called once per request: the answer, and the reply's head to pass back (None when no reply came)."""



class Links:
    """One acceptor's connections: the free ones kept for the next request, the last used first."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.buffer = memoryview(bytearray(READ))
        """Every read of this acceptor's connections, and of its proxy's proposers, lands here: they
        all run on the loop's thread, and each read is handed on before the next (BufferedProtocol,
        recv_into: a Protocol's recv allocates 256 KiB per read, mapped and unmapped each time)."""
        self.free: list[Link] = []
        self.every: set[Link] = set()

    def ask(self, method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes,
            done: Done) -> None:
        """Send one request on a free connection (or a new one); `done` gets the answer."""
        link = self._take()
        link.ask(method, target, headers, body, done)

    def _take(self) -> Link:
        while self.free:
            link = self.free.pop()
            if link.usable():
                return link
            link.close()
        link = Link(self)
        self.every.add(link)
        return link

    def put(self, link: Link) -> None:
        """A connection whose reply was read whole and that stays open: free for the next request."""
        if len(self.free) < MAX_FREE:
            self.free.append(link)
        else:
            link.close()

    def forget(self, link: Link) -> None:
        self.every.discard(link)
        if link in self.free:
            self.free.remove(link)

    def close(self) -> None:
        """Every connection closed, and no answer reported any more (the watch is stopping)."""
        for link in list(self.every):
            link.done = None
            link.close()
        self.free.clear()


class Link(asyncio.BufferedProtocol):
    """One connection to the acceptor, carrying one request at a time; its answer goes to `done`."""

    def __init__(self, links: Links) -> None:
        self.links = links
        self.target = links.target
        self.loop = asyncio.get_running_loop()
        self.transport: Optional[asyncio.BaseTransport] = None
        self.h = h11.Connection(h11.CLIENT)
        self.done: Optional[Done] = None
        self.asked: tuple[bytes, bytes, Iterable[tuple[bytes, bytes]], bytes] = (b"", b"", (), b"")
        self.head: Optional[h11.Response] = None
        self.body = bytearray()
        self.idle_since = 0.0
        self.deadline = 0.0
        self.timer: Optional[asyncio.TimerHandle] = None
        self.connecting: Optional[asyncio.Task[None]] = None
        self.opened = self.lost = False

    def usable(self) -> bool:
        return self.opened and not self.lost and self.loop.time() - self.idle_since <= REOPEN_AFTER

    def ask(self, method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes,
            done: Done) -> None:
        self.done, self.asked = done, (method, target, headers, body)
        # One timer per connection, moved on lazily (_check), not one per request: a request costs
        # no timer handle, and the timeout still counts from the moment the request came.
        self.deadline = self.loop.time() + self.target.timeout
        if self.timer is None:
            self.timer = self.loop.call_at(self.deadline, self._check)
        if self.opened:
            self._send()
        else:
            self.connecting = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        t = self.target
        try:
            await self.loop.create_connection(lambda: self, t.host, t.port, ssl=t.tls,
                                              server_hostname=t.host if t.tls else None)
        except OSError as e:  # refused, unreachable, a TLS handshake that failed (ssl.SSLError)
            self.connecting = None
            self._fail(e)
            return
        self.connecting = None
        if self.done is None or self.lost:  # given up on meanwhile (the watch stopping)
            self.close()
        else:
            self._send()

    def _send(self) -> None:
        method, target, headers, body = self.asked
        h = self.h
        try:
            data = h.send(h11.Request(method=method, target=self.target.prefix + target,
                                      headers=request_headers(self.target, headers, len(body)))) or b""
            data += (h.send(h11.Data(data=body)) or b"") if body else b""
            data += h.send(h11.EndOfMessage()) or b""
        except h11.ProtocolError as e:  # answered on the next turn of the loop, as every answer is
            self.loop.call_soon(self._fail, e)
            return
        assert isinstance(self.transport, asyncio.WriteTransport)
        self.transport.write(data)

    def _check(self) -> None:
        """The timer: past the deadline of the request under way, cut the connection and answer 504."""
        self.timer = None
        if self.done is None:
            return
        if self.loop.time() < self.deadline:
            self.timer = self.loop.call_at(self.deadline, self._check)
            return
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        self._fail(_Expired())

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport, self.opened = transport, True

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.links.buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = bytes(self.links.buffer[:nbytes])
        if self.done is None:  # nothing asked: an acceptor speaking out of turn is not trusted further
            self.close()
            return
        self.h.receive_data(data)
        self._read()

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._ended(exc)
        self.close()
        self.links.forget(self)

    # -- the reply -----------------------------------------------------------------------------

    def _ended(self, exc: Optional[Exception]) -> None:
        """The acceptor closed the connection (or it broke): a reply under way ends here."""
        self.lost = True
        if self.done is None:
            return
        if exc is not None:
            self._fail(exc)
        elif self.head is None and self.h.their_state is not h11.SEND_BODY:
            self._fail(_Stale())
        else:  # a body framed by the connection's end (HTTP/1.0 style) ends with it
            self.h.receive_data(b"")
            self._read()

    def _read(self) -> None:
        """Take the reply whole from what came: its head, and its body up to wire.MAX_REPLY bytes."""
        while self.done is not None:
            try:
                event = self.h.next_event()
            except h11.RemoteProtocolError as e:
                self._fail(e)
                return
            if event is h11.NEED_DATA:
                return
            if isinstance(event, h11.Response):
                self.head = event
            elif isinstance(event, h11.Data):
                self.body += event.data
                if len(self.body) > wire.MAX_REPLY:
                    self.close()  # the rest is never read: the client would have cut it off too
                    self._finish(True)
            elif isinstance(event, h11.EndOfMessage):
                self._finish(False)
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                self._fail(_Stale())

    def _finish(self, cut_off: bool) -> None:
        head, done = self.head, self.done
        assert head is not None and done is not None
        body = bytes(self.body[: wire.MAX_REPLY])
        self.head, self.done, self.body = None, None, bytearray()
        self.idle_since = self.loop.time()
        if not cut_off and self.h.our_state is h11.DONE and self.h.their_state is h11.DONE:
            self.h.start_next_cycle()
            self.links.put(self)
        else:
            self.close()  # cut off, or the acceptor said Connection: close (after a refusal)
        done(_answered(head, body, cut_off), head)

    def _fail(self, e: Exception) -> None:
        done, opened = self.done, self.opened
        self.done = None
        self.close()
        if done is None:
            return
        if isinstance(e, _Expired):
            done(Unanswered(wire.TIMEOUT, True), None)
        elif isinstance(e, ConnectionRefusedError):
            done(Unanswered(wire.REFUSED, False), None)
        elif isinstance(e, _Stale):
            done(Unanswered("the acceptor closed the connection without a reply", True), None)
        else:
            done(Unanswered(f"{type(e).__name__} from the acceptor", opened), None)

    def close(self) -> None:
        self.lost = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.close()  # connection_lost follows, and forgets it
        elif self.connecting is None:
            self.links.forget(self)  # never connected: nothing will follow


class _Stale(Exception):
    """The connection ended before any reply came."""


class _Expired(Exception):
    """No reply within the target's timeout."""


_READ_HEADERS = (b"content-type", b"content-encoding", b"location")


def _answered(head: h11.Response, body: bytes, cut_off: bool = False) -> Answered:
    """What wire.interpret reads of a reply; the last of each header counts, as the client's."""
    found: dict[bytes, str] = {}
    for name, value in head.headers.raw_items():  # one pass, on h11's list
        name = name.lower()
        if name in _READ_HEADERS:
            found[name] = value.decode("latin-1")
    return Answered(head.status_code, body, found.get(b"content-type"), found.get(b"content-encoding"),
                    found.get(b"location"), cut_off)
