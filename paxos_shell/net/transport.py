"""HTTP to one acceptor over requests: a kept-alive connection, TLS, credentials, proxies, bounded replies.

A Link is how a round asks one acceptor. requests' HTTPAdapter (urllib3
underneath) opens the connection, with its TLS settings, credentials and
proxy, and keeps it alive; a tap on that connection (tap.py) records the
socket, so another thread can cut an abandoned request short, and whether
the request was written out whole, which is what decides if a failed
request may have reached the acceptor. Once a direct connection is open, a
round drives it in two halves (send, then receive, with urllib3's
connection methods that the adapter itself calls), so that one thread
writes every acceptor's request before it waits for any reply, and reads
on that thread only a reply already whole (reply_waiting); a request that
needs a connection opened, is large, or goes through a proxy goes through
the adapter on a worker thread (call). A reply body is read up to wire.MAX_REPLY + 1
bytes and never further. Redirects are never followed. Requests go straight
to the adapter, not through Session.send: with redirects off, Session.send
still reads a 3xx body whole into memory to prepare the next hop, and it
would keep cookies. This module never classifies a reply (wire.interpret
does) and never puts a URL in a cause, except a proxy's, redacted.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

import urllib3
from requests.auth import HTTPBasicAuth
from requests.exceptions import ProxyError
from requests.models import PreparedRequest
from requests.utils import get_environ_proxies, select_proxy

from paxos_shell.core import wire
from paxos_shell.core.text import visible
from paxos_shell.core.urls import check_url, is_loopback, redacted
from paxos_shell.net.causes import chain, describe_error
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.net.tap import Tap, _Adapter, _TappedHTTP

__all__ = ["Answer", "Link", "Tap", "Unanswered", "_Adapter", "_TappedHTTP", "whole_reply"]

HEADERS = {"User-Agent": "paxos-shell", "Accept": "application/json", "Accept-Encoding": "identity"}
"""Sent with every request, before the user's own --header options (which may replace them)."""

METHODS = ("GET", "POST")
INLINE_MAX = 4096
"""The largest request a round's own thread writes (send): under the smallest send buffer Linux
gives a TCP socket (tcp_wmem's minimum), so that write never waits on an acceptor that stopped
reading. A larger request goes through call() on a worker thread, bounded by the round."""
PEEK = 16384
"""How much of a waiting reply reply_waiting() looks at: a protocol reply is a few hundred bytes."""


def _template(method: str, base: str, headers: dict[str, str], auth: Optional[HTTPBasicAuth]) -> PreparedRequest:
    """A request to the acceptor's base URL, headers and credentials in place, prepared once."""
    req = PreparedRequest()
    req.prepare(method=method, url=base, headers=headers, auth=auth)
    req.url = (req.url or base).rstrip("/")
    return req


def _request(template: PreparedRequest, route: str) -> PreparedRequest:
    """The template's request to `route` (already percent-encoded by the client).

    Its headers are shared, not copied: neither requests' adapter nor urllib3
    changes the headers it is given (a proxy's are added to a copy).
    """
    req = PreparedRequest()
    req.method, req.url, req.headers, req.body = template.method, f"{template.url}{route}", template.headers, None
    return req


class Unanswered(Exception):
    """No HTTP answer. `cause` is one line, safe to show; `reached` is False
    when the request surely never arrived (it was not written out whole)."""

    def __init__(self, cause: str, reached: bool) -> None:
        super().__init__(cause)
        self.cause = cause
        self.reached = reached


class _Unsent(Exception):
    """A kept-alive connection died before the request left: safe to send again."""


@dataclass(frozen=True)
class Answer:
    """What came back over HTTP, before any judgement about what it means."""

    status: int
    body: bytes
    path: str
    content_type: Optional[str] = None
    encoding: Optional[str] = None
    location: Optional[str] = None
    cut_off: bool = False


class Link:
    """One kept-alive connection to one acceptor; used by one thread at a time."""

    def __init__(self, url: str, options: ClientOptions) -> None:
        check_url(url)
        parts = urlsplit(url)
        self.url = url
        self.base = url.rstrip("/")
        self.prefix = parts.path.rstrip("/")
        auth = HTTPBasicAuth(*options.auth) if options.auth else None  # else any user:pass@ in the URL
        self.templates = {m: _template(m, self.base, {**HEADERS, **dict(options.headers)}, auth) for m in METHODS}
        self.verify: Any = False if options.insecure else (options.ca_bundle or True)
        loopback = is_loopback(parts.hostname or "")
        self.proxies: dict[str, str] = {} if options.no_proxy or loopback else get_environ_proxies(url)
        self.proxy: Optional[str] = select_proxy(url, self.proxies)
        sent = urlsplit(self.templates["GET"].url or url)
        self.tap = Tap()
        self.adapter = _Adapter(self.tap, None if self.proxy else f"{sent.scheme}://{sent.netloc}")
        self.target = (self.templates["GET"].url or "")[len(self.adapter.origin or ""):]
        """The request-target's path before each route, as the adapter sends it."""
        headers = self.templates["POST"].headers
        self.head_size = len(self.target) + sum(len(k) + len(v) + 4 for k, v in headers.items()) + 128
        """A request's size without its route: request line, these headers, Host and Content-Length."""
        if options.insecure:
            # The user asked for it and the shell says so; one warning per request would bury the output.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.busy = threading.Lock()
        self.abandoned = False
        self.named: Optional[str] = None
        self.fixed = any(k.lower() == wire.PROPOSER_HEADER.lower() for k, _ in options.headers)
        """The user's --header names the proposer: it is sent as given."""

    def label(self, proposer: Optional[str]) -> None:
        """Name the proposer in every request from now on (wire.PROPOSER_HEADER), so that a watch
        in front of the acceptor tells the shell's proposers apart; a --header of that name wins."""
        if self.fixed or proposer == self.named:
            return
        self.named = proposer
        for template in self.templates.values():
            if proposer is None:
                template.headers.pop(wire.PROPOSER_HEADER, None)
            else:
                template.headers[wire.PROPOSER_HEADER] = proposer

    def call(self, method: str, route: str, timeout: float) -> Answer:
        """One request; Unanswered if no HTTP answer came. `route` is the path and query."""
        with self.busy:
            if self.buffered():
                self.close()  # bytes left after the last reply, hidden in TLS from urllib3's check
            try:
                try:
                    return self._attempt(method, route, timeout, first=True)
                except _Unsent:
                    # The acceptor closed the idle connection before our request
                    # left whole, so it cannot have acted on it: send it again, once.
                    return self._attempt(method, route, timeout, first=False)
            finally:
                if self.abandoned:
                    self.close()

    def send(self, method: str, route: str) -> bool:
        """Write a request out on the open direct connection, from the caller's thread.

        True when it left whole; receive() must then read its reply. False when
        nothing was sent and call() must send it instead: no open connection to
        the acceptor itself (none yet, a proxy, or the acceptor closed it while
        idle, or left bytes on it), a request over INLINE_MAX, the link busy or
        abandoned, or sending failed before the request left (urllib3 itself
        would send it again then).
        """
        if self.adapter.origin is None or len(route) + self.head_size > INLINE_MAX:
            return False
        if not self.busy.acquire(blocking=False):
            return False
        conn = self.tap.conn
        try:
            leftover = self.buffered()
            if leftover:
                self.close()  # bytes left after the last reply, hidden in TLS: never read as the next one
            if leftover or self.abandoned or conn is None or conn.sock is None or not conn.is_connected:
                self.busy.release()
                return False
            self.tap.begin()
            conn.request(method, self.target + route, headers=self.templates[method].headers,
                         preload_content=False, decode_content=False)
            return True
        except Exception:
            self.close()  # the request never left whole (the tap says so): call() opens a new connection
            self.busy.release()
            return False

    def receive(self, route: str, timeout: float) -> Answer:
        """The reply to what send() wrote, each read waiting at most `timeout` seconds;
        Unanswered if none came. A reply that trickles in may take longer: the round reads
        one on its own thread only once reply_waiting() says it is all there, and cuts a
        worker still reading at its deadline (abort)."""
        conn = self.tap.conn
        try:
            assert conn is not None
            conn.timeout = max(timeout, 0.001)
            resp = conn.getresponse()
            answer = self._read(resp, resp.status, resp.headers, self._path(route))
            if answer.cut_off or answer.encoding not in (None, "identity"):
                self.close()  # the rest of that body is still on the connection, unread
            return answer
        except Unanswered:
            self.close()
            raise
        except Exception as e:
            self.close()  # a connection broken mid-exchange is never reused
            raise Unanswered(self._describe(e), reached=True) from None
        finally:
            self.busy.release()
            if self.abandoned:
                self.close()

    def reply_waiting(self) -> bool:
        """The whole reply to what send() wrote is on the socket already, or the connection
        failed: receive() returns at once. False also when this cannot be seen (TLS)."""
        sock = self.tap.sock
        if sock is None or isinstance(sock, ssl.SSLSocket):
            return False
        try:
            data = sock.recv(PEEK, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True  # reset: reading fails at once
        return not data or whole_reply(data)

    @property
    def tls(self) -> bool:
        return isinstance(self.tap.sock, ssl.SSLSocket)

    def _path(self, route: str) -> str:
        """The path a reply is said to come from: the base URL's path, then the route's, no query."""
        return self.prefix + route.partition("?")[0]

    def fileno(self) -> int:
        """The socket a request written by send() awaits its reply on (-1 if it was closed)."""
        sock = self.tap.sock
        return sock.fileno() if sock is not None else -1

    def buffered(self) -> bool:
        """Reply bytes already decrypted and held by TLS, which poll() on the socket would not show."""
        sock = self.tap.sock
        return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0

    def drop(self) -> None:
        """Give up on a request written by send() whose reply will not be read: close its connection."""
        self.abandoned = self.tap.abandoned = True
        self.close()
        self.busy.release()

    def _attempt(self, method: str, route: str, timeout: float, first: bool) -> Answer:
        self.tap.begin()
        try:
            resp = self.adapter.send(_request(self.templates[method], route), stream=True,
                                     timeout=(timeout, timeout), verify=self.verify, proxies=self.proxies)
            return self._read(resp.raw, resp.status_code, resp.headers, self._path(route))
        except Unanswered:
            raise
        except Exception as e:
            if first and self.tap.reused and not self.tap.whole:
                raise _Unsent from e
            raise Unanswered(self._describe(e), reached=self.tap.whole) from None

    def _read(self, raw: Any, status: int, headers: Any, path: str) -> Answer:
        """The body, up to the limit: a larger one is never read, and its connection is dropped."""
        if status < 200:
            # An interim reply (103 Early Hints...) that http.client took for the final one: the
            # real reply would follow on this connection and be read as the next request's.
            raw.close()
            raise Unanswered(f"interim HTTP {status} reply and no final one read: the acceptor may have acted",
                             reached=True)
        encoding = (headers.get("Content-Encoding") or "").strip().lower() or None
        declared = headers.get("Content-Length") or ""
        length = int(declared) if declared.strip().isdigit() else None
        cut_off = length is not None and length > wire.MAX_REPLY
        body = b""
        if not cut_off and encoding in (None, "identity"):
            try:
                body = _read_at_most(raw, wire.MAX_REPLY + 1, length)
            except BaseException:
                raw.close()  # a connection broken mid-reply is never reused
                raise
            cut_off = len(body) > wire.MAX_REPLY
        if cut_off or encoding not in (None, "identity"):
            body = b""
            raw.close()  # closes the connection: the rest is never read
        raw.release_conn()
        return Answer(status, body, path, headers.get("Content-Type"), encoding, headers.get("Location"), cut_off)

    def _describe(self, e: BaseException) -> str:
        cause = describe_error(e)
        if self.proxy and any(isinstance(x, (ProxyError, urllib3.exceptions.ProxyError)) for x in chain(e)):
            # Not "refused (down)": the proxy is down, not the acceptor behind it.
            return f"proxy {visible(redacted(self.proxy))}: {'cannot connect' if cause == wire.REFUSED else cause}"
        return cause

    def abort(self) -> None:
        """Abandon this link from another thread: a request in flight on it ends now."""
        self.abandoned = self.tap.abandoned = True
        if self.busy.acquire(blocking=False):
            try:
                self.close()
            finally:
                self.busy.release()
            return
        self.tap.cut()

    def close(self) -> None:
        self.adapter.close()
        self.tap.conn = None


def whole_reply(data: bytes) -> bool:
    """`data`, the start of what a socket holds, contains a whole final reply with a
    Content-Length body, so reading it cannot wait on the network.

    Not a parser (http.client parses the reply): a conservative test that says
    False for anything but the plainest shape (an interim 1xx, chunked or
    unsized bodies, a repeated or odd Content-Length, bare LF line ends), which
    the round then leaves to a worker thread that may wait.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    status_line, *fields = data[:end].split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit() \
            or parts[1] < b"200":
        return False
    length: Optional[int] = None
    for field in fields:
        name, colon, value = field.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if not colon or b"\n" in field or name == b"transfer-encoding":
            return False
        if name == b"content-length":
            if length is not None or not value.isdigit() or len(value) > 9:
                return False
            length = int(value)
    return length is not None and len(data) - (end + 4) >= length


def _read_at_most(raw: Any, limit: int, length: Optional[int]) -> bytes:
    """The body up to `limit` bytes; raises if it ends short of its Content-Length."""
    if length is not None and length < limit:  # one read: it ends at the length or at a broken-off end
        body: bytes = raw.read(length, decode_content=False)
        if len(body) < length:
            raise http.client.IncompleteRead(body, length - len(body))
        return body
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        data = raw.read(limit - size, decode_content=False)
        if not data:  # the end; urllib3 raises here instead if the body was broken off
            break
        chunks.append(data)
        size += len(data)
    return b"".join(chunks)
