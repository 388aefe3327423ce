"""The live view's HTTP server: the page, its assets and one event stream, GET only.

Its job: answer GET of the page, its assets and the server-sent event stream,
under a random token that is the first segment of every path, from one
background thread running an asyncio loop; refuse every other method (405),
a missing or wrong token (403) and any other path (404). Viewers are bounded
(MAX_VIEWERS); each gets at most one frame in flight and then only the newest
one, and a viewer that cannot take a frame within DRAIN_TIMEOUT is dropped, so
a slow laptop never slows the shell: `publish` only hands the newest frame to
the loop and returns. It never reads a request body and never changes the pool.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import socket
import threading
from dataclasses import dataclass, field
from typing import Mapping, Optional

from .assets import PAGE, Asset

MAX_VIEWERS = 200
MAX_CONNECTIONS = MAX_VIEWERS + 32
"""Viewers, plus page and asset requests in flight; beyond this a connection gets 503."""
HEAD_LIMIT = 8192
HEAD_TIMEOUT = 5.0
DRAIN_TIMEOUT = 5.0
KEEPALIVE = 15.0
"""A comment line this often: a viewer that left is noticed, proxies keep the stream open."""
STREAM_LIFETIME = 3600.0
"""A stream ends after an hour and the browser reconnects (EventSource retries): no loop runs forever."""
STREAM_SNDBUF = 256 * 1024
"""Kernel send buffer of an event stream: a stuck viewer holds this much (plus one frame), no more."""
WATCH_LIMIT = 65536
"""Bytes a viewer may send on its stream before it is dropped (it should send none)."""
START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0
EVENTS = "events"
RETRY_MS = 1000

SECURITY_HEADERS = (
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n"
)
"""The page runs only its own script and styles, and the token never leaves in a Referer."""

REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           431: "Request Header Fields Too Large", 503: "Service Unavailable"}


class BadRequest(ValueError):
    """A request head that is not HTTP/1.x."""


@dataclass(frozen=True)
class Route:
    """What a request gets: a status, and the asset or stream to send with a 200."""

    status: int
    asset: Optional[str] = None


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    body: bool
    """It announces a body (which is never read: a GET has none)."""


def parse_head(head: bytes) -> Request:
    """The method and target of a request head, and whether a body follows; BadRequest if malformed."""
    lines = head.split(b"\r\n")
    parts = lines[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        raise BadRequest("not an HTTP/1.x request line")
    body = False
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest("a header line without a colon")
        key = name.strip().lower()
        body = body or key == b"transfer-encoding" or (key == b"content-length" and value.strip() != b"0")
    return Request(parts[0], parts[1], body)


def route(method: str, target: str, token: str, assets: Mapping[str, Asset]) -> Route:
    """GET /TOKEN/ (the page), /TOKEN/NAME (an asset), /TOKEN/events (the stream); nothing else."""
    if method != "GET":
        return Route(405)
    path = target.split("?", 1)[0]
    parts = path.split("/")
    if len(parts) < 2 or not hmac.compare_digest(parts[1].encode(), token.encode()):
        return Route(403)
    if len(parts) != 3:
        return Route(404)
    name = parts[2] or PAGE
    if name == EVENTS or name in assets:
        return Route(200, name)
    return Route(404)


def sse_frame(seq: int, data: str) -> bytes:
    """One server-sent event; `data` must be one line (JSON from text.json_dumps is)."""
    if "\n" in data or "\r" in data:
        raise ValueError("an event's data must be one line")
    return f"id: {seq}\ndata: {data}\n\n".encode()


def _response(status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", extra: str = "") -> bytes:
    head = (f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{SECURITY_HEADERS}{extra}Connection: close\r\n\r\n")
    return head.encode() + body


STREAM_HEAD = (f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n{SECURITY_HEADERS}"
               f"Connection: close\r\n\r\nretry: {RETRY_MS}\n\n").encode()


@dataclass(eq=False)
class _Viewer:
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    gone: bool = False


class ViewServer:
    """The server in its own thread; `publish` from any thread, `close` stops it all."""

    def __init__(self, host: str, port: int, assets: Mapping[str, Asset], max_viewers: int = MAX_VIEWERS) -> None:
        self.host, self.port = host, port
        self.assets = dict(assets)
        self.max_viewers = max_viewers
        self.token = secrets.token_urlsafe(18)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server: Optional[asyncio.AbstractServer] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._viewers: set[_Viewer] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._stopping: Optional[asyncio.Future[None]] = None
        self._frame: Optional[bytes] = None
        self._seq = 0

    # -- from the shell's thread -------------------------------------------------------------

    def start(self) -> None:
        """Listen (port 0: a free one) and serve from a new thread; OSError if it cannot listen."""
        self._thread = threading.Thread(target=self._run, name="paxos-view", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise OSError("the live view's server did not start")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT)
            raise self._error

    def publish(self, frame: bytes) -> None:
        """Hand the newest frame to the loop and return at once: never waits on a viewer."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._offer, frame)
        except RuntimeError:
            pass  # the loop closed in between: the view is stopping

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def close(self) -> None:
        """Stop serving, disconnect every viewer and end the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            try:
                loop.call_soon_threadsafe(self._shutdown)
            except RuntimeError:
                pass
            thread.join(STOP_TIMEOUT)
        self._thread = None

    # -- in the loop's thread -----------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(asyncio.start_server(
                self._handle, self.host, self.port, limit=HEAD_LIMIT, reuse_address=True))
            self.port = self._server.sockets[0].getsockname()[1]
            self._loop = loop
        except BaseException as e:  # reported to start(), in the shell's thread
            self._error = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._finish(loop)

    def _finish(self, loop: asyncio.AbstractEventLoop) -> None:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in tasks:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()

    def _shutdown(self) -> None:
        self._stopping = asyncio.ensure_future(self._stop())  # kept: a task nobody holds may be collected

    async def _stop(self) -> None:
        """Refuse new connections, end every stream and answer, then stop the loop."""
        if self._server is not None:
            self._server.close()
        for v in list(self._viewers):
            v.gone = True
            v.wake.set()
        for w in list(self._writers):
            w.close()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=STOP_TIMEOUT / 2)
        asyncio.get_running_loop().stop()

    def _offer(self, frame: bytes) -> None:
        self._frame, self._seq = frame, self._seq + 1
        for v in self._viewers:
            v.wake.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        me = asyncio.current_task()
        if me is not None:
            self._handlers.add(me)
        try:
            if len(self._writers) > MAX_CONNECTIONS:
                writer.write(_response(503, b"too many connections\n"))
                return
            answer = await self._answer(reader)
            if isinstance(answer, bytes):
                writer.write(answer)
                await asyncio.wait_for(writer.drain(), DRAIN_TIMEOUT)
            else:
                await self._stream(reader, writer)
        except (ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass  # the peer left or was too slow: nothing to answer
        except asyncio.CancelledError:
            pass  # the server is stopping; nothing awaits this task
        finally:
            self._writers.discard(writer)
            if me is not None:
                self._handlers.discard(me)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> Optional[bytes]:
        """The bytes to answer with, or None for the event stream."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            req = parse_head(head)
        except asyncio.LimitOverrunError:
            return _response(431, b"request head too large\n")
        except BadRequest as e:
            return _response(400, f"{e}\n".encode())
        r = route(req.method, req.target, self.token, self.assets)
        if r.status == 405:
            return _response(405, b"this server answers GET only\n", extra="Allow: GET\r\n")
        if req.body:
            return _response(400, b"a GET has no body\n")
        if r.status != 200:
            return _response(r.status, f"{REASONS[r.status].lower()}\n".encode())
        if r.asset == EVENTS:
            if len(self._viewers) >= self.max_viewers:
                return _response(503, f"at most {self.max_viewers} viewers\n".encode())
            return None
        assert r.asset is not None
        a = self.assets[r.asset]
        return _response(200, a.body, a.content_type)

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Send the newest frame whenever there is one this viewer has not had; bounded in time."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        viewer = _Viewer()
        self._viewers.add(viewer)
        watcher = asyncio.ensure_future(self._watch(reader, viewer))
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_LIFETIME
        try:
            writer.write(STREAM_HEAD)
            sent = -1
            while not viewer.gone and loop.time() < ends:
                if self._frame is not None and self._seq != sent:
                    sent = self._seq
                    writer.write(self._frame)  # frames published meanwhile are skipped: only the newest
                elif not await self._sleep(viewer):
                    writer.write(b": keepalive\n\n")
                await asyncio.wait_for(writer.drain(), DRAIN_TIMEOUT)
        finally:
            self._viewers.discard(viewer)
            watcher.cancel()

    async def _sleep(self, viewer: _Viewer) -> bool:
        """Until a new frame (True) or the keep-alive time (False)."""
        viewer.wake.clear()
        try:
            await asyncio.wait_for(viewer.wake.wait(), KEEPALIVE)
            return True
        except asyncio.TimeoutError:
            return False

    async def _watch(self, reader: asyncio.StreamReader, viewer: _Viewer) -> None:
        """Notice a viewer that left (end of stream), or one that talks too much."""
        got = 0
        try:
            while got < WATCH_LIMIT:
                chunk = await reader.read(4096)
                if not chunk:
                    break
                got += len(chunk)
        except ConnectionError:
            pass
        viewer.gone = True
        viewer.wake.set()
