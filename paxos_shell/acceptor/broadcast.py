"""The broadcast endpoints' fan-out: ask every peer at once, each within the peer timeout.

Each broadcast asks its peers concurrently, one task per peer with its own deadline,
so a dead or slow peer costs at most the timeout and never delays the answer of
another (a shared thread pool once queued healthy calls behind hung ones, and a
peer that answered in time went missing from the reply). A global cap on calls in
flight keeps the descriptors they hold within the budget. Peers are spoken to over
h11 too, and a peer's reply is read up to a size limit. A peer is left out of the
reply only when it gave no 200 JSON answer within the timeout. Never raises for a
peer's failure.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import h11

from paxos_shell.acceptor.limits import MAX_PEER_CALLS
from paxos_shell.core import wire

PEER_TIMEOUT = 0.3
"""How long a broadcast waits for a peer: short, so one dead peer costs little."""

MAX_PEER_REPLY = 65536
"""Bytes of a peer's reply read at most; a longer one leaves that peer out."""


class PeerError(Exception):
    """A peer's answer that cannot be used."""


class Peers:
    """The other acceptors of the pool, by id, and how to ask them."""

    def __init__(self, urls: dict[int, str], timeout: float = PEER_TIMEOUT, max_calls: int = MAX_PEER_CALLS,
                 tls: Optional[ssl.SSLContext] = None) -> None:
        self.urls = dict(sorted(urls.items()))
        self.timeout = timeout
        self.max_calls = max_calls
        self.tls = tls
        self._slots: Optional[asyncio.Semaphore] = None  # made in the running loop (3.9 binds at creation)

    async def ask(self, url: str, path: str, query: str) -> Optional[Any]:
        """The peer's JSON answer to `path?query`, or None if none came in time."""
        try:
            return await asyncio.wait_for(self._exchange(url, path, query), self.timeout)
        except (OSError, EOFError, asyncio.TimeoutError, h11.ProtocolError, PeerError, ValueError):
            return None

    async def _exchange(self, url: str, path: str, query: str) -> Any:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_calls)
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        target = parts.path.rstrip("/") + path + (f"?{query}" if query else "")
        async with self._slots:
            reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=self._tls() if https else None)
            try:
                conn = h11.Connection(h11.CLIENT)
                request = h11.Request(method=wire.ROUTES[path], target=target,
                                      headers=[("Host", parts.netloc), ("Content-Length", "0")])
                writer.write((conn.send(request) or b"") + (conn.send(h11.EndOfMessage()) or b""))
                status, body = await _read_reply(conn, reader)
            finally:
                writer.close()
        if status != 200:
            raise PeerError(f"HTTP {status}")
        return wire.read_json(body)  # too deep a nesting is a marker, not a dict: that peer is left out

    def _tls(self) -> ssl.SSLContext:
        if self.tls is None:
            self.tls = ssl.create_default_context()  # once: building one takes about 20 ms of the event loop
        return self.tls

    async def broadcast(self, own_id: int, mine: dict, path: str, query: str,
                        keep: Callable[[dict], bool]) -> dict[str, Any]:
        """This acceptor's answer `mine` with every peer's, asked concurrently; keep the
        answers `keep` accepts, keyed by id in order."""
        calls = {pid: asyncio.ensure_future(self.ask(url, path, query))
                 for pid, url in self.urls.items() if pid != own_id}
        results: dict[int, Any] = {own_id: mine} if keep(mine) else {}
        for pid, call in calls.items():
            body = await call
            if isinstance(body, dict) and keep(body):
                results[pid] = body
        return {str(pid): body for pid, body in sorted(results.items())}


async def _read_reply(conn: h11.Connection, reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status, body = 0, bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))  # b"" at EOF: h11 then ends or errs
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_PEER_REPLY:
                raise PeerError("reply too long")
        elif isinstance(event, h11.EndOfMessage):
            return status, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            raise EOFError("peer closed the connection")
