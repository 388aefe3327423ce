"""URLs made safe to show, and the few facts about a URL that both sides of the wire need.

`redacted` is the one function that makes an acceptor or proxy URL safe to show: a password in
`user:pass@` never reaches a screen, a log or JSON; `scrub` does the same for any text and the
secrets it is given (`secret_forms`: every form in which a secret the shell sends may come back,
base64 included), and `scrub_data` for data bound for JSON. `is_loopback` is shared by the
client (no proxy for loopback), the acceptor (admin routes from loopback only) and the live
view. Pure: no network, no name resolution.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Any, Iterable, Optional
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


MIN_SECRET = 4
"""Shorter than this, a "secret" cannot be told from ordinary text (a password `1` would hide
every acceptor 1): it is not masked, and it was no secret."""


def secret_forms(secrets: Iterable[str], auth: Optional[tuple[str, str]] = None) -> tuple[str, ...]:
    """Every form in which something the shell sends may come back in an acceptor's reply: each
    secret as sent and base64-encoded, and for HTTP Basic credentials `user:password`, its base64
    and the whole Authorization value `Basic ...`. Longest first, as scrub wants them."""
    forms: set[str] = set()
    pairs = [f"{auth[0]}:{auth[1]}"] if auth else []
    for s in [*secrets, *(auth[1:] if auth else ()), *pairs]:
        encoded = base64.b64encode(s.encode()).decode()
        forms.update((s, encoded, encoded.rstrip("=")))
    forms.update(f"Basic {base64.b64encode(p.encode()).decode()}" for p in pairs)
    return tuple(sorted((f for f in forms if len(f) >= MIN_SECRET), key=len, reverse=True))


def scrub_data(data: Any, secrets: Iterable[str]) -> Any:
    """JSON-able `data` with every string in it scrubbed (keys too): what `--json` and the live
    view send carries no secret either."""
    secrets = tuple(secrets)
    if isinstance(data, str):
        return scrub(data, secrets)
    if isinstance(data, dict):
        return {scrub_data(k, secrets): scrub_data(v, secrets) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [scrub_data(x, secrets) for x in data]
    return data


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
