"""Where acceptors live: the paxos-server layout, the ID=URL form, and the listening socket.

Shared by the shell (which lays out and starts pools) and the acceptor (which
finds its peers and binds its port), so the two can never disagree about which
port acceptor 3 has. In the paxos-server layout acceptor i listens on
BASE_PORT + i - 1: 8081, 8082, ... No Paxos here.
"""

from __future__ import annotations

import socket

from paxos_shell.core.options import BadValue, parse_int
from paxos_shell.core.text import visible
from paxos_shell.core.urls import redacted

BASE_PORT = 8081
"""The port of acceptor 1 in the paxos-server layout (the Java servers' 8080 + id)."""

LISTEN_BACKLOG = 1024


def port_of(acceptor: int, base: int = BASE_PORT) -> int:
    """The layout port of an acceptor; ValueError when it falls outside 1..65535."""
    port = base + acceptor - 1
    if not 1 <= port <= 65535:
        raise ValueError(f"acceptor {acceptor} of base port {base} would be on port {port}")
    return port


def parse_id_url(text: str) -> tuple[int, str]:
    """`ID=URL`, as --url, --peer and the config file's `url` lines give an acceptor.

    A bare `host:port` means http://; http:// and https:// are kept. ValueError,
    whose text is the one line to show, when it is not of that form.
    """
    key, sep, url = text.partition("=")
    key, url = key.strip(), url.strip().rstrip("/")
    try:
        acceptor = parse_int(key, "acceptor id", 1)
    except BadValue:
        acceptor = 0
    if not sep or not acceptor or not url:
        raise ValueError(f"expected ID=URL with ID >= 1, got '{_shown(text)}'")
    if "://" not in url:
        url = "http://" + url
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL in '{_shown(text)}'")
    return acceptor, url


def _shown(text: str) -> str:
    """`ID=URL` as given, safe to print: the URL's password hidden, escapes made visible."""
    key, sep, url = text.partition("=")
    id_form = sep and "://" not in key  # else a bare URL, whose password may hold a '='
    return visible(f"{key}{sep}{redacted(url)}" if id_form else redacted(text))


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket; OSError (port in use, bad address) for the caller to say.

    SO_REUSEADDR, so connections left in TIME_WAIT by a crashed run do not hold the port.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock
