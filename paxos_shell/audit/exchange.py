"""The auditor's HTTP: one request and its reply, recorded with their times, on a lane.

A lane is one connection (one requests Session): the linearizability and
durability rules run several at once. Every request becomes an Exchange, the
evidence a report shows: method, path with its query, status, reply body, and
when the request left and its reply came back (seconds since the audit began;
no end when nothing came back, as in Jepsen: an indefinite request). Replies are
read up to 1 MiB and within the request's deadline, so an acceptor that hangs,
trickles or sends 100 MB costs one bounded exchange. Redirects are never
followed. This module never judges a reply against the Paxos rules (expect.py
does) and never uses the shell's round client.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import quote

import requests

from paxos_shell.core.text import visible
from paxos_shell.core.wire import MAX_REPLY, PHASES, Phase, Reply, interpret

BODY_SHOWN = 2000
"""Characters of a reply body kept as evidence: enough for any protocol reply."""
READ_STEP = 65536


@dataclass(frozen=True)
class Exchange:
    """One request and what came back, as the evidence shows it."""

    lane: int
    method: str
    path: str
    start: float
    end: Optional[float]
    status: Optional[int] = None
    body: Optional[str] = None
    cause: Optional[str] = None
    """Why no usable reply came (a timeout, a reset, a cut-off body), None when one did."""
    reply: Optional[Reply] = None
    """The reply as the protocol reads it (wire.interpret), for prepare, accept and state."""

    def record(self) -> dict[str, Any]:
        """The evidence as JSON: the keys the --json schema names."""
        return {"method": self.method, "path": visible(self.path), "status": self.status,
                "body": self.body if self.cause is None else f"({self.cause})",
                "start": round(self.start, 6), "end": None if self.end is None else round(self.end, 6)}

    def said(self) -> str:
        """One line: the request and what came back."""
        what = f"{self.status} {visible(self.body or '')}" if self.status is not None else "no reply"
        if self.cause:
            what = f"{what} ({self.cause})" if self.status is not None else f"no reply ({self.cause})"
        ends = f"{self.end:.4f}" if self.end is not None else "-"
        return f"[c{self.lane} {self.start:.4f}-{ends}] {self.method} {visible(self.path)} -> {what}"


def target(path: str, params: Optional[dict[str, str]] = None) -> str:
    """The path with its query, every parameter percent-encoded (a space as %20, '+' as %2B)."""
    if not params:
        return path
    return path + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())


@dataclass
class Recorder:
    """Every exchange of one audit, in the order they ended, and the audit's clock."""

    t0: float = field(default_factory=time.monotonic)
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def keep(self, x: Exchange) -> Exchange:
        with self.lock:
            self.exchanges.append(x)
        return x


class Lane:
    """One connection to the acceptor: requests on it go one at a time, kept alive."""

    def __init__(self, base: str, number: int, recorder: Recorder, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.number = number
        self.recorder = recorder
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or netrc from the environment: the URL given is the one audited
        self.session.headers["Accept-Encoding"] = "identity"

    def send(self, method: str, path: str, params: Optional[dict[str, str]] = None,
             phase: Optional[Phase] = None) -> Exchange:
        """Send one request and record it; never raises for anything the acceptor does."""
        tgt = target(path, params)
        start = self.recorder.now()
        deadline = time.monotonic() + self.timeout
        try:
            resp = self.session.request(method, self.base + tgt, stream=True, allow_redirects=False,
                                        timeout=(self.timeout, self.timeout))
        except requests.RequestException as e:
            return self.recorder.keep(Exchange(self.number, method, tgt, start, None, cause=_why(e)))
        try:
            raw, cut = _read(resp, deadline)
        except (requests.RequestException, OSError, TimeoutError) as e:
            return self.recorder.keep(Exchange(self.number, method, tgt, start, None, resp.status_code, cause=_why(e)))
        finally:
            resp.close()
        end = self.recorder.now()
        reply = _interpret(phase, resp, raw, cut, path)
        cause = "reply larger than 1 MiB: cut off" if cut else None
        body = raw[:BODY_SHOWN * 4].decode("utf-8", "replace")[:BODY_SHOWN]
        return self.recorder.keep(Exchange(self.number, method, tgt, start, end, resp.status_code, body, cause, reply))

    def close(self) -> None:
        self.session.close()


def _read(resp: requests.Response, deadline: float) -> tuple[bytes, bool]:
    """The body, at most MAX_REPLY bytes, read before the deadline; True when it was cut off."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the reply did not end within the timeout")
        chunk = resp.raw.read1(READ_STEP)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REPLY:
            return b"".join(chunks)[:MAX_REPLY], True


def _interpret(phase: Optional[Phase], resp: requests.Response, raw: bytes, cut: bool, path: str) -> Optional[Reply]:
    if phase is None or PHASES[phase][1] != path:
        return None
    return interpret(1, phase, resp.status_code, raw, content_type=resp.headers.get("Content-Type"),
                     location=resp.headers.get("Location"), cut_off=cut, path=path)


def _why(e: BaseException) -> str:
    """Why a request got no reply, in one line with no traceback."""
    if isinstance(e, (requests.Timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, requests.ConnectionError) and "refused" in str(e).lower():
        return "connection refused"
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return visible(text[:160])
