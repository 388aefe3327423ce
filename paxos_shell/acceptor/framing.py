"""HTTP/1.1 framing for the acceptor, on h11: what to refuse, and the reply bytes.

h11 parses; this module adds the judgements the acceptor needs before it acts on a
request: a request line that is not HTTP/1.x (HTTP/0.9 would otherwise wait for a
header block that never comes) or longer than 8 KiB, both Transfer-Encoding and
Content-Length, a body over the limit, and h11's own protocol errors, each mapped
to a status and a one-line message for the Spring error shape. Any refusal closes
the connection: after a framing error the byte stream can no longer be trusted.
It also turns a reply into the exact bytes sent, in one piece (one write on a
TCP_NODELAY socket: no Nagle stall). No sockets here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

import h11

from paxos_shell.core import wire

REQUEST_LINE = re.compile(rb"[!-~]+ [!-~]+ HTTP/[0-9]\.[0-9]\r?\n")
"""Method, target, version: anything else (HTTP/0.9's two words included) is refused at once."""

_ECHO = re.compile(r": (?:bytearray\(|b['\"])")

JSON = "application/json"
TEXT = "text/plain"


@dataclass(frozen=True)
class Refusal:
    """A request the server answers with an error and then closes the connection."""

    status: int
    message: str


LINE_TOO_LONG = Refusal(414, f"request line is longer than {wire.MAX_REQUEST_LINE} bytes")


def check_request_line(start: bytes) -> Optional[Refusal]:
    """Judge the first bytes of a request as soon as its line is complete (or too long)."""
    end = start.find(b"\n")
    if end > wire.MAX_REQUEST_LINE + 1 or (end < 0 and len(start) > wire.MAX_REQUEST_LINE + 1):
        return LINE_TOO_LONG
    if end < 0:
        return None
    if not REQUEST_LINE.fullmatch(start[: end + 1]):
        return Refusal(400, "malformed request line: expected METHOD TARGET HTTP/1.1")
    return None


def head_size(request: h11.Request) -> int:
    """The head's size as sent, give or take optional whitespace (h11 checks its buffer only
    while a head is incomplete, so a whole oversize head arriving at once passes it)."""
    line = len(request.method) + len(request.target) + len(b"  HTTP/1.1\r\n")
    return line + sum(len(name) + len(value) + 4 for name, value in request.headers.raw_items()) + 2


def check_request(request: h11.Request, max_head: int, max_body: int) -> Optional[Refusal]:
    """Framing h11 accepts but the acceptor must not: oversize heads, smuggling-prone or
    oversize bodies, versions it does not speak."""
    if head_size(request) > max_head:
        return Refusal(431, "request head is too large")
    if request.http_version != b"1.1" and request.http_version != b"1.0":
        return Refusal(505, f"HTTP/{request.http_version.decode('ascii', 'replace')} is not supported")
    names = [name for name, _ in request.headers]
    if b"transfer-encoding" in names and b"content-length" in names:
        return Refusal(400, "both Transfer-Encoding and Content-Length: the body's length is ambiguous")
    for name, value in request.headers:
        if name == b"content-length" and int(value) > max_body:
            return Refusal(413, f"request body of {int(value)} bytes; at most {max_body} are read")
    return None


def protocol_refusal(error: h11.RemoteProtocolError) -> Refusal:
    """h11's verdict on a malformed request, as a status the client can act on."""
    status = error.error_status_hint
    if status == 431:
        return Refusal(431, "request head is too large")
    what = _ECHO.split(str(error))[0]  # h11 quotes the offending bytes; the client has them already
    return Refusal(status if status in wire.REASONS else 400, f"malformed request: {what}")


def body_too_large(max_body: int) -> Refusal:
    return Refusal(413, f"request body is longer than {max_body} bytes")


def reply_bytes(conn: h11.Connection, status: int, body: Any, content_type: str, close: bool,
                head_only: bool = False) -> bytes:
    """The whole reply as one buffer; `head_only` (a HEAD request) keeps the GET reply's head."""
    data = body.encode("utf-8") if content_type == TEXT else json.dumps(body).encode("utf-8")
    reason = wire.REASONS.get(status, "OK" if status == 200 else "Error")
    headers = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    if close:
        headers.append(("Connection", "close"))
    out = conn.send(h11.Response(status_code=status, headers=headers, reason=reason))
    if conn.our_state is h11.SEND_BODY:
        if not head_only:  # h11 frames a reply to HEAD as empty and would refuse the body
            out += conn.send(h11.Data(data=data)) or b""
        out += conn.send(h11.EndOfMessage()) or b""
    return out or b""
