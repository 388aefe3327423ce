"""Prototype for the stack comparison: aiohttp's web server (llhttp parser, asyncio).

The same three routes as proto_h11.py, with the real AcceptorNode and durable Store,
called inline (or in one worker thread with --thread). Not the acceptor.
Run: python proto_aiohttp.py PORT DATA_DIR [--thread]
"""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from aiohttp import web

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from paxos_shell.acceptor.node import AcceptorNode
from paxos_shell.acceptor.store import Store
from paxos_shell.core import wire


async def main() -> None:
    port, data = int(sys.argv[1]), sys.argv[2]
    store = Store(data)
    node = AcceptorNode(1, store, store.open())
    pool = ThreadPoolExecutor(1) if "--thread" in sys.argv else None
    loop = asyncio.get_running_loop()

    async def run(call: Callable[[], Any]) -> web.Response:
        body = call() if pool is None else await loop.run_in_executor(pool, call)
        return web.json_response(body)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="UP\n", content_type="text/plain")

    async def state(request: web.Request) -> web.Response:
        return await run(node.snapshot)

    async def prepare(request: web.Request) -> web.Response:
        n = int(request.query["id"])
        return await run(lambda: node.prepare(n))

    app = web.Application()
    app.add_routes([web.get(wire.HEALTH, health), web.get(wire.STATE, state), web.post(wire.PREPARE, prepare)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
