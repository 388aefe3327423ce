"""HTTP to one acceptor: a kept-alive connection, TLS, credentials, proxies, bounded replies.

A Link is how a round asks one acceptor, from its courier thread (and, on an
open connection, writes the request first from the round's thread:
write_ahead). A direct acceptor is asked on a urllib3 HTTPConnection the Link
keeps, through the connection's documented `request()` and `getresponse()`
(the two calls urllib3's own pool makes, without the pool's per-request
bookkeeping, which cost a fifth of each request's CPU: docs/performance.md);
before reusing it the Link makes the pool's check, `is_connected`. An
acceptor behind a proxy is asked through requests' HTTPAdapter, which decides
the proxied request's form and the proxy's credentials. requests prepares the headers
and credentials of both (PreparedRequest, once per Link). A tap on the
connection (tap.py) records the socket, so another thread can cut an
abandoned request short, and whether the request was written out whole,
which is what decides if a failed request may have reached the acceptor,
and if one that never left may be sent again (once). A reply body is read
through urllib3's streaming response, up to wire.MAX_REPLY + 1 bytes and
never further; a connection whose reply was not read to its end is closed,
never reused. Redirects are never followed, cookies never kept. Only the
documented exceptions of requests and urllib3 (and the OSError and
http.client errors they wrap) mean "no answer"; anything else is a bug and
surfaces as one. This module never classifies a reply (wire.interpret does)
and never puts a URL in a cause, except a proxy's, redacted.
"""

from __future__ import annotations

import http.client
import socket
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import urllib3
from requests.auth import HTTPBasicAuth
from requests.exceptions import ProxyError, RequestException
from requests.models import PreparedRequest
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies, select_proxy

from paxos_shell.core import wire
from paxos_shell.core.text import visible
from paxos_shell.core.urls import check_url, is_loopback, redacted
from paxos_shell.net.causes import chain, describe_error
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.net.tap import Adapter, Tap, TappedHTTPConnection, connection_classes

__all__ = ["Answer", "Link", "Unanswered"]

HEADERS = {"User-Agent": "paxos-shell", "Accept": "application/json", "Accept-Encoding": "identity"}
"""Sent with every request, before the user's own --header options (which may replace them)."""

METHODS = ("GET", "POST")
FAILURES = (RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
"""What requests and urllib3 document as a request that got no answer (they wrap the socket's
OSError and http.client's errors; a few pass one through unwrapped). Anything else is a bug."""


def _template(method: str, base: str, headers: dict[str, str], auth: Optional[HTTPBasicAuth]) -> PreparedRequest:
    """A request to the acceptor's base URL, headers and credentials in place, prepared once."""
    req = PreparedRequest()
    req.prepare(method=method, url=base, headers=headers, auth=auth)
    req.url = (req.url or base).rstrip("/")
    return req


def _request(template: PreparedRequest, route: str) -> PreparedRequest:
    """The template's request to `route` (already percent-encoded by the client).

    PreparedRequest's documented attributes are set directly: preparing the
    method, URL, headers and credentials again for each request costs a round
    more than the rest of requests' part in it.
    """
    req = PreparedRequest()
    req.method, req.url, req.body = template.method, f"{template.url}{route}", None
    req.headers = template.headers.copy()
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
        self.prefix = parts.path.rstrip("/")
        auth = HTTPBasicAuth(*options.auth) if options.auth else None  # else any user:pass@ in the URL
        base = url.rstrip("/")
        self.templates = {m: _template(m, base, {**HEADERS, **dict(options.headers)}, auth) for m in METHODS}
        self.verify: Any = False if options.insecure else (options.ca_bundle or True)
        loopback = is_loopback(parts.hostname or "")
        self.proxies: dict[str, str] = {} if options.no_proxy or loopback else get_environ_proxies(url)
        self.proxy: Optional[str] = select_proxy(url, self.proxies)
        self.tap = Tap()
        self.adapter = Adapter(self.tap)
        """Proxied requests only: requests decides their form and the proxy's credentials."""
        self.plain, self.tls = connection_classes(self.tap)
        self.conn: Optional[TappedHTTPConnection] = None
        """The kept-alive connection of a direct (not proxied) acceptor."""
        self.target = (self.templates["GET"].path_url or "/").partition("?")[0].rstrip("/")
        """The request-target's path before the route: the base URL's path, as requests encodes it."""
        if options.insecure:
            # The user asked for it and the shell says so; one warning per request would bury the output.
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self.busy = threading.Lock()
        self.abandoned = False
        self.ahead = False
        """A request was written ahead (write_ahead) and its reply not read yet: it may have acted."""
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

    def hand_out(self) -> None:
        """A round's request is about to be handed out on this link: from here on, what the tap
        says (and so abort's answer) is about it, never about the request before."""
        if self.busy.acquire(blocking=False):  # else a courier is on it (never, between rounds)
            try:
                self.tap.begin()
            finally:
                self.busy.release()

    def write_ahead(self, method: str, route: str) -> bool:
        """On the round's thread, before the courier runs: write the request now on the kept-alive
        connection, if it takes it at once; the courier's `call` then only reads the reply. False:
        nothing was written whole (so the acceptor cannot have acted) and `call` sends it anew.

        Why: the round's requests, written one after another from one thread, reach
        their acceptors together; each handed to its courier, each waited for its
        thread to be scheduled first (0.5 ms a round on 5: docs/performance.md).
        Only a connection already open is written on, and without waiting (a
        timeout of 0): connecting, an acceptor behind a proxy, or a write the
        socket cannot take now is left to the courier, whose wait can be cut short.
        """
        conn = self.conn
        if self.proxy or conn is None or conn.is_closed or self.abandoned or not self.busy.acquire(blocking=False):
            return False
        try:
            if not conn.is_connected:  # the acceptor closed it: the courier opens a new one
                conn.close()
                return False
            self.tap.begin()
            conn.timeout = 0.0
            try:
                self.ahead = True  # set first: a Ctrl-C just after the write must still find it said
                self._send(conn, method, route)
            except FAILURES:
                self.ahead = False  # not written whole: what left of it cannot be acted on
                conn.close()  # never reused after a failure
                self.tap.begin()  # nothing that can be acted on has left: the tap says so
                return False
            except BaseException:
                self.ahead = self.tap.writing  # Ctrl-C mid-write: it may have left
                conn.close()
                raise
            return True
        finally:
            self.busy.release()

    def call(self, method: str, route: str, timeout: float) -> Answer:
        """One request (or the reply to the one written ahead); Unanswered if no HTTP answer came.
        `route` is the path and query."""
        with self.busy:
            try:
                try:
                    return self._attempt(method, route, timeout, first=True)
                except _Unsent:
                    # The acceptor closed the idle connection before our request
                    # left whole, so it cannot have acted on it: send it again, once.
                    return self._attempt(method, route, timeout, first=False)
            finally:
                self.ahead = False
                if self.abandoned:
                    self.close()

    def _attempt(self, method: str, route: str, timeout: float, first: bool) -> Answer:
        conn: Optional[TappedHTTPConnection] = None
        try:
            if self.ahead and self.conn is not None:
                conn = self.conn
                conn.timeout = timeout  # every read of the reply (getresponse applies it)
            elif self.proxy:
                self.tap.begin()
                resp = self.adapter.send(_request(self.templates[method], route), stream=True,
                                         timeout=(timeout, timeout), verify=self.verify, proxies=self.proxies)
                return self._read(resp.raw, resp.status_code, resp.headers, self._path(route), resp.raw.close)
            else:
                self.tap.begin()
                conn = self._connection(timeout)
                self._send(conn, method, route)
            raw = conn.getresponse()
            return self._read(raw, raw.status, raw.headers, self._path(route), conn.close)
        except BaseException as e:
            if conn is not None:
                conn.close()  # never reused after a failure, as urllib3's pool does
            if not isinstance(e, FAILURES):
                raise
            if first and self.tap.reused and not self.tap.whole:
                raise _Unsent from e
            raise Unanswered(self._describe(e), reached=self.tap.whole) from None

    def _connection(self, timeout: float) -> TappedHTTPConnection:
        """The kept-alive connection, or a new one (it connects when the request is written).

        A kept-alive connection the acceptor has closed, or sent bytes on after
        its reply, is dropped first: urllib3's documented `is_connected`, the
        check its own pool makes before reusing a connection.
        """
        conn = self.conn
        if conn is not None and not conn.is_closed and not conn.is_connected:
            conn.close()
        if conn is None:
            conn = self.conn = self._new_connection()
        conn.timeout = timeout  # for the connect, the write and every read of the reply
        return conn

    def _new_connection(self) -> TappedHTTPConnection:
        """A urllib3 connection to the acceptor, TLS verified as requests would verify it."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.scheme != "https":
            return self.plain(host, parts.port or 80)
        port = parts.port or 443
        if self.verify is False:
            return self.tls(host, port, cert_reqs="CERT_NONE")
        bundle = self.verify if isinstance(self.verify, str) else DEFAULT_CA_BUNDLE_PATH  # --ca-bundle, else certifi's
        return self.tls(host, port, cert_reqs="CERT_REQUIRED", ca_certs=bundle)

    def _send(self, conn: TappedHTTPConnection, method: str, route: str) -> None:
        """Write the request with urllib3's documented `request` (the reply is read with
        `getresponse`: the two calls its pool makes), the body left to read from the stream."""
        conn.request(method, self.target + route, headers=self.templates[method].headers,
                     preload_content=False, decode_content=False)

    def _path(self, route: str) -> str:
        """The path a reply is said to come from: the base URL's path, then the route's, no query."""
        return self.prefix + route.partition("?")[0]

    def _read(self, raw: Any, status: int, headers: Any, path: str, drop: Callable[[], None]) -> Answer:
        """The body, up to the limit: a larger one is never read, and its connection is dropped."""
        if status < 200:
            # An interim reply (103 Early Hints...) that http.client took for the final one: the
            # real reply would follow on this connection and be read as the next request's.
            drop()
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
                drop()  # a connection broken mid-reply is never reused
                raise
            cut_off = len(body) > wire.MAX_REPLY
        if cut_off or encoding not in (None, "identity"):
            body = b""
            drop()  # closes the connection: the rest is never read
        raw.release_conn()
        return Answer(status, body, path, headers.get("Content-Type"), encoding, headers.get("Location"), cut_off)

    def _describe(self, e: BaseException) -> str:
        cause = describe_error(e)
        if self.proxy and any(isinstance(x, (ProxyError, urllib3.exceptions.ProxyError)) for x in chain(e)):
            # Not "refused (down)": the proxy is down, not the acceptor behind it.
            return f"proxy {visible(redacted(self.proxy))}: {'cannot connect' if cause == wire.REFUSED else cause}"
        return cause

    def abort(self) -> bool:
        """Abandon this link from the round's thread: a request in flight on it ends now. Whether
        the request handed out last (hand_out) may have left: False only if it never began to be
        written, and now never will be. It may have been written ahead, or written and answered
        by a courier that has not yet handed the reply to the round: both may have acted."""
        self.abandoned = True
        may_have_left = self.tap.abandon()
        if self.busy.acquire(blocking=False):  # no courier is on it: nothing is being written now
            try:
                self.ahead = False  # a courier yet to start takes the path that refuses to write
                self.close()
            finally:
                self.busy.release()
        else:
            self.tap.cut()
        return may_have_left

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.adapter.close()

    @property
    def sock(self) -> Optional[socket.socket]:
        """The socket of the open connection, if any (tests watch what arrives on it)."""
        sock = self.tap.sock
        return sock if sock is not None and sock.fileno() != -1 else None


def _read_at_most(raw: Any, limit: int, length: Optional[int]) -> bytes:
    """The body up to `limit` bytes, through urllib3's streaming read; raises if it ends short of
    its Content-Length (urllib3 returns a short read as it is)."""
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
