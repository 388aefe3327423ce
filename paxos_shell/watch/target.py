"""One acceptor as a proxy reaches it: its address, TLS, and the headers a forwarded request carries.

Its job: read an acceptor's URL and the shell's client options once, when the
watch starts (host, port, path prefix, the https context from --ca-bundle or
--insecure, the Host header, the --header and --auth additions, all encoded
ahead), so forwarding a request only puts lists together: the proposer's
headers but the hop-by-hop ones, the acceptor's own Host, the shell's
additions on top. It never opens a connection (upstream.py does) and never
shows a URL's secret.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from typing import Iterable, Optional
from urllib.parse import quote, urlsplit

from paxos_shell.core.urls import check_url
from paxos_shell.net.clientopts import ClientOptions

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"transfer-encoding", b"upgrade",
                        b"host", b"content-length"})
"""Headers that describe one connection, not the message (RFC 9110 7.6.1): never passed on;
h11 frames each side's message itself (Content-Length)."""


@dataclass(frozen=True)
class Target:
    """One acceptor as the proxy reaches it: address, TLS, the headers every request gets, encoded."""

    host: str
    port: int
    prefix: bytes
    """The URL's path, put before every forwarded request's target."""
    tls: Optional[ssl.SSLContext]
    host_header: tuple[bytes, bytes]
    added: tuple[tuple[bytes, bytes], ...]
    """--header and --auth, added to every request in place of the proposer's own."""
    dropped: frozenset[bytes]
    """Header names (lower case, as h11 reads them) never passed on: HOP_BY_HOP and the added ones."""
    timeout: float


def target_of(url: str, options: ClientOptions, timeout: float) -> Target:
    """The acceptor at `url`, reached with the shell's options; ValueError for a URL it cannot use."""
    check_url(url)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    host = parts.hostname or ""
    headers = list(options.headers)
    if options.auth:
        token = base64.b64encode(f"{options.auth[0]}:{options.auth[1]}".encode()).decode("ascii")
        headers.append(("Authorization", f"Basic {token}"))
    authority = f"[{host}]" if ":" in host else host
    if parts.port:
        authority += f":{parts.port}"
    try:
        added = tuple((n.encode("ascii"), v.encode("latin-1")) for n, v in headers)
    except UnicodeEncodeError:
        raise ValueError("a --header or --auth that HTTP cannot carry (names ASCII, values Latin-1)") from None
    prefix = quote(parts.path.rstrip("/"), safe="/%!$&'()*+,;=:@-._~").encode("ascii")  # as requests sends it
    return Target(host, port, prefix, _tls(options) if https else None,
                  (b"Host", authority.encode("idna" if not authority.isascii() else "ascii")), added,
                  HOP_BY_HOP | {n.lower() for n, _ in added}, timeout)


def _tls(options: ClientOptions) -> ssl.SSLContext:
    if options.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    import certifi  # requests' own CA bundle, the shell's default too

    return ssl.create_default_context(cafile=options.ca_bundle or certifi.where())


def request_headers(target: Target, headers: Iterable[tuple[bytes, bytes]],
                    length: int) -> list[tuple[bytes, bytes]]:
    """The proposer's headers as the acceptor gets them (names in lower case, as h11 reads them):
    its own Host first, the shell's additions on top, the body's length last."""
    out = [target.host_header]
    dropped = target.dropped
    for name, value in headers:
        name = name.lower()
        if name not in dropped:
            out.append((name, value))
    out += target.added
    out.append((b"Content-Length", str(length).encode("ascii")))
    return out
