"""Why a request got no HTTP answer, in the words a user debugging a pool needs.

requests and urllib3 wrap the socket's error two or three deep; this module
finds the one that explains it (refused, timeout, TLS, a server that does
not speak HTTP) and says it in one line. It reads exception types and the
system's error strings only, never an exception's message, which would carry
the URL and any password in it. No I/O.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from typing import Any, Iterator, Optional

import urllib3

from paxos_shell.core import wire
from paxos_shell.core.text import visible


def chain(e: BaseException) -> Iterator[BaseException]:
    """`e` and every exception it wraps (requests and urllib3 nest them three deep)."""
    seen: set[int] = set()
    todo: list[Optional[BaseException]] = [e]
    while todo:
        x = todo.pop(0)
        if x is None or id(x) in seen:
            continue
        seen.add(id(x))
        yield x
        reason = getattr(x, "reason", None)
        todo += [reason if isinstance(reason, BaseException) else None, x.__cause__, x.__context__]
        todo += [a for a in x.args if isinstance(a, BaseException)]


def _tls(e: ssl.SSLError) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS: certificate verify failed: {e.verify_message}"
    reason = getattr(e, "reason", None)
    return f"TLS: {reason.lower().replace('_', ' ') if isinstance(reason, str) else e.strerror or 'handshake failed'}"


_CAUSES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Any], ...] = (
    (ssl.SSLError, _tls),
    (ConnectionRefusedError, lambda e: wire.REFUSED),
    ((TimeoutError, urllib3.exceptions.TimeoutError), lambda e: wire.TIMEOUT),
    (socket.gaierror, lambda e: f"unknown host ({e.strerror})"),
    (http.client.RemoteDisconnected, lambda e: "connection closed without reply"),
    ((http.client.IncompleteRead, urllib3.exceptions.IncompleteRead), lambda e: "connection closed mid-reply"),
    (ConnectionResetError, lambda e: "connection reset"),
    (http.client.BadStatusLine, lambda e: f"{wire.NOT_ACCEPTOR}: the reply is not HTTP"),
    (http.client.HTTPException, lambda e: f"bad HTTP reply ({type(e).__name__})"),
)


def describe_error(e: BaseException) -> str:
    """The cause of a missing answer in the words a user debugging a pool needs.

    Built from exception types and the system's error strings only, never
    from an exception's message, which would carry the URL (and its secret).
    """
    found = list(chain(e))
    for kinds, words in _CAUSES:
        for x in found:
            if isinstance(x, kinds):
                return visible(words(x))
    for x in found:
        if isinstance(x, OSError) and x.strerror:
            return visible(x.strerror)
    return type(e).__name__
