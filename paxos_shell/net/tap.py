"""requests' adapter and urllib3's connection, instrumented for a Link (transport.py).

A Tap is what the connection under one Link tells about the current request:
its socket (so another thread can cut an abandoned request short), whether a
connection was opened or reused, and whether the request was written out
whole, which decides if a failed request may have reached the acceptor.

Only documented extension points are used. The connection overrides only
the public `connect()`, `request()` and `is_connected` of urllib3's
HTTPConnection; a direct acceptor's Link makes it itself
(connection_classes), and for a proxied one it is given to urllib3 the way
urllib3 documents it, as the `ConnectionCls` of the pool classes the
PoolManager makes pools from (its `pool_classes_by_scheme`, which urllib3's
own contrib.socks sets the same way), under a requests HTTPAdapter
subclass overriding its hooks (init_poolmanager, proxy_manager_for,
get_connection_with_tls_context, build_response). How the tap knows
"sent": a request goes out through `conn.request(...)`, which returns once
the request line, headers and body are written, and raises if writing
fails (urllib3's pool then swallows a broken pipe or a reset and reads on,
so the pool's own outcome cannot tell): `whole` is set right after that
call returns, on our side of it. A connect that fails (refused, timeout,
TLS) fails before `request()` writes anything. Nothing here decides what a
reply means.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any, Optional

from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry


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
        self.writing = False
        """The request has begun to be written (it may leave, whole or not)."""
        self.abandoned = False
        """Set from another thread: what has not begun to be written never will be."""
        self._lock = threading.Lock()

    def begin(self) -> None:
        self.connected = self.reused = self.whole = self.writing = False

    def check(self) -> None:
        """ConnectionAbortedError if the request was abandoned."""
        if self.abandoned:
            raise ConnectionAbortedError("abandoned before it was sent")

    def start_writing(self) -> None:
        """Called just before the request is written: ConnectionAbortedError if it was abandoned."""
        with self._lock:
            self.check()
            self.writing = True

    def abandon(self) -> bool:
        """From another thread: nothing more is to be written. Whether the request may have left
        (False: it had not begun to be written, and start_writing now refuses)."""
        with self._lock:
            self.abandoned = True
            return self.writing

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


class TappedHTTPConnection(HTTPConnection):
    """urllib3's connection, reporting its socket and its writes to the class's `tap`
    (each Link makes its own subclass: see pool_classes)."""

    tap: Tap

    then_write = False
    """Set by request() when it will connect first (plain HTTP connects inside that call)."""

    def connect(self) -> None:
        super().connect()
        self.tap.sock, self.tap.connected = self.sock, True  # with TLS, the wrapped socket
        try:
            if self.then_write:
                self.tap.start_writing()
            else:
                self.tap.check()
        except ConnectionAbortedError:  # the round gave up on it while it was connecting
            self.close()
            raise

    def request(self, *args: Any, **kwargs: Any) -> None:
        # Through urllib3's pool, HTTPS has connected just before this call; otherwise the
        # connection connects inside it, and marks the start of writing once connected.
        self.then_write = self.is_closed
        self.tap.reused = not self.is_closed and not self.tap.connected
        try:
            if not self.then_write:
                self.tap.start_writing()
            super().request(*args, **kwargs)
            self.tap.whole = True
        finally:
            self.then_write = False

    @property
    def is_connected(self) -> bool:
        """urllib3's check before reusing a kept-alive connection (readable means the acceptor
        closed it, or sent bytes after its reply), plus what TLS holds already decrypted, which
        that check cannot see: such bytes would be read as the next request's reply."""
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return False
        return bool(super().is_connected)


class TappedHTTPSConnection(TappedHTTPConnection, HTTPSConnection):
    pass


def connection_classes(tap: Tap) -> tuple[type[TappedHTTPConnection], type[TappedHTTPSConnection]]:
    """urllib3 connection classes, plain and TLS, that report to `tap`."""
    return (type("LinkHTTPConnection", (TappedHTTPConnection,), {"tap": tap}),
            type("LinkHTTPSConnection", (TappedHTTPSConnection,), {"tap": tap}))


def pool_classes(tap: Tap) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3 pool classes whose connections report to `tap`: {scheme: pool class}."""
    plain, tls = connection_classes(tap)
    return {"http": type("LinkHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
            "https": type("LinkHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls})}


class Adapter(HTTPAdapter):
    """One pool of one connection to one acceptor, whose connections report to the Link's tap.

    The pool is found once (a Link never changes its URL, TLS or proxy), the
    request-target of a direct request is its path without looking for a
    proxy again, and responses are built without cookies: nothing here keeps
    state an acceptor sent, and a round saves the per-request work.
    """

    def __init__(self, tap: Tap) -> None:
        self.pools = pool_classes(tap)
        self._pool: Any = None
        # urllib3 never sends a request again (only the Link knows whether it left) and never
        # follows a redirect: a 3xx comes back as the answer.
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=Retry(total=0, read=False, redirect=False))

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self.pools

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self.pools
        return manager

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
        if self._pool is None:
            self._pool = super().get_connection_with_tls_context(*args, **kwargs)
        return self._pool

    def request_url(self, request: PreparedRequest, proxies: Any) -> str:
        if proxies:  # through a proxy, requests decides the form (a full URL to an HTTP proxy)
            return str(super().request_url(request, proxies))
        return str(request.path_url)

    def build_response(self, req: PreparedRequest, resp: Any) -> Response:
        response = Response()
        response.status_code = resp.status
        response.headers = resp.headers  # urllib3's HTTPHeaderDict: case-insensitive already
        response.raw = resp
        response.reason = resp.reason
        response.request = req
        return response

    def close(self) -> None:
        self._pool = None
        super().close()
