"""The paxos-server REST protocol: routes, parameters, and what replies mean.

Both sides live here so they cannot disagree: the acceptor server builds its
replies with the `*_reply` functions and the client reads any server's replies
(ours or the Java one) with `interpret`. No sockets; see docs/protocol.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Optional

from .paxos import MAX_ID, NONE, AcceptorState, Transition

PREPARE = "/api/paxos/prepare"
ACCEPT = "/api/paxos/accept"
STATE = "/api/paxos/state"
HEALTH = "/health"
BROADCAST_STATE = "/api/broadcast/paxos/state"
BROADCAST_PREPARE = "/api/broadcast/paxos/prepare"
BROADCAST_ACCEPT = "/api/broadcast/paxos/accept"
ADMIN_FAULTS = "/admin/faults"

ROUTES: dict[str, str] = {
    PREPARE: "POST",
    ACCEPT: "POST",
    STATE: "GET",
    HEALTH: "GET",
    BROADCAST_STATE: "GET",
    BROADCAST_PREPARE: "POST",
    BROADCAST_ACCEPT: "POST",
}

class Phase(str, Enum):
    """The requests a proposer (or the shell) sends; the value is the word users see."""

    PREPARE = "prepare"
    ACCEPT = "accept"
    STATE = "state"

    def __str__(self) -> str:
        return self.value


PHASES: dict[Phase, tuple[str, str]] = {
    Phase.PREPARE: ("POST", PREPARE),
    Phase.ACCEPT: ("POST", ACCEPT),
    Phase.STATE: ("GET", STATE),
}
"""The requests a proposer (or the shell) sends, by phase: method and path."""

MAX_REQUEST_LINE = 8192

MAX_VALUE_BYTES = MAX_REQUEST_LINE
"""The longest value, in UTF-8 bytes, an accept can carry. It travels percent-encoded
in the query of a request line of at most MAX_REQUEST_LINE bytes, and decoding never
lengthens it; the acceptor's state record is sized for it."""

REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    414: "URI Too Long",
    500: "Internal Server Error",
    501: "Not Implemented",
    # Added for the acceptor's bounded HTTP front (framing and resource limits):
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)


class BadRequest(ValueError):
    """A request the protocol cannot act on; its text goes to the client."""


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def parse_id(raw: Optional[str]) -> int:
    """A proposal id as the Java server accepts it: a decimal 32-bit int >= 0."""
    if raw is None:
        raise BadRequest("required parameter 'id' is missing")
    text = raw.strip()
    if not _INT.fullmatch(text):
        raise BadRequest(f"parameter 'id' must be an integer, got {_clip(raw)!r}")
    n = int(text) if len(text) < 40 else MAX_ID + 1
    if not 0 <= n <= MAX_ID:
        raise BadRequest(f"parameter 'id' must be between 0 and {MAX_ID}, got {_clip(text)}")
    return n


def parse_value(raw: Optional[str]) -> str:
    if raw is None:
        raise BadRequest("required parameter 'value' is missing")
    return raw


# --- replies the acceptor sends ------------------------------------------------


def _accepted_pair(state: AcceptorState) -> dict[str, Any]:
    if state.accepted_id >= 0:
        return {"acceptedId": state.accepted_id, "acceptedValue": state.accepted_value}
    return {}


def prepare_reply(t: Transition) -> dict[str, Any]:
    """Granted: the new promise; refused: the promise that beat it. Both carry
    the accepted pair, which is what lets a proposer learn a prior value."""
    body: dict[str, Any] = {"ignored": not t.granted}
    if t.granted or t.state.promised_id != NONE:
        body["promisedId"] = t.state.promised_id
    body.update(_accepted_pair(t.state))
    return body


def accept_reply(t: Transition) -> dict[str, Any]:
    if not t.granted:
        return {"ignored": True}
    return {"ignored": False, "acceptedId": t.state.accepted_id, "acceptedValue": t.state.accepted_value}


def state_reply(state: AcceptorState) -> dict[str, Any]:
    return {
        "promisedId": state.promised_id,
        "acceptedId": state.accepted_id,
        "acceptedValue": state.accepted_value,
    }


def error_reply(status: int, message: str, path: str) -> dict[str, Any]:
    """Spring Boot's error shape, so tools that read Java errors read ours."""
    return {"status": status, "error": REASONS.get(status, "Error"), "message": message, "path": path}


# --- replies the client reads --------------------------------------------------

class ReplyKind(str, Enum):
    """How one request ended, as the client classifies it.

    ERROR is an answer that is not a protocol reply (an HTTP error status): the
    acceptor did not act on it. NO_RESPONSE is no answer at all; `Reply.reached`
    says whether the request may have reached the acceptor (a timeout) or surely
    did not (connection refused).
    """

    GRANTED = "granted"
    IGNORED = "ignored"
    OK = "ok"
    ERROR = "error"
    NO_RESPONSE = "no response"

    def __str__(self) -> str:
        return self.value


GRANTED = ReplyKind.GRANTED
IGNORED = ReplyKind.IGNORED
OK = ReplyKind.OK
ERROR = ReplyKind.ERROR
NO_RESPONSE = ReplyKind.NO_RESPONSE


@dataclass
class Reply:
    """One acceptor's answer to one request, or why there was none."""

    acceptor: int
    phase: Phase
    kind: ReplyKind
    body: Optional[dict] = None
    cause: Optional[str] = None
    latency: float = 0.0
    params: Optional[dict] = None
    at: float = 0.0
    reached: bool = True
    """False when the request surely never reached the acceptor (connection refused)."""

    @property
    def may_have_acted(self) -> bool:
        """Silence after the request left: the acceptor may have changed state."""
        return self.kind == NO_RESPONSE and self.reached

    @property
    def granted(self) -> bool:
        return self.kind == GRANTED

    def _int(self, key: str) -> int:
        v = (self.body or {}).get(key, NONE)
        return v if isinstance(v, int) and not isinstance(v, bool) else NONE

    @property
    def promised_id(self) -> int:
        return self._int("promisedId")

    @property
    def accepted_id(self) -> int:
        return self._int("acceptedId")

    @property
    def accepted_value(self) -> Optional[str]:
        v = (self.body or {}).get("acceptedValue")
        return v if v is None or isinstance(v, str) else json.dumps(v)


def interpret(acceptor: int, phase: Phase, status: int, raw: bytes) -> Reply:
    """Classify an HTTP answer. Granted means exactly: 200, a JSON object, and
    `ignored` is the JSON value false. Anything else is never counted."""
    if status != 200:
        detail = ""
        try:
            body = json.loads(raw)
            if isinstance(body, dict) and body.get("message"):
                detail = f": {body['message']}"
        except ValueError:
            pass
        return Reply(acceptor, phase, ERROR, cause=f"HTTP {status}{detail}")
    try:
        body = json.loads(raw)
    except ValueError:
        return Reply(acceptor, phase, NO_RESPONSE, cause="reply is not JSON")
    if not isinstance(body, dict):
        return Reply(acceptor, phase, NO_RESPONSE, cause="reply is not a JSON object")
    if phase == Phase.STATE:
        if not isinstance(body.get("promisedId"), int):
            return Reply(acceptor, phase, NO_RESPONSE, body, cause="state reply lacks promisedId")
        return Reply(acceptor, phase, OK, body)
    ignored = body.get("ignored")
    if ignored is False:
        return Reply(acceptor, phase, GRANTED, body)
    if ignored is True:
        return Reply(acceptor, phase, IGNORED, body)
    return Reply(acceptor, phase, NO_RESPONSE, body, cause="reply has no boolean 'ignored'")
