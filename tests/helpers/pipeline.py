"""Pipelining clients: connections that write requests back-to-back and count the replies.

Each client writes a block of requests whenever its socket takes more, never
waiting for a reply, and reads whatever replies arrive only to count them, so the
acceptor always has a backlog from it: the load that once starved every other
client. One thread drives every client through one selector. Bounded in time and
in bytes sent; loopback only. Shared by tests/test_acceptor_fairness.py and
bench/fairness_bench.py (which runs it in its own process).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Optional

HOST = "127.0.0.1"
HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
REPLY = b"HTTP/1.1 "
"""The start of every reply: what is counted."""


class Pipeliners:
    """`n` pipelining clients of the acceptor on `port`, run from start() until stop() or a bound."""

    def __init__(self, port: int, n: int, request: bytes = HEALTH, seconds: float = 30.0,
                 max_bytes: int = 200_000_000) -> None:
        self.port, self.n = port, n
        self.block = request * max(1, 16384 // len(request))
        self.seconds, self.max_bytes = seconds, max_bytes
        self.answered = 0
        self.sent = 0
        self._tails: dict[socket.socket, bytes] = {}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> Pipeliners:
        socks = [socket.create_connection((HOST, self.port), timeout=10) for _ in range(self.n)]
        self._thread = threading.Thread(target=self._run, args=(socks,), daemon=True)
        self._thread.start()
        return self

    def wait_answered(self, count: int, timeout: float = 10.0) -> bool:
        """Until `count` replies have come back (the load is real), or False after `timeout`."""
        deadline = time.monotonic() + timeout
        while self.answered < count and time.monotonic() < deadline and self.running:
            self._stop.wait(0.01)
        return self.answered >= count

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> int:
        """Stop and close every client; the number of replies they read."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.answered

    def _run(self, socks: list[socket.socket]) -> None:
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
            self._tails[s] = b""
        deadline = time.monotonic() + self.seconds
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                for key, events in sel.select(0.05):
                    self._serve(sel, key.fileobj, events)  # type: ignore[arg-type]
        finally:
            sel.close()
            for s in socks:
                s.close()

    def _serve(self, sel: selectors.BaseSelector, s: socket.socket, events: int) -> None:
        try:
            if events & selectors.EVENT_READ:
                self._count(s, s.recv(262144))
            if events & selectors.EVENT_WRITE:
                if self.sent < self.max_bytes:
                    self.sent += s.send(self.block)
                else:
                    sel.modify(s, selectors.EVENT_READ)
        except BlockingIOError:
            pass
        except OSError:
            sel.unregister(s)

    def _count(self, s: socket.socket, data: bytes) -> None:
        """Count reply starts, one split across two reads included."""
        if not data:
            raise ConnectionResetError
        seen = self._tails[s] + data
        self.answered += seen.count(REPLY)
        self._tails[s] = seen[-(len(REPLY) - 1):]
