"""A scriptable acceptor double for client tests: an in-process HTTP(S) server on a free loopback port.

By default it speaks the protocol (paxos.py's rules, wire.py's replies, state
in memory); a test swaps in a behaviour to be slow, hostile, a proxy, or not
an acceptor at all. It records every request it read, so a test can say what
reached it. Tests only: the real acceptor is paxos_shell/acceptor.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Callable, Optional
from urllib.parse import parse_qs, urlsplit

from paxos_shell.core import paxos, wire
from paxos_shell.core.paxos import AcceptorState

if TYPE_CHECKING:
    from paxos_shell.net.client import Client

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    peer_port: int
    """The client's port: one per connection, so equal ports mean a kept-alive connection."""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


Behaviour = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        fake = self.server.fake
        fake.seen.append(Seen(self.command, self.path, dict(self.headers), self.client_address[1]))
        fake.behaviour(self)

    do_GET = do_POST = _handle

    def respond(self, status: int, body: bytes = b"", ctype: str = "application/json",
                headers: tuple[str, ...] = ()) -> None:
        """The whole response in one write (no Nagle stall between header and body)."""
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Type: {ctype}",
                f"Content-Length: {len(body)}", *headers]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def protocol(self) -> None:
        """What a paxos acceptor answers, with its state in memory."""
        parts = urlsplit(self.path)
        if parts.path not in (wire.PREPARE, wire.ACCEPT, wire.STATE):
            self.respond(404, wire_json(wire.error_reply(404, "no such path", parts.path)))
            return
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.respond(200, wire_json(self.server.fake.apply(parts.path, query)))

    def reset(self) -> None:
        """Close with RST (SO_LINGER 0): the peer's next send or recv fails with ECONNRESET."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True


def wire_json(body: object) -> bytes:
    return json.dumps(body).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: Fake


class Fake:
    """One fake acceptor; `behaviour(handler)` answers each request (default: the protocol)."""

    def __init__(self, behaviour: Optional[Behaviour] = None, tls: Optional[ssl.SSLContext] = None) -> None:
        self.state = AcceptorState()
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.behaviour: Behaviour = behaviour or Handler.protocol
        self.server = _Server((HOST, 0), Handler)
        self.server.fake = self
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.scheme = "https" if tls is not None else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    def apply(self, path: str, query: dict[str, str]) -> dict:
        with self.lock:
            if path == wire.STATE:
                return wire.state_reply(self.state)
            t = (paxos.on_prepare(self.state, int(query["id"])) if path == wire.PREPARE
                 else paxos.on_accept(self.state, int(query["id"]), query["value"]))
            self.state = t.state
            return wire.prepare_reply(t) if path == wire.PREPARE else wire.accept_reply(t)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def trickle(first: bytes, stop: threading.Event, every: float = 0.02,
            written: Optional[threading.Event] = None) -> Behaviour:
    """Writes the start of a reply, then one more byte every `every` seconds until stopped: a reply
    that keeps coming (a slow link, a stalled server), never letting a socket timeout fire."""

    def send(h: Handler) -> None:
        h.wfile.write(first)
        if written is not None:
            written.set()
        while not stop.wait(every):
            try:
                h.wfile.write(b" ")
            except OSError:
                break
        h.close_connection = True

    return send


def warm(client: Client, fakes: dict[int, Fake]) -> None:
    """One ordinary round to each fake (by acceptor id), so their connections are open and idle."""
    for sid, f in fakes.items():
        behaviour, f.behaviour = f.behaviour, Handler.protocol
        assert client.prepare(1, [sid]).replies[0].kind == wire.GRANTED
        f.behaviour = behaviour

