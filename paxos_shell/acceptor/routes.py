"""The paxos-server routes: a request's method and target in, a reply out.

Routing, parameter checks, fault injection, broadcast and the Spring error shape
live here; sockets and framing do not (connection.py). The node's rules and its
fsync run in one worker thread, never in the event loop: a slow disk then delays
only the requests that wait for it, while /health, new connections and every
deadline keep being served (the hop costs about 0.05 ms; see docs/performance.md).
A request never raises out of here: every failure is an error reply.
"""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

from .. import wire
from .broadcast import Peers
from .faults import Faults
from .framing import JSON, TEXT
from .node import AcceptorNode, PersistError


@dataclass(frozen=True)
class Reply:
    """What to answer: a status and a JSON body (or text for /health); `drop` answers nothing."""

    status: int
    body: Any
    content_type: str = JSON
    drop: bool = False

    @property
    def outcome(self) -> str:
        """'granted' or 'ignored' for a protocol reply, else '' (for the request log)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("ignored"), bool):
            return "ignored" if self.body["ignored"] else "granted"
        return ""


DROPPED = Reply(0, None, drop=True)


def error(status: int, message: str, path: str) -> Reply:
    return Reply(status, wire.error_reply(status, message, path))


def admin_allowed(address: str) -> bool:
    """Fault injection is for lessons on this machine: loopback clients only."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _not_ignored(body: dict) -> bool:
    return body.get("ignored") is False


class App:
    """One acceptor's routes over its node, its peers and its injected faults."""

    def __init__(self, node: AcceptorNode, peers: Peers, faults: Optional[Faults], worker: Executor) -> None:
        self.node = node
        self.peers = peers
        self.faults = faults
        self.worker = worker

    async def handle(self, method: str, target: str, client: str) -> Reply:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        if path == wire.ADMIN_FAULTS and self.faults is not None:
            return self._admin(method, parts.query, client, parts.path)
        allowed = wire.ROUTES.get(path)
        if allowed is None:
            return error(404, f"no route {path}", parts.path)
        if method != allowed and not (method == "HEAD" and allowed == "GET"):
            return error(405, f"{path} takes {allowed}, not {method}", parts.path)
        try:
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True, errors="strict").items()}
        except UnicodeDecodeError:
            return error(400, "query string is not valid UTF-8", parts.path)
        if path == wire.HEALTH:
            return Reply(200, f"UP acceptor {self.node.node_id}\n", TEXT)
        if self.faults is not None:
            if self.faults.delay_ms:
                await asyncio.sleep(self.faults.delay_ms / 1000)
            if self.faults.drop_request():
                return DROPPED
        try:
            reply = await self._route(path, params, parts.query)
        except wire.BadRequest as e:
            return error(400, str(e), parts.path)
        except PersistError as e:
            return error(500, str(e), parts.path)
        except Exception as e:  # a bug must cost one request, not the connection
            return error(500, f"internal error: {e!r}", parts.path)
        if self.faults is not None and self.faults.drop_reply():
            return DROPPED
        return reply

    async def _call(self, fn: Callable[..., dict], *args: Any) -> dict:
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    async def _route(self, path: str, params: dict[str, str], query: str) -> Reply:
        node = self.node
        if path == wire.PREPARE:
            return Reply(200, await self._call(node.prepare, wire.parse_id(params.get("id"))))
        if path == wire.ACCEPT:
            n, v = wire.parse_id(params.get("id")), wire.parse_value(params.get("value"))
            return Reply(200, await self._call(node.accept, n, v))
        if path == wire.STATE:
            return Reply(200, await self._call(node.snapshot))
        if path == wire.BROADCAST_STATE:
            return Reply(200, await self.peers.broadcast(node.node_id, self._call(node.snapshot), wire.STATE, "",
                                                         lambda b: True))
        if path == wire.BROADCAST_PREPARE:
            own = self._call(node.prepare, wire.parse_id(params.get("id")))
            return Reply(200, await self.peers.broadcast(node.node_id, own, wire.PREPARE, query, _not_ignored))
        if path == wire.BROADCAST_ACCEPT:
            n, v = wire.parse_id(params.get("id")), wire.parse_value(params.get("value"))
            own = self._call(node.accept, n, v)
            return Reply(200, await self.peers.broadcast(node.node_id, own, wire.ACCEPT, query, _not_ignored))
        raise AssertionError(path)

    def _admin(self, method: str, query: str, client: str, raw_path: str) -> Reply:
        if not admin_allowed(client):
            return error(404, f"no route {wire.ADMIN_FAULTS}", raw_path)
        assert self.faults is not None
        if method == "POST":
            try:
                self.faults.update({k: v[-1] for k, v in parse_qs(query).items()})
            except ValueError as e:
                return error(400, str(e), raw_path)
        elif method != "GET":
            return error(405, f"{wire.ADMIN_FAULTS} takes GET or POST", raw_path)
        return Reply(200, self.faults.as_dict())
