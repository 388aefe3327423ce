"""A small acceptor of the paxos-server API, with one flag per bug: what the audit must catch.

Run as a process (`python tests/helpers/broken_acceptor.py --port P --state FILE --bug NAME...`);
it prints `listening on http://127.0.0.1:P` when it serves. With no bug it obeys every rule
(threads, one lock around rule + persist + reply, state written and fsynced before the reply).
Each bug breaks one rule the way real student acceptors do; `java` emulates the Java
paxos-server's quirks (negative ids parsed, `accept -1` granted on a fresh node and then never
reported; a request line over 8 KiB refused, as Tomcat does; broadcast routes whose prepare
drops the accepted pairs of remote peers). Written for the tests; not part of the product.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

BUGS = {
    "promise-echo": "promise-higher: a granted promise reports the previous promise, not the new id",
    "prepare-ge": "ignore-lower-prepare: prepare compares with >=, so an equal id is promised twice",
    "first-accepted": "report-accepted: a promise reports the first value ever accepted, not the latest",
    "accept-any": "accept-respects-promise: accept never looks at the promise",
    "accept-no-raise": "accept-records: an accept does not raise the promise",
    "state-lags": "state-consistent: the state route shows the state before the last change",
    "strip-values": "values-exact: values are stored stripped of surrounding spaces",
    "lenient-input": "bad-input: a missing or bad id reads as 0, a missing value as ''",
    "race": "linearizable: check-then-act with no lock (a pause to persist between them)",
    "amnesia": "durable-*: nothing is persisted; a restart starts empty",
    "java": "the Java paxos-server's quirks (negative ids, accept -1, 8 KiB lines, broadcast)",
}
NONE = -1


class Node:
    def __init__(self, path: Optional[str], bugs: set[str]) -> None:
        self.path, self.bugs = path, bugs
        self.state = {"promisedId": NONE, "acceptedId": NONE, "acceptedValue": None}
        self.shown = dict(self.state)
        self.first: Optional[tuple[int, str]] = None
        self.lock = threading.Lock()
        if path and os.path.exists(path) and "amnesia" not in bugs:
            with open(path) as f:
                self.state = json.load(f)

    def persist(self) -> None:
        if "race" in self.bugs:
            time.sleep(0.002)  # the write to disk, between the comparison and the update
        if self.path is None or "amnesia" in self.bugs:
            return
        with open(self.path + ".tmp", "w") as f:
            json.dump(self.state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(self.path + ".tmp", self.path)

    def pair(self) -> dict[str, Any]:
        s = self.state
        if "first-accepted" in self.bugs and self.first is not None:
            return {"acceptedId": self.first[0], "acceptedValue": self.first[1]}
        return {"acceptedId": s["acceptedId"], "acceptedValue": s["acceptedValue"]} if s["acceptedId"] >= 0 else {}

    def prepare(self, n: int) -> dict[str, Any]:
        with self.locked():
            before = self.state["promisedId"]
            if n > before or ("prepare-ge" in self.bugs and n == before):
                self.shown = dict(self.state)
                if "race" in self.bugs:
                    self.persist()
                self.state = {**self.state, "promisedId": n}
                if "race" not in self.bugs:
                    self.persist()
                return {"ignored": False, "promisedId": before if "promise-echo" in self.bugs else n, **self.pair()}
            return {"ignored": True, **({"promisedId": before} if before != NONE else {}), **self.pair()}

    def accept(self, n: int, value: str) -> dict[str, Any]:
        with self.locked():
            if n >= self.state["promisedId"] or "accept-any" in self.bugs:
                self.shown = dict(self.state)
                if "race" in self.bugs:
                    self.persist()
                promised = self.state["promisedId"] if "accept-no-raise" in self.bugs else n
                stored = value.strip() if "strip-values" in self.bugs else value
                self.state = {"promisedId": promised, "acceptedId": n, "acceptedValue": stored}
                self.first = self.first or (n, stored)
                if "race" not in self.bugs:
                    self.persist()
                return {"ignored": False, "acceptedId": n, "acceptedValue": stored}
            return {"ignored": True}

    def snapshot(self) -> dict[str, Any]:
        with self.locked():
            return dict(self.shown if "state-lags" in self.bugs else self.state)

    def locked(self) -> Any:
        return _Nothing() if "race" in self.bugs else self.lock


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def make_handler(node: Node, bugs: set[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, status: int, body: Any, kind: str = "application/json") -> None:
            """The whole response in one write: a header and a body written apart would wait out
            the client's delayed ACK (Nagle), 40 ms a request."""
            data = (json.dumps(body) if kind == "application/json" else body).encode()
            head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n").encode()
            self.wfile.write(head + (data if self.command != "HEAD" else b""))

        def error(self, status: int, message: str) -> None:
            self.reply(status, {"status": status, "error": "Error", "message": message, "path": self.path})

        def do_GET(self) -> None:
            self.route("GET")

        def do_POST(self) -> None:
            self.route("POST")

        def do_DELETE(self) -> None:
            self.route("DELETE")

        def route(self, method: str) -> None:
            if "java" in bugs and len(self.requestline) > 8192:
                return self.error(400, "request line too long")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 65536))
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            want = {"/api/paxos/prepare": "POST", "/api/paxos/accept": "POST", "/api/paxos/state": "GET",
                    "/health": "GET", "/api/broadcast/paxos/prepare": "POST"}
            if url.path not in want or ("broadcast" in url.path and "java" not in bugs):
                return self.error(404, "not found")
            if want[url.path] != method:
                return self.error(405, "method not allowed")
            try:
                self.answer(url.path, q)
            except ValueError as e:
                self.error(400, str(e))

        def answer(self, path: str, q: dict[str, str]) -> None:
            if path == "/health":
                return self.reply(200, "UP\n", "text/plain")
            if path == "/api/paxos/state":
                return self.reply(200, node.snapshot())
            n = parse_id(q.get("id"), bugs)
            if path == "/api/paxos/prepare":
                return self.reply(200, node.prepare(n))
            if path == "/api/broadcast/paxos/prepare":
                return self.reply(200, broadcast_prepare(node, n))
            if "value" not in q and "lenient-input" not in bugs:
                raise ValueError("required parameter 'value' is missing")
            self.reply(200, node.accept(n, q.get("value", "")))

    return Handler


def parse_id(raw: Optional[str], bugs: set[str]) -> int:
    try:
        n = int(raw) if raw is not None else None
    except ValueError:
        n = None
    if n is None:
        if "lenient-input" in bugs:
            return 0
        raise ValueError("parameter 'id' must be an integer")
    if not (-2**31 <= n < 2**31) or (n < 0 and "java" not in bugs):
        raise ValueError("parameter 'id' out of range")
    return n


def broadcast_prepare(node: Node, n: int) -> dict[str, Any]:
    """The Java server's broadcast prepare: here, then a peer (itself, again, as peer 2), whose
    reply keeps only `ignored` and `promisedId`: the accepted pair of every remote peer is dropped."""
    here = node.prepare(n)
    out: dict[str, Any] = {"1": here} if here["ignored"] is False else {}
    remote = {k: v for k, v in here.items() if k in ("ignored", "promisedId")}
    if remote["ignored"] is False:
        out["2"] = remote
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--state", default=None)
    p.add_argument("--bug", action="append", default=[], choices=sorted(BUGS))
    args = p.parse_args()
    bugs = set(args.bug)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Node(args.state, bugs), bugs))
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


class Running:
    """A broken acceptor (or a restartable one: see restarter.py) started as a process by a test."""

    def __init__(self, *bugs: str, state: Optional[str] = None) -> None:
        import subprocess
        import sys

        argv = [sys.executable, __file__, *(a for b in bugs for a in ("--bug", b))]
        self.proc = subprocess.Popen(argv + (["--state", state] if state else []), stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()  # the banner: it serves from here on
        self.url = line.split()[-1]

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


if __name__ == "__main__":
    main()
