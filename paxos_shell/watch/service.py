"""The watch as a whole: one proxy per acceptor, served by one asyncio loop on a thread of its own.

Its job: bind every proxy's listening socket in the caller's thread (so a port
in use is one clear error at once), run the proxies' loop on its own thread,
so a foreign proposer is served while the shell waits at its prompt, and stop
it all (every connection closed, the thread joined) on `stop`. A Pulse thread
tells the shell's listeners (the live view) that foreign rounds came, at most
every PULSE seconds, under the session's guard. It never judges Paxos.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Callable, Mapping, Optional

from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.pool.layout import listening_socket
from paxos_shell.watch import labels
from paxos_shell.watch.proxy import Proxy, Record
from paxos_shell.watch.target import target_of

LOOPBACK = "127.0.0.1"
UPSTREAM_TIMEOUT = 10.0
"""Seconds a proxy waits for the acceptor's reply before it answers 504."""
PULSE = 0.25
STOP_TIMEOUT = 5.0


class Watch:
    """The proxies of one pool; `start` listens, `stop` ends everything it started."""

    def __init__(self, urls: Mapping[int, str], record: Record, options: Optional[ClientOptions] = None,
                 host: str = LOOPBACK, ports: Optional[labels.Ports] = None,
                 allow: tuple[labels.Network, ...] = (), timeout: float = UPSTREAM_TIMEOUT) -> None:
        self.host = host
        self.allow = allow
        opts = options or ClientOptions()
        self.proxies = {i: Proxy(i, target_of(url, opts, timeout), record, allow) for i, url in urls.items()}
        self.wanted = (ports or labels.Ports({i: 0 for i in urls})).ports
        self.ports: dict[int, int] = {}
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.thread: Optional[threading.Thread] = None
        self.servers: list[asyncio.AbstractServer] = []

    def start(self) -> Watch:
        """Listen on every proxy's port, then serve; OSError (a port in use) before anything runs."""
        socks: dict[int, socket.socket] = {}
        try:
            for i in sorted(self.proxies):
                socks[i] = listening_socket(self.host, self.wanted.get(i, 0))
        except OSError:
            for s in socks.values():
                s.close()
            raise
        self.ports = {i: s.getsockname()[1] for i, s in socks.items()}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="watch", daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(socks), self.loop).result(STOP_TIMEOUT)
        return self

    async def _serve(self, socks: dict[int, socket.socket]) -> None:
        for i, sock in socks.items():
            self.servers.append(await asyncio.get_running_loop().create_server(self.proxies[i].protocol, sock=sock))

    def url(self, acceptor: int, host: str = "") -> str:
        name = host or (LOOPBACK if self.host in ("0.0.0.0", "::", "") else self.host)
        return f"http://{f'[{name}]' if ':' in name else name}:{self.ports[acceptor]}"

    @property
    def base_port(self) -> Optional[int]:
        """P when acceptor i's proxy is on P+i-1 for every i (the paxos-server layout), else None."""
        ids = sorted(self.ports)
        base = self.ports[ids[0]] - ids[0] + 1
        return base if all(self.ports[i] == base + i - 1 for i in ids) else None

    def stop(self) -> None:
        loop, thread = self.loop, self.thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(STOP_TIMEOUT)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT)
            if not thread.is_alive():
                loop.close()
            self.loop = self.thread = None

    async def _close(self) -> None:
        for server in self.servers:
            server.close()
        for proxy in self.proxies.values():
            proxy.close()
        await asyncio.sleep(0)  # the transports' connection_lost callbacks run (and close their sockets)
        for server in self.servers:
            await server.wait_closed()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.servers = []


class Pulse:
    """Calls `notify` on a thread of its own after foreign rounds came, at most every PULSE seconds."""

    def __init__(self, notify: Callable[[], None], every: float = PULSE) -> None:
        self.notify = notify
        self.every = every
        self.due = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="watch-pulse", daemon=True)

    def start(self) -> Pulse:
        self.thread.start()
        return self

    def __call__(self) -> None:
        self.due.set()

    def _run(self) -> None:
        while not self.stopping.is_set():
            if not self.due.wait(self.every):
                continue
            self.due.clear()
            if not self.stopping.is_set():
                self.notify()
            self.stopping.wait(self.every)

    def stop(self) -> None:
        self.stopping.set()
        self.due.set()
        self.thread.join(STOP_TIMEOUT)
