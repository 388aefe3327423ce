"""The proxy's side towards one acceptor: one kept-alive connection per proposer connection, on h11.

Its job: send a proposer's request on to the acceptor (its method, target and
body as they came, the hop-by-hop headers dropped, the acceptor's Host, and the
shell's own --header and --auth options added, so a proxy works in front of
acceptors that ask for credentials), over TLS with the shell's --ca-bundle or
--insecure for an https acceptor, and read the whole reply (at most
wire.MAX_REPLY bytes of body). When no reply comes, it says why as the shell's
client would: connection refused (the request never arrived) or timeout (it may
have). A request is never sent twice (a prepare sent again may be refused): a
kept-alive connection idle for REOPEN_AFTER seconds is replaced by a fresh one
before the request goes out, well inside the idle timeouts of our acceptor (60 s)
and of Tomcat (20 s), so an acceptor closing an idle connection is not mistaken
for one that died. It never judges the reply
(exchange.py, through wire.interpret, does) and never shows a URL's secret.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass
from typing import Optional, Union
from urllib.parse import urlsplit

import h11

from paxos_shell.core import wire
from paxos_shell.core.urls import check_url
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.watch.exchange import Answered, Unanswered

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"transfer-encoding", b"upgrade",
                        b"host", b"content-length"})
"""Headers that describe one connection, not the message (RFC 9110 7.6.1): never passed on;
h11 frames each side's message itself (Content-Length)."""
READ = 65536
REOPEN_AFTER = 5.0
"""Seconds a kept-alive connection to the acceptor may have been idle and still be used."""


@dataclass(frozen=True)
class Target:
    """One acceptor as the proxy reaches it: address, TLS, the headers added to every request."""

    host: str
    port: int
    prefix: str
    authority: str
    tls: Optional[ssl.SSLContext]
    headers: tuple[tuple[str, str], ...]
    timeout: float


def target_of(url: str, options: ClientOptions, timeout: float) -> Target:
    """The acceptor at `url`, reached with the shell's options; ValueError for a URL it cannot use."""
    check_url(url)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    host = parts.hostname or ""
    headers = list(options.headers)
    if options.auth:
        token = base64.b64encode(f"{options.auth[0]}:{options.auth[1]}".encode()).decode("ascii")
        headers.append(("Authorization", f"Basic {token}"))
    authority = f"[{host}]" if ":" in host else host
    if parts.port:
        authority += f":{parts.port}"
    return Target(host, port, parts.path.rstrip("/"), authority, _tls(options) if https else None,
                  tuple(headers), timeout)


def _tls(options: ClientOptions) -> ssl.SSLContext:
    if options.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    import certifi  # requests' own CA bundle, the shell's default too

    return ssl.create_default_context(cafile=options.ca_bundle or certifi.where())


def request_headers(target: Target, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The proposer's headers as the acceptor gets them: its own Host, the shell's additions on top."""
    added = {name.lower().encode("ascii") for name, _ in target.headers}
    kept = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP and n.lower() not in added]
    return [(b"Host", target.authority.encode("idna" if not target.authority.isascii() else "ascii")), *kept,
            *((n.encode("ascii"), v.encode("latin-1")) for n, v in target.headers)]


class Upstream:
    """The connection to the acceptor behind one proposer connection; one request at a time."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.reader: Optional[asyncio.StreamReader] = None
        self.writer: Optional[asyncio.StreamWriter] = None
        self.h = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0
        self.expired = False

    async def exchange(self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]],
                       body: bytes) -> tuple[Union[Answered, Unanswered], Optional[h11.Response]]:
        """The acceptor's answer to one request (and its head, to pass back), or why none came."""
        loop = asyncio.get_running_loop()
        if self.writer is not None and loop.time() - self.idle_since > REOPEN_AFTER:
            self.close()
        self.expired = False
        # A timer, not asyncio.wait_for: wait_for costs a task per request, a tenth of the proxy's budget.
        timer = loop.call_later(self.target.timeout, self._expire)
        try:
            answer = await self._exchange(method, target, headers, body)
            self.idle_since = loop.time()
            return answer
        except (_Stale, OSError, h11.ProtocolError, ssl.SSLError) as e:
            return self._failed(e), None
        finally:
            timer.cancel()

    def _expire(self) -> None:
        """The timeout passed: cut the connection, which ends the read under way."""
        self.expired = True
        self.close()

    def _failed(self, e: Exception) -> Unanswered:
        opened = self.writer is not None or self.expired
        self.close()
        if self.expired:
            return Unanswered(wire.TIMEOUT, True)
        if isinstance(e, ConnectionRefusedError):
            return Unanswered(wire.REFUSED, False)
        if isinstance(e, _Stale):
            return Unanswered("the acceptor closed the connection without a reply", True)
        return Unanswered(f"{type(e).__name__} from the acceptor", opened)

    async def _exchange(self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]],
                        body: bytes) -> tuple[Answered, h11.Response]:
        if self.writer is None:
            await self._open()
        if self.writer is None:  # cut by the timer while it connected
            raise _Stale()
        h = self.h
        data = h.send(h11.Request(method=method, target=self.target.prefix.encode("ascii") + target,
                                  headers=[*request_headers(self.target, headers),
                                           (b"Content-Length", str(len(body)).encode("ascii"))])) or b""
        data += (h.send(h11.Data(data=body)) or b"") if body else b""
        data += h.send(h11.EndOfMessage()) or b""
        self.writer.write(data)
        await self.writer.drain()
        return await self._reply()

    async def _open(self) -> None:
        t = self.target
        try:  # a connection that hangs (a dropped SYN, a TLS handshake that stalls) ends at the timeout
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(
                t.host, t.port, ssl=t.tls, server_hostname=t.host if t.tls else None), t.timeout)
        except asyncio.TimeoutError:
            self.expired = True
            raise _Stale() from None
        self.h = h11.Connection(h11.CLIENT)

    async def _reply(self) -> tuple[Answered, h11.Response]:
        """Read the reply whole: its head, and its body up to wire.MAX_REPLY bytes."""
        head: Optional[h11.Response] = None
        body = bytearray()
        while True:
            event = self.h.next_event()
            if event is h11.NEED_DATA:
                if self.reader is None:
                    raise _Stale()
                data = await self.reader.read(READ)
                if not data and head is None and not self.h.their_state == h11.SEND_BODY:
                    raise _Stale()
                self.h.receive_data(data)
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > wire.MAX_REPLY:
                    self.close()  # the rest is never read: the client would have cut it off too
                    assert head is not None
                    return _answered(head, bytes(body[: wire.MAX_REPLY]), cut_off=True), head
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                self._next_cycle()
                return _answered(head, bytes(body)), head
            elif isinstance(event, h11.ConnectionClosed):
                raise _Stale()

    def _next_cycle(self) -> None:
        if self.h.our_state is h11.DONE and self.h.their_state is h11.DONE:
            self.h.start_next_cycle()
        else:
            self.close()  # the acceptor said Connection: close (after a refusal): open anew next time

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _Stale(Exception):
    """The connection ended before any reply came."""


def _answered(head: h11.Response, body: bytes, cut_off: bool = False) -> Answered:
    def header(name: bytes) -> Optional[str]:
        values = [v for n, v in head.headers if n == name]
        return values[-1].decode("latin-1") if values else None

    return Answered(head.status_code, body, header(b"content-type"), header(b"content-encoding"),
                    header(b"location"), cut_off)
