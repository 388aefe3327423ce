"""The paxos-server routes: a request's method and target in, a reply out.

Routing, parameter checks, fault injection, broadcast and the Spring error shape
live here; sockets and framing do not (connection.py). The node is called inline,
in the event loop: its fsync blocks the loop for that long (about 0.13 ms with
the record store), which measured 0.1 ms faster per request than handing it to a
worker thread (two cross-thread wake-ups), and requests to one node are serialised
anyway. A plain request is answered synchronously; only broadcast and injected
delays return a coroutine. A request never raises out of here: every failure is
an error reply.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, Union
from urllib.parse import parse_qs, urlsplit

from paxos_shell.acceptor.broadcast import Peers
from paxos_shell.acceptor.faults import Faults
from paxos_shell.acceptor.framing import JSON, TEXT
from paxos_shell.acceptor.node import AcceptorNode, PersistError
from paxos_shell.core import wire
from paxos_shell.core.urls import is_loopback


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
    return is_loopback(address.split("%")[0])  # ::ffff:127.0.0.1 too, on a dual-stack socket


def failure(e: Exception, raw_path: str) -> Reply:
    """The error reply for an exception from a route: the client's fault, the disk's, or a bug."""
    if isinstance(e, wire.BadParameter):
        return error(400, str(e), raw_path)
    if isinstance(e, PersistError):
        return error(500, str(e), raw_path)
    return error(500, f"internal error: {e!r}", raw_path)  # a bug must cost one request, not the connection


BROADCASTS = (wire.BROADCAST_STATE, wire.BROADCAST_PREPARE, wire.BROADCAST_ACCEPT)


def _not_ignored(body: dict) -> bool:
    return body.get("ignored") is False


class App:
    """One acceptor's routes over its node, its peers and its injected faults."""

    def __init__(self, node: AcceptorNode, peers: Peers, faults: Optional[Faults]) -> None:
        self.node = node
        self.peers = peers
        self.faults = faults
        recovered = node.store.recovered
        self.recovered = f"recovered: {recovered}\n" if recovered else ""
        """/health's last line: what start-up recovered from, if anything."""

    def handle(self, method: str, target: str, client: str) -> Union[Reply, Awaitable[Reply]]:
        """The reply now, or (broadcast, injected faults) a coroutine that makes it."""
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
            return self._health()
        if self.faults is not None and (self.faults.delay_ms or self.faults.drop_requests or self.faults.drop_replies):
            return self._with_faults(path, params, parts)
        if path in BROADCASTS:
            return self._guarded_async(self._broadcast(path, params, parts.query), parts.path)
        return self._guarded(lambda: self._route(path, params), parts.path)

    def _health(self) -> Reply:
        """UP and 200 while a grant can be saved; DOWN and 503 (Spring Boot's status for DOWN) with
        the reason while it cannot, so neither an engineer nor an orchestrator trusts an acceptor
        that refuses every grant."""
        trouble = self.node.store.trouble()
        if trouble is None:
            return Reply(200, f"UP acceptor {self.node.node_id}\n{self.recovered}", TEXT)
        return Reply(503, f"DOWN acceptor {self.node.node_id}\nreason: {trouble}\n{self.recovered}", TEXT)

    async def _with_faults(self, path: str, params: dict[str, str], parts: Any) -> Reply:
        assert self.faults is not None
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        if self.faults.drop_request():
            return DROPPED
        if path in BROADCASTS:
            reply = await self._guarded_async(self._broadcast(path, params, parts.query), parts.path)
        else:
            reply = self._guarded(lambda: self._route(path, params), parts.path)
        return DROPPED if self.faults.drop_reply() else reply

    @staticmethod
    def _guarded(route: Callable[[], Reply], raw_path: str) -> Reply:
        try:
            return route()
        except Exception as e:
            return failure(e, raw_path)

    @staticmethod
    async def _guarded_async(route: Awaitable[Reply], raw_path: str) -> Reply:
        try:
            return await route
        except Exception as e:
            return failure(e, raw_path)

    def _route(self, path: str, params: dict[str, str]) -> Reply:
        node = self.node
        if path == wire.PREPARE:
            return Reply(200, node.prepare(wire.parse_id(params.get("id"))))
        if path == wire.ACCEPT:
            n, v = wire.parse_id(params.get("id")), wire.parse_value(params.get("value"))
            return Reply(200, node.accept(n, v))
        assert path == wire.STATE, path
        return Reply(200, node.snapshot())

    async def _broadcast(self, path: str, params: dict[str, str], query: str) -> Reply:
        """Apply here first (a failure here fails the request and asks no peer), then at every peer."""
        node, peers = self.node, self.peers
        if path == wire.BROADCAST_STATE:
            return Reply(200, await peers.broadcast(node.node_id, node.snapshot(), wire.STATE, "", lambda b: True))
        if path == wire.BROADCAST_PREPARE:
            mine = node.prepare(wire.parse_id(params.get("id")))
            return Reply(200, await peers.broadcast(node.node_id, mine, wire.PREPARE, query, _not_ignored))
        assert path == wire.BROADCAST_ACCEPT, path
        mine = node.accept(wire.parse_id(params.get("id")), wire.parse_value(params.get("value")))
        return Reply(200, await peers.broadcast(node.node_id, mine, wire.ACCEPT, query, _not_ignored))

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
