"""The acceptor's HTTP front: the paxos-server REST API on the standard library.

Python's stock server answers a reused connection in ~40 ms because headers
and body leave in two small writes that Nagle's algorithm holds back for the
client's delayed ACK. Here every response is one write on a TCP_NODELAY
socket, which keeps keep-alive round trips well under a millisecond.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

from .. import wire
from .faults import Faults
from .node import AcceptorNode, PersistError

PEER_TIMEOUT = 0.3
"""How long a broadcast waits for a peer: short, so one dead peer costs little."""

IDLE_TIMEOUT = 60
"""Seconds a silent connection is kept; a client that never sends is dropped."""

MAX_BODY = 65536


class AcceptorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        node: AcceptorNode,
        peers: Optional[dict[int, str]] = None,
        faults: Optional[Faults] = None,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.node = node
        self.peers = dict(peers or {})
        self.faults = faults
        self.log = log
        self._fanout = ThreadPoolExecutor(max_workers=8, thread_name_prefix="broadcast")
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that misbehaves costs one log line, never a traceback."""
        if self.log:
            err = sys.exc_info()[1]
            self.log(f"{client_address[0]} connection error: {err!r}")

    def server_close(self) -> None:
        super().server_close()
        self._fanout.shutdown(wait=False, cancel_futures=True)

    def broadcast(self, path: str, query: str, own: Callable[[], dict], keep: Callable[[dict], bool]) -> dict:
        """Ask every peer concurrently and keep what answered within PEER_TIMEOUT."""
        results: dict[str, Any] = {}
        mine = own()
        if keep(mine):
            results[str(self.node.node_id)] = mine
        futures = {
            pid: self._fanout.submit(_peer_call, url, path, query)
            for pid, url in self.peers.items()
            if pid != self.node.node_id
        }
        deadline = time.monotonic() + PEER_TIMEOUT + 0.05
        for pid, fut in sorted(futures.items()):
            try:
                body = fut.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:
                continue
            if isinstance(body, dict) and keep(body):
                results[str(pid)] = body
        return dict(sorted(results.items(), key=lambda kv: int(kv[0])))


def _peer_call(base_url: str, path: str, query: str) -> Any:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=PEER_TIMEOUT)
    try:
        method = wire.ROUTES[path]
        conn.request(method, parts.path.rstrip("/") + path + (f"?{query}" if query else ""))
        resp = conn.getresponse()
        if resp.status != 200:
            return None
        return json.loads(resp.read())
    finally:
        conn.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "paxos-acceptor"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: AcceptorServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- request framing ---------------------------------------------------

    def handle_one_request(self) -> None:
        self._started = time.perf_counter()
        self._framing = True
        self.path = ""
        try:
            self.raw_requestline = self.rfile.readline(wire.MAX_REQUEST_LINE + 3)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > wire.MAX_REQUEST_LINE + 2:
            self.requestline, self.request_version, self.command = "", "HTTP/1.1", ""
            self.close_connection = True
            self.send_error(414, f"request line is longer than {wire.MAX_REQUEST_LINE} bytes")
            return
        head = self._read_head()
        if head is None:
            self.close_connection = True
            return
        self._framing = True
        real, self.rfile = self.rfile, io.BytesIO(head)
        try:
            if not self.parse_request():
                return
        finally:
            self.rfile = real
        self._framing = False
        try:
            self._read_body()
            self.dispatch()
        except (TimeoutError, ConnectionError):
            self.close_connection = True

    def _read_head(self) -> Optional[bytes]:
        """The header block, or None if the client hung up before finishing it.

        The stock parser treats end-of-file as the end of the headers, which
        would act on a request the client abandoned halfway.
        """
        lines, size = [], 0
        while True:
            try:
                line = self.rfile.readline(65537)
            except (TimeoutError, OSError):
                return None
            if not line or not line.endswith(b"\n"):
                return None
            lines.append(line)
            size += len(line)
            if line in (b"\r\n", b"\n") or size > 65536 or len(lines) > 101:
                return b"".join(lines)

    def _read_body(self) -> None:
        """Bodies are unused, but must be consumed to keep the connection in step."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        length = self.headers.get("Content-Length", "0")
        n = int(length) if length.isdigit() else 0
        if n > MAX_BODY:
            self.close_connection = True
        elif n:
            self.rfile.read(n)

    # -- replies -----------------------------------------------------------

    def reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode("utf-8")
        reason = wire.REASONS.get(status, "OK" if status == 200 else "Error")
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n"
            + ("Connection: close\r\n" if self.close_connection else "")
            + "\r\n"
        )
        self.wfile.write(head.encode("latin-1") + data)
        self._log(status, body)

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """Every error, the stock server's own included, in Spring's JSON shape."""
        if self._framing:
            self.close_connection = True  # the byte stream can no longer be trusted
        path = urlsplit(self.path).path if self.path else ""
        self.reply(code, wire.error_reply(code, message or wire.REASONS.get(code, "Error"), path))

    def _log(self, status: int, body: Any) -> None:
        if self.server.log is None:
            return
        ms = (time.perf_counter() - self._started) * 1000
        what = ""
        if isinstance(body, dict) and "ignored" in body:
            what = " ignored" if body["ignored"] else " granted"
        self.server.log(f"{self.client_address[0]} {self.command} {self.path} {status}{what} {ms:.2f}ms")

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- routing -----------------------------------------------------------

    def dispatch(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        if path == wire.ADMIN_FAULTS and self.server.faults is not None:
            return self._admin(parts.query)
        method = wire.ROUTES.get(path)
        if method is None:
            return self.send_error(404, f"no route {path}")
        if self.command != method:
            return self.send_error(405, f"{path} takes {method}, not {self.command}")
        try:
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True, errors="strict").items()}
        except UnicodeDecodeError:
            return self.send_error(400, "query string is not valid UTF-8")
        faults = self.server.faults
        if faults is not None and path != wire.HEALTH:
            if faults.delay_ms:
                time.sleep(faults.delay_ms / 1000)
            if faults.drop_request():
                return self._blackhole()
        try:
            status, body = self._route(path, params, parts.query)
        except wire.BadRequest as e:
            return self.send_error(400, str(e))
        except PersistError as e:
            return self.send_error(500, str(e))
        except Exception as e:  # a bug must cost one request, not the connection
            return self.send_error(500, f"internal error: {e!r}")
        if faults is not None and path != wire.HEALTH and faults.drop_reply():
            return self._blackhole()
        if path == wire.HEALTH:
            return self._text(status, body)
        self.reply(status, body)

    def _route(self, path: str, params: dict[str, str], query: str) -> tuple[int, Any]:
        node, srv = self.server.node, self.server
        if path == wire.PREPARE:
            return 200, node.prepare(wire.parse_id(params.get("id")))
        if path == wire.ACCEPT:
            n = wire.parse_id(params.get("id"))
            return 200, node.accept(n, wire.parse_value(params.get("value")))
        if path == wire.STATE:
            return 200, node.snapshot()
        if path == wire.HEALTH:
            return 200, f"UP acceptor {node.node_id}\n"
        if path == wire.BROADCAST_STATE:
            return 200, srv.broadcast(wire.STATE, "", node.snapshot, lambda b: True)
        if path == wire.BROADCAST_PREPARE:
            n = wire.parse_id(params.get("id"))
            return 200, srv.broadcast(wire.PREPARE, query, lambda: node.prepare(n), _not_ignored)
        if path == wire.BROADCAST_ACCEPT:
            n, v = wire.parse_id(params.get("id")), wire.parse_value(params.get("value"))
            return 200, srv.broadcast(wire.ACCEPT, query, lambda: node.accept(n, v), _not_ignored)
        raise AssertionError(path)

    def _text(self, status: int, text: str) -> None:
        data = text.encode("utf-8")
        head = f"HTTP/1.1 {status} OK\r\nContent-Type: text/plain\r\nContent-Length: {len(data)}\r\n\r\n"
        self.wfile.write(head.encode("latin-1") + data)
        self._log(status, None)

    def _blackhole(self) -> None:
        """Lose the message: answer nothing until the client gives up."""
        self.close_connection = True
        try:
            self.connection.settimeout(30)
            while self.connection.recv(4096):
                pass
        except OSError:
            pass
        self._log(0, {"dropped": True})

    def _admin(self, query: str) -> None:
        if not admin_allowed(self.client_address[0]):
            return self.send_error(404, f"no route {wire.ADMIN_FAULTS}")
        faults = self.server.faults
        assert faults is not None
        if self.command == "POST":
            try:
                faults.update({k: v[-1] for k, v in parse_qs(query).items()})
            except ValueError as e:
                return self.send_error(400, str(e))
        elif self.command != "GET":
            return self.send_error(405, f"{wire.ADMIN_FAULTS} takes GET or POST")
        self.reply(200, faults.as_dict())


def admin_allowed(address: str) -> bool:
    """Fault injection is for lessons on this machine: loopback clients only."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _not_ignored(body: dict) -> bool:
    return body.get("ignored") is False


def serve_in_thread(server: AcceptorServer) -> threading.Thread:
    """For in-process tests: serve until server.shutdown()."""
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    return t
