"""URLs made safe to show, and the few facts about a URL that both sides of the wire need.

`redacted` is the one function that makes an acceptor or proxy URL safe to show: a password in
`user:pass@` never reaches a screen, a log or JSON; `scrub` does the same for any text and the
secrets it is given. `is_loopback` is shared by the client (no proxy for loopback), the acceptor
(admin routes from loopback only) and the live view. Pure: no network, no name resolution.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable
from urllib.parse import urlsplit

from paxos_shell.core.text import visible

SCHEMES = ("http", "https")
HIDDEN = "***"
"""What stands in for a secret wherever one would be shown."""

_AUTHORITY = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL)


def redacted(url: str) -> str:
    """`url` with the secret of its `user:pass@` replaced by ***.

    `http://ann:s3cret@h:8081` shows as `http://ann:***@h:8081`; a userinfo
    without a colon is often a token by itself, so `http://tok@h` shows as
    `http://***@h`. Works on malformed URLs too (no parsing that can fail).
    """
    m = _AUTHORITY.fullmatch(url)
    if m is None:  # pragma: no cover - the pattern matches every string
        return url
    authority, rest = m["authority"], m["rest"]
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        if not _password_cut_short(authority, rest):
            return url
        # `http://ann:pa/ss@h`: the password's "/" ended the authority early; hide up to the last @.
        userinfo, _, hostport = (authority + rest).rpartition("@")
        rest = ""
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:{HIDDEN}" if colon else HIDDEN
    return f"{m['scheme'] or ''}{shown}@{hostport}{rest}"


def _password_cut_short(authority: str, rest: str) -> bool:
    """`user:pa` then `/ss@host`: what follows the colon is no port, and an @ comes later."""
    port = authority.rpartition(":")[2]
    return ":" in authority and not authority.startswith("[") and not port.isdigit() and "@" in rest


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]*)@")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` (an error, a traceback) with every URL's `user:pass@` redacted and every
    known secret (a password, a header value) replaced by ***: for crash logs and messages."""
    text = _USERINFO.sub(lambda m: redacted(f"{m['scheme']}{m['userinfo']}@"), text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: never reached through a proxy."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or bool(mapped and mapped.is_loopback)


def check_url(url: str) -> None:
    """ValueError, in one line without secrets, unless `url` is an http(s) URL with a host."""
    shown = visible(redacted(url))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        # Not urllib's own message: it quotes the bad "port", which may be part of a password.
        raise ValueError(f"bad URL {shown}: not a valid host and port") from None
    if parts.scheme not in SCHEMES:
        raise ValueError(f"bad URL {shown}: the scheme must be http or https")
    if not parts.hostname:
        raise ValueError(f"bad URL {shown}: no host")
