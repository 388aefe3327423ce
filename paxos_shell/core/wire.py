"""The paxos-server REST protocol: routes, parameters, and what replies mean.

Both sides live here so they cannot disagree: the acceptor server builds its
replies with the `*_reply` functions and the client reads any server's replies
(ours, the Java one, or whatever answers at that URL) with `interpret`. No
sockets; see docs/protocol.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Optional

from paxos_shell.core.paxos import MAX_ID, NONE, AcceptorState, Transition
from paxos_shell.core.text import visible
from paxos_shell.core.urls import redacted
from paxos_shell.core.vocab import Word

if TYPE_CHECKING:
    from typing_extensions import TypeGuard  # typing's own from Python 3.10; 3.9 is supported

PREPARE = "/api/paxos/prepare"
ACCEPT = "/api/paxos/accept"
STATE = "/api/paxos/state"
HEALTH = "/health"
BROADCAST_STATE = "/api/broadcast/paxos/state"
BROADCAST_PREPARE = "/api/broadcast/paxos/prepare"
BROADCAST_ACCEPT = "/api/broadcast/paxos/accept"
ADMIN_FAULTS = "/admin/faults"

PROPOSER_HEADER = "X-Paxos-Proposer"
"""The request header naming the proposer that sent it: the shell sends its proposer's name, and
a watch in front of an acceptor labels the exchange with it (acceptors ignore it)."""

ROUTES: dict[str, str] = {
    PREPARE: "POST",
    ACCEPT: "POST",
    STATE: "GET",
    HEALTH: "GET",
    BROADCAST_STATE: "GET",
    BROADCAST_PREPARE: "POST",
    BROADCAST_ACCEPT: "POST",
}

class Phase(Word):
    """The requests a proposer (or the shell) sends; the value is the word users see."""

    PREPARE = "prepare"
    ACCEPT = "accept"
    STATE = "state"


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


class BadParameter(ValueError):
    """A request parameter (id, value) the protocol cannot act on; its text goes to the client.
    (Not view.routes.BadRequest, which is a malformed HTTP head.)"""


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def parse_id(raw: Optional[str]) -> int:
    """A proposal id as the Java server accepts it: a decimal 32-bit int >= 0."""
    if raw is None:
        raise BadParameter("required parameter 'id' is missing")
    text = raw.strip()
    if not _INT.fullmatch(text):
        raise BadParameter(f"parameter 'id' must be an integer, got {_clip(raw)!r}")
    n = int(text) if len(text) < 40 else MAX_ID + 1
    if not 0 <= n <= MAX_ID:
        raise BadParameter(f"parameter 'id' must be between 0 and {MAX_ID}, got {_clip(text)}")
    return n


def parse_value(raw: Optional[str]) -> str:
    if raw is None:
        raise BadParameter("required parameter 'value' is missing")
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

MAX_REPLY = 1 << 20
"""The largest reply body the client reads (1 MiB); a larger one is cut off unread."""
CUT_OFF = f"reply larger than {MAX_REPLY >> 20} MiB: cut off"
NOT_ACCEPTOR = "not a paxos acceptor"
MAX_CAUSE = 200
"""Characters of a foreign message kept in a cause: one line, not a page."""
TIMEOUT = "timeout"
REFUSED = "connection refused (down)"
INTERRUPTED = "interrupted"
"""Causes of silence that the session and the shell tell apart (timed out, down, Ctrl-C)."""


class ReplyKind(Word):
    """How one request ended, as the client classifies it.

    ERROR is an answer that is not a protocol reply (an HTTP error status, or
    something that is not a paxos acceptor): the acceptor did not act on it.
    NO_RESPONSE is no answer at all; `Reply.reached` says whether the request
    may have reached the acceptor (a timeout) or surely did not (connection
    refused).
    """

    GRANTED = "granted"
    IGNORED = "ignored"
    OK = "ok"
    ERROR = "error"
    NO_RESPONSE = "no response"


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
        return v if is_int(v) else NONE

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


@dataclass
class Round:
    """The replies of one round, in the order the acceptors were named."""

    phase: Phase
    params: dict
    replies: list[Reply] = field(default_factory=list)
    elapsed: float = 0.0
    interrupted: bool = False

    def ids(self, kind: str) -> list[int]:
        return [r.acceptor for r in self.replies if r.kind == kind]


def is_int(v: object) -> TypeGuard[int]:
    """A JSON integer: Python's bool is an int, JSON's true is not."""
    return isinstance(v, int) and not isinstance(v, bool)


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}

GATEWAY_SILENCE = (502, 504)
"""A gateway's "no answer from behind me": the request may have reached the acceptor."""


def _shape(phase: Phase, body: dict) -> Optional[str]:
    """What makes a JSON object not a reply to `phase`, or None.

    Checked before anything is counted: a promise whose promisedId is a string
    would be counted towards a quorum while its accepted pair was lost.
    """
    if phase != Phase.STATE and not isinstance(body.get("ignored"), bool):
        return "the reply has no boolean 'ignored'"
    required = {Phase.STATE: ("promisedId", "acceptedId", "acceptedValue"),
                Phase.PREPARE: ("promisedId",) if body.get("ignored") is False else (),
                Phase.ACCEPT: ("acceptedId", "acceptedValue") if body.get("ignored") is False else ()}[phase]
    for key in required:
        if key not in body:
            return f"the reply has no {key!r}"
    for key in ("promisedId", "acceptedId"):
        if key in body and not is_int(body[key]):
            return f"{key!r} is not an integer"
    if "acceptedValue" in body and not (body["acceptedValue"] is None or isinstance(body["acceptedValue"], str)):
        return "'acceptedValue' is not a string"
    if ("acceptedId" in body) != ("acceptedValue" in body):
        return "'acceptedId' and 'acceptedValue' do not come together"
    return None


_TOO_DEEP = object()


def read_json(raw: bytes) -> Any:
    """The JSON value in `raw`; ValueError if there is none.

    Nesting deep enough to exhaust the parser's recursion (`[[[[...` from a
    hostile acceptor) raises RecursionError, which is not a ValueError: it
    comes back as the marker _TOO_DEEP instead of ending the round.
    """
    try:
        return json.loads(raw)
    except RecursionError:
        return _TOO_DEEP


def foreign(text: str) -> str:
    """A string an acceptor sent, made fit for a cause: one line, visible, bounded."""
    text = text if len(text) <= MAX_CAUSE else text[:MAX_CAUSE] + "..."
    return visible(text)


def _error_cause(status: int, raw: bytes, path: str, location: Optional[str]) -> str:
    """Why an answer with a status other than 200 counts for nothing, in one line."""
    if status in (404, 405) or 200 <= status < 300:
        return f"{NOT_ACCEPTOR}: {visible(path)} answered {status}"
    if 300 <= status < 400:
        where = foreign(redacted(location)) if location else "nowhere (no Location)"
        return f"HTTP {status}: redirected to {where}; redirects are not followed"
    try:
        body = read_json(raw)
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str) and message:
        return f"HTTP {status}: {foreign(message)}"
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _not_json(raw: bytes, content_type: Optional[str]) -> str:
    head = raw[:256].lstrip().lower()
    if "html" in (content_type or "").lower() or head.startswith((b"<!doctype html", b"<html")):
        return f"{NOT_ACCEPTOR}: the reply is HTML, not JSON"
    return f"{NOT_ACCEPTOR}: the reply is not JSON"


def interpret(
    acceptor: int,
    phase: Phase,
    status: int,
    raw: bytes,
    *,
    content_type: Optional[str] = "application/json",
    encoding: Optional[str] = None,
    location: Optional[str] = None,
    cut_off: bool = False,
    path: Optional[str] = None,
) -> Reply:
    """Classify an HTTP answer. Granted means exactly: 200, a JSON object of the
    protocol's shape, and `ignored` is the JSON value false. Anything else is
    never counted; every answer but a gateway's timeout means the acceptor did
    not act. `path` is what was asked (the phase's route unless given)."""
    def error(cause: str, body: Optional[dict] = None) -> Reply:
        return Reply(acceptor, phase, ERROR, body, cause=cause)

    if cut_off:
        return error(CUT_OFF)
    if encoding not in (None, "", "identity"):
        return error(f"{NOT_ACCEPTOR}: the reply is {foreign(encoding)}-encoded although identity was asked")
    if status in GATEWAY_SILENCE:
        cause = _error_cause(status, raw, path or PHASES[phase][1], location)
        return Reply(acceptor, phase, NO_RESPONSE, cause=f"{cause} (from a gateway: the acceptor may have acted)")
    if status != 200:
        return error(_error_cause(status, raw, path or PHASES[phase][1], location))
    try:
        body = read_json(raw)
    except ValueError:
        return error(_not_json(raw, content_type))
    if body is _TOO_DEEP:
        return error(f"{NOT_ACCEPTOR}: the reply is JSON nested too deeply to read")
    if not isinstance(body, dict):
        return error(f"{NOT_ACCEPTOR}: the reply is a JSON {_JSON_KINDS.get(type(body), 'value')}, not an object")
    problem = _shape(phase, body)
    if problem is not None:
        return error(f"{NOT_ACCEPTOR}: {problem}", body)
    if phase == Phase.STATE:
        return Reply(acceptor, phase, OK, body)
    return Reply(acceptor, phase, GRANTED if body["ignored"] is False else IGNORED, body)
