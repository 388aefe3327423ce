"""The live view's HTTP, pure: reading a request head, routing it, and the bytes of every answer.

Its job: the rules server.py applies: GET of /TOKEN/ (the page), /TOKEN/NAME (an
asset) and /TOKEN/events (the stream), nothing else; the token compared in
constant time; every answer with headers that keep the page to its own script
and styles. No sockets here, so each rule is tested without one.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Mapping, Optional

from paxos_shell.view.assets import PAGE, Asset

EVENTS = "events"
RETRY_MS = 1000
"""How soon a browser reconnects to the stream after it ends (EventSource's retry)."""

SECURITY_HEADERS = (
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n"
)
"""The page runs only its own script and styles, and the token never leaves in a Referer."""

REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           431: "Request Header Fields Too Large", 503: "Service Unavailable"}


class BadRequest(ValueError):
    """A request head that is not HTTP/1.x."""


@dataclass(frozen=True)
class Route:
    """What a request gets: a status, and the asset or stream to send with a 200."""

    status: int
    asset: Optional[str] = None


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    body: bool
    """It announces a body (which is never read: a GET has none)."""


def parse_head(head: bytes) -> Request:
    """The method and target of a request head, and whether a body follows; BadRequest if malformed."""
    lines = head.split(b"\r\n")
    parts = lines[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        raise BadRequest("not an HTTP/1.x request line")
    body = False
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest("a header line without a colon")
        key = name.strip().lower()
        body = body or key == b"transfer-encoding" or (key == b"content-length" and value.strip() != b"0")
    return Request(parts[0], parts[1], body)


def route(method: str, target: str, token: str, assets: Mapping[str, Asset]) -> Route:
    """GET /TOKEN/ (the page), /TOKEN/NAME (an asset), /TOKEN/events (the stream); nothing else."""
    if method != "GET":
        return Route(405)
    path = target.split("?", 1)[0]
    parts = path.split("/")
    if len(parts) < 2 or not hmac.compare_digest(parts[1].encode(), token.encode()):
        return Route(403)
    if len(parts) != 3:
        return Route(404)
    name = parts[2] or PAGE
    if name == EVENTS or name in assets:
        return Route(200, name)
    return Route(404)


def event_data(snapshot: object) -> str:
    """A snapshot as the stream carries it: JSON in ASCII on one line.

    Not text.json_dumps, which keeps UTF-8 readable for people: here every
    non-ASCII character travels as a \\u escape, so no control or bidi character
    can appear raw on the wire, and the C encoder does it in one pass.
    """
    return json.dumps(snapshot, separators=(",", ":"))


def sse_frame(seq: int, *lines: str) -> bytes:
    """One server-sent event of one or more data lines (the page reads them joined by newlines)."""
    if any("\n" in line or "\r" in line for line in lines):
        raise ValueError("an event's data line must be one line")
    data = "".join(f"data: {line}\n" for line in lines)
    return f"id: {seq}\n{data}\n".encode()


def response(status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", extra: str = "") -> bytes:
    head = (f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{SECURITY_HEADERS}{extra}Connection: close\r\n\r\n")
    return head.encode() + body


STREAM_HEAD = (f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n{SECURITY_HEADERS}"
               f"Connection: close\r\n\r\nretry: {RETRY_MS}\n\n").encode()


