"""The live view's HTTP server: the page, its assets and one event stream, GET only.

Its job: serve what routes.py allows from one thread running an asyncio loop
(in the view's own process, see process.py): the page and its assets, and the
server-sent event stream under the random token. Viewers are bounded
(MAX_VIEWERS); a frame is written at once to each viewer that took the last
one, a viewer still behind gets only the newest frame once it has drained, and
one that cannot take a frame within its drain timeout is dropped. `publish`
only hands the frame to the loop and returns. It never reads a request body
and never changes the pool.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from paxos_shell.view.assets import Asset
from paxos_shell.view.routes import EVENTS, REASONS, STREAM_HEAD, BadRequest, parse_head, response, route

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
FRAME_INTERVAL = 0.05
"""At most 20 sendings a second: a round still shows within this (plus delivery) of its end."""
START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0


@dataclass(eq=False)
class _Viewer:
    writer: asyncio.StreamWriter
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    gone: bool = False
    sent: int = -1
    """The sequence number of the last frame written to it."""

    @property
    def behind(self) -> bool:
        """Some of what was written is still waiting for the kernel to take it."""
        return self.writer.transport.get_write_buffer_size() > 0


def new_token() -> str:
    """144 random bits, URL-safe: the first segment of every path the server answers."""
    return secrets.token_urlsafe(18)


class ViewServer:
    """The server in its own thread; `publish` from any thread, `close` stops it all."""

    def __init__(self, host: str, port: int, assets: Mapping[str, Asset], max_viewers: int = MAX_VIEWERS,
                 token: Optional[str] = None, drain_timeout: float = DRAIN_TIMEOUT,
                 on_viewers: Optional[Callable[[int], None]] = None, frame_interval: float = FRAME_INTERVAL) -> None:
        self.host, self.port = host, port
        self.assets = dict(assets)
        self.max_viewers = max_viewers
        self.token = token or new_token()
        self.drain_timeout = drain_timeout
        self.frame_interval = frame_interval
        self.on_viewers = on_viewers
        """Called in the loop's thread with the number of viewers, whenever it changes."""
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
        self._sent_at = float("-inf")
        self._due: Optional[asyncio.TimerHandle] = None

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
        """Keep the newest frame; send it now, or `frame_interval` after the last sending.

        A burst of commands (a script, a lesson run straight through) reaches the
        viewers as its newest picture a few times a second, not as every frame.
        """
        self._frame, self._seq = frame, self._seq + 1
        if self._due is not None:
            return  # a sending is already planned: it takes the newest frame
        assert self._loop is not None
        wait = self._sent_at + self.frame_interval - self._loop.time()
        if wait > 0:
            self._due = self._loop.call_later(wait, self._fan_out)
        else:
            self._fan_out()

    def _fan_out(self) -> None:
        """The newest frame, written at once to every viewer that has taken the last one.

        Writing here, not in each viewer's task, costs one send per viewer and no task
        switch. A viewer still behind is woken instead; its task sends it the newest
        frame once it has drained.
        """
        assert self._loop is not None and self._frame is not None
        self._due, self._sent_at = None, self._loop.time()
        for v in self._viewers:
            if v.gone or v.writer.transport.is_closing():
                continue
            if not v.behind:
                v.writer.write(self._frame)
                v.sent = self._seq
            if v.behind:
                v.wake.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        me = asyncio.current_task()
        if me is not None:
            self._handlers.add(me)
        try:
            if len(self._writers) > MAX_CONNECTIONS:
                writer.write(response(503, b"too many connections\n"))
                return
            answer = await self._answer(reader)
            if isinstance(answer, bytes):
                writer.write(answer)
                await asyncio.wait_for(writer.drain(), self.drain_timeout)
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
            return response(431, b"request head too large\n")
        except BadRequest as e:
            return response(400, f"{e}\n".encode())
        r = route(req.method, req.target, self.token, self.assets)
        if r.status == 405:
            return response(405, b"this server answers GET only\n", extra="Allow: GET\r\n")
        if req.body:
            return response(400, b"a GET has no body\n")
        if r.status != 200:
            return response(r.status, f"{REASONS[r.status].lower()}\n".encode())
        if r.asset == EVENTS:
            if len(self._viewers) >= self.max_viewers:
                return response(503, f"at most {self.max_viewers} viewers\n".encode())
            return None
        assert r.asset is not None
        a = self.assets[r.asset]
        return response(200, a.body, a.content_type)

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Send the newest frame whenever there is one this viewer has not had; bounded in time."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        viewer = _Viewer(writer)
        self._viewers.add(viewer)
        self._counted()
        watcher = asyncio.ensure_future(self._watch(reader, viewer))
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_LIFETIME
        try:
            writer.write(STREAM_HEAD)
            while not viewer.gone and loop.time() < ends:
                if self._frame is not None and viewer.sent != self._seq:
                    viewer.sent = self._seq
                    writer.write(self._frame)  # frames published meanwhile are skipped: only the newest
                if viewer.behind:
                    await asyncio.wait_for(writer.drain(), self.drain_timeout)  # too slow: dropped
                elif not await self._sleep(viewer):
                    writer.write(b": keepalive\n\n")
        finally:
            self._viewers.discard(viewer)
            self._counted()
            watcher.cancel()

    def _counted(self) -> None:
        if self.on_viewers is not None:
            self.on_viewers(len(self._viewers))

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
