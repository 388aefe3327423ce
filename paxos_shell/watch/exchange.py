"""One proxied exchange as the session records it: a Round of one Reply. Pure.

The request tells the phase and the parameters (the acceptor's routes: POST
prepare and accept, GET state, with `id` and `value` in the query); the reply
is classified by wire.interpret, exactly as the shell's own client classifies
what it reads, so a foreign round and one of the shell's mean the same thing.
An exchange that is no protocol round (/health, broadcast, admin routes, a
request the protocol cannot parse) is passed through and never recorded: the
acceptor refused or answered it without acting on its Paxos state. When the
acceptor could not be reached, the reply says so as the client's would
(connection refused: it never arrived; timeout: it may have). No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from urllib.parse import parse_qs, urlsplit

from paxos_shell.core import wire
from paxos_shell.core.wire import NO_RESPONSE, Phase, Reply, Round

_BY_ROUTE = {route: phase for phase, (_, route) in wire.PHASES.items()}


@dataclass(frozen=True)
class Asked:
    """A request the proxy forwarded, as far as the Paxos protocol reads it."""

    phase: Phase
    params: dict


@dataclass(frozen=True)
class Answered:
    """What the acceptor sent back, before any judgement (the fields wire.interpret reads)."""

    status: int
    body: bytes
    content_type: Optional[str] = None
    encoding: Optional[str] = None
    location: Optional[str] = None
    cut_off: bool = False


@dataclass(frozen=True)
class Unanswered:
    """No answer from the acceptor: why, in one line, and whether the request may have arrived."""

    cause: str
    reached: bool


def asked(method: str, target: str) -> Optional[Asked]:
    """The protocol request a method and target make, or None (not a round, or one it cannot parse)."""
    parts = urlsplit(target)
    phase = _BY_ROUTE.get(parts.path.rstrip("/") or "/")
    if phase is None or wire.PHASES[phase][0] != method:
        return None
    try:
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True, errors="strict").items()}
        params: dict = {}
        if phase != Phase.STATE:
            params["id"] = wire.parse_id(query.get("id"))
        if phase == Phase.ACCEPT:
            params["value"] = wire.parse_value(query.get("value"))
    except (UnicodeDecodeError, wire.BadParameter):
        return None
    return Asked(phase, params)


def round_of(acceptor: int, request: Asked, answer: Answered | Unanswered, path: str,
             latency: float, at: float) -> Round:
    """The exchange as a one-reply Round, classified as the shell's client would classify it."""
    if isinstance(answer, Unanswered):
        reply = Reply(acceptor, request.phase, NO_RESPONSE, cause=answer.cause, reached=answer.reached)
    else:
        reply = wire.interpret(acceptor, request.phase, answer.status, answer.body,
                               content_type=answer.content_type, encoding=answer.encoding,
                               location=answer.location, cut_off=answer.cut_off, path=path)
    reply.params, reply.latency, reply.at = dict(request.params), latency, at
    return Round(request.phase, dict(request.params), [reply], elapsed=latency)
