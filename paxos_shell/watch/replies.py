"""What a proxy writes back to a proposer, as h11 frames it: the acceptor's reply, a gateway's, a refusal.

Its job: the acceptor's reply as it came (status, reason, headers but the
hop-by-hop ones, body bytes; h11 sets the framing), a 502 or 504 in our
acceptor's error shape when the acceptor gave none, and the refusals of what
cannot be forwarded as it came (judged here on the request's head: a version
other than 1.0 and 1.1, a body framed both by Transfer-Encoding and by
Content-Length) with the status our acceptor gives them. It only makes bytes:
no I/O, and never a judgement of Paxos.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional, Union
from urllib.parse import urlsplit

import h11

from paxos_shell.core import wire
from paxos_shell.watch.exchange import Answered, Unanswered
from paxos_shell.watch.target import HOP_BY_HOP

MAX_HEAD = 1 << 20
"""The longest request head forwarded (h11's max_incomplete_event_size on the proposer's side)."""
_GATEWAY = {502: "Bad Gateway", 504: "Gateway Timeout", 403: "Forbidden"}


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    target: str = ""


def framing_refusal(request: h11.Request, long: bool) -> Optional[Refusal]:
    """HTTP h11 parses but that cannot be forwarded as it came; refused as the acceptor refuses it.
    `long`: the connection has brought more than MAX_HEAD bytes, so this head may be over it (h11
    refuses a head over its limit only when it is still incomplete, which depends on the reads)."""
    if long and len(request.target) + sum(len(n) + len(v) + 4 for n, v in request.headers) > MAX_HEAD:
        return Refusal(431, "malformed request")  # as h11 refuses it
    target = request.target.decode("ascii", "replace")
    if request.http_version not in (b"1.0", b"1.1"):
        return Refusal(505, f"HTTP/{request.http_version.decode('ascii', 'replace')} is not supported", target)
    names = {name.lower() for name, _ in request.headers.raw_items()}
    if b"transfer-encoding" in names and b"content-length" in names:
        return Refusal(400, "both Transfer-Encoding and Content-Length: the body's length is ambiguous", target)
    return None


def reply_bytes(conn: h11.Connection, request: h11.Request, answer: Union[Answered, Unanswered],
                head: Optional[h11.Response], path: str) -> bytes:
    """The bytes the proposer gets: the acceptor's reply as it came, or a gateway's 502/504."""
    if isinstance(answer, Unanswered) or head is None:
        cause = answer.cause if isinstance(answer, Unanswered) else "no reply"
        status = 504 if cause == wire.TIMEOUT else 502
        return _json(conn, status, wire.error_reply(status, f"acceptor: {cause}", path), close=False)
    headers, closing, length = [], False, b""
    for name, value in head.headers.raw_items():  # one pass, on h11's list
        lower = name.lower()
        if lower not in HOP_BY_HOP:
            headers.append((name, value))
        elif lower == b"connection":
            closing = closing or b"close" in value.lower()
        elif lower == b"content-length":
            length = value
    send = length if request.method == b"HEAD" and length else str(len(answer.body)).encode("ascii")
    headers.append((b"Content-Length", send))
    if closing:
        headers.append((b"Connection", b"close"))
    out = conn.send(h11.Response(status_code=head.status_code, headers=headers, reason=head.reason)) or b""
    if answer.body and request.method != b"HEAD":
        out += conn.send(h11.Data(data=answer.body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


def refusal_bytes(conn: h11.Connection, refusal: Refusal) -> bytes:
    """The refusal in the acceptor's error shape, the connection to close after it; b"" when a reply
    was under way already (only closing is left)."""
    body = wire.error_reply(refusal.status, refusal.message, urlsplit(refusal.target).path)
    try:
        return _json(conn, refusal.status, body, close=True)
    except h11.LocalProtocolError:
        return b""


def _json(conn: h11.Connection, status: int, body: dict, close: bool) -> bytes:
    data = json.dumps(body).encode("utf-8")
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if close:
        headers.append(("Connection", "close"))
    reason = wire.REASONS.get(status, _GATEWAY.get(status, "Error"))
    out = conn.send(h11.Response(status_code=status, headers=headers, reason=reason)) or b""
    return out + (conn.send(h11.Data(data=data)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
