"""requests' adapter and urllib3's connection, instrumented for a Link (transport.py).

A Tap is what the connection under one Link tells about the current request:
its socket (so another thread can cut an abandoned request short), whether a
connection was opened or reused, and whether the request was written out
whole, which decides if a failed request may have reached the acceptor. The
adapter holds one pool of one connection and builds replies without a cookie
jar. Nothing here decides what a reply means.
"""

from __future__ import annotations

import socket
from typing import Any, Optional

from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from urllib3.connection import HTTPConnection, HTTPSConnection


class Tap:
    """What the connection under one Link did during the current request, as it tells it."""

    def __init__(self) -> None:
        self.sock: Optional[socket.socket] = None
        self.connected = False
        """A connection was opened for this request."""
        self.reused = False
        """The request went out on a connection opened for an earlier one (kept alive)."""
        self.whole = False
        """The request was written out whole: it may have reached the acceptor."""
        self.abandoned = False
        """Set from another thread: what has not been sent yet never will be."""
        self.conn: Optional[_TappedHTTP] = None
        """The connection the adapter's pool opened last (one at a time: the pool holds one)."""

    def begin(self) -> None:
        self.connected = self.reused = self.whole = False

    def cut(self) -> None:
        """Shut the socket down from another thread: a blocked send or recv returns now."""
        sock = self.sock
        if sock is None:
            return
        try:
            # socket.socket's own shutdown, not SSLSocket's (which would drop
            # its TLS state under the thread still reading it).
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class _TappedHTTP(HTTPConnection):
    """urllib3's connection, reporting its socket and its writes to a Tap."""

    def __init__(self, *args: Any, tap: Tap, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tap = tap
        tap.conn = self

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.tap.sock, self.tap.connected = sock, True
        if self.tap.abandoned:  # the round gave up on it while it was connecting
            sock.close()
        self._unless_abandoned()
        return sock

    def _unless_abandoned(self) -> None:
        if self.tap.abandoned:
            raise ConnectionAbortedError("abandoned before it was sent")

    def connect(self) -> None:
        super().connect()
        self.tap.sock = self.sock  # with TLS, the wrapped socket (the plain one is detached)

    def request(self, *args: Any, **kwargs: Any) -> None:
        # urllib3 swallows a broken pipe here and reads on; the tap keeps the
        # fact that the request did not leave whole.
        self._unless_abandoned()
        # Plain HTTP connects inside this call (no socket yet); HTTPS has connected just before.
        self.tap.reused = self.sock is not None and not self.tap.connected
        super().request(*args, **kwargs)
        self.tap.whole = True


class _TappedHTTPS(_TappedHTTP, HTTPSConnection):
    pass


class _Response(Response):
    """requests' Response without its cookie jar and the rest of its set-up: the adapter fills it."""

    def __init__(self) -> None:
        # Response.__init__ is not called on purpose: it makes a cookie jar per reply.
        self._content = False
        self._content_consumed = False
        self.history = []
        self.encoding = None


class _Adapter(HTTPAdapter):
    """One pool of one connection to one acceptor, whose connections report to the Link's tap.

    The pool is found once (a Link never changes its URL, TLS or proxy), and
    responses are built without cookies: nothing here keeps state an acceptor
    sent, and a round saves the per-request work.
    """

    def __init__(self, tap: Tap, origin: Optional[str]) -> None:
        self.tap = tap
        self.origin = origin
        """`scheme://[userinfo@]host:port` of every URL sent, or None through a proxy."""
        self._pool: Any = None
        super().__init__(pool_connections=1, pool_maxsize=1)

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
        if self._pool is None:
            pool = super().get_connection_with_tls_context(*args, **kwargs)
            pool.ConnectionCls = _TappedHTTPS if pool.scheme == "https" else _TappedHTTP
            pool.conn_kw["tap"] = self.tap
            self._pool = pool
        return self._pool

    def request_url(self, request: PreparedRequest, proxies: Any) -> str:
        if self.origin is None:  # through a proxy: requests decides the form
            return str(super().request_url(request, proxies))
        return (request.url or "")[len(self.origin):] or "/"

    def build_response(self, req: PreparedRequest, resp: Any) -> Response:
        response = _Response()
        response.status_code = resp.status
        response.headers = resp.headers  # urllib3's HTTPHeaderDict: case-insensitive already
        response.raw = resp
        response.reason = resp.reason
        response.request = req
        return response

    def close(self) -> None:
        self._pool = None
        super().close()
