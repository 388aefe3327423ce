"""Prototype for the stack comparison: h11 (sans-IO parser) on an asyncio Protocol.

Serves GET /health, GET /api/paxos/state and POST /api/paxos/prepare with the real
AcceptorNode and durable Store, enough to measure latency, idle-connection cost and
start time against proto_aiohttp.py. Not the acceptor: bench/http_stack_bench.py runs it.
Run: python proto_h11.py PORT DATA_DIR [--thread]
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

import h11

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from paxos_shell.acceptor.node import AcceptorNode
from paxos_shell.acceptor.store import Store
from paxos_shell.core import wire


class Conn(asyncio.Protocol):
    def __init__(self, node: AcceptorNode, pool: Optional[ThreadPoolExecutor]) -> None:
        self.node, self.pool = node, pool
        self.h = h11.Connection(h11.SERVER, max_incomplete_event_size=65536)
        self.busy = False

    def connection_made(self, transport: Any) -> None:
        self.t = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.h.receive_data(data)
        self.pump()

    def eof_received(self) -> None:
        self.t.close()

    def pump(self) -> None:
        while not self.busy:
            try:
                ev = self.h.next_event()
            except h11.RemoteProtocolError:
                self.t.close()
                return
            if ev is h11.NEED_DATA or ev is h11.PAUSED:
                return
            if isinstance(ev, h11.Request):
                self.req = ev
            elif isinstance(ev, h11.EndOfMessage):
                self.handle()
            elif isinstance(ev, h11.ConnectionClosed):
                self.t.close()
                return

    def handle(self) -> None:
        target = self.req.target.decode("ascii")
        path, _, query = target.partition("?")
        if path == wire.HEALTH:
            return self.reply(200, b"UP\n", b"text/plain")
        call: Callable[[], Any]
        if path == wire.STATE:
            call = self.node.snapshot
        elif path == wire.PREPARE:
            n = int(query.split("=", 1)[1])
            call = lambda: self.node.prepare(n)  # noqa: E731
        else:
            return self.reply(404, b"{}", b"application/json")
        if self.pool is None:
            return self.reply(200, json.dumps(call()).encode(), b"application/json")
        self.busy = True
        fut = asyncio.get_running_loop().run_in_executor(self.pool, call)
        fut.add_done_callback(lambda f: self.finish(f.result()))

    def finish(self, body: Any) -> None:
        self.busy = False
        self.reply(200, json.dumps(body).encode(), b"application/json")
        self.pump()

    def reply(self, status: int, data: bytes, ctype: bytes) -> None:
        head = self.h.send(h11.Response(status_code=status, headers=[
            (b"Content-Type", ctype), (b"Content-Length", str(len(data)).encode())]))
        self.t.write(head + self.h.send(h11.Data(data=data)) + self.h.send(h11.EndOfMessage()))
        if self.h.our_state is h11.MUST_CLOSE:
            self.t.close()
        else:
            self.h.start_next_cycle()


async def main() -> None:
    port, data = int(sys.argv[1]), sys.argv[2]
    store = Store(data)
    node = AcceptorNode(1, store, store.open())
    pool = ThreadPoolExecutor(1) if "--thread" in sys.argv else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Conn(node, pool), "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
