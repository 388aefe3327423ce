"""How the shell reaches deployed acceptors: TLS, credentials and proxy options, and URLs shown safely.

The options are data, checked once; transport.py applies them to every
request. `redacted` is the one function that makes an acceptor or proxy URL
safe to show: a password in `user:pass@` never reaches a screen, a log or
JSON. This module never imports requests (the shell starts without it) and
never touches the network.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Iterable, Optional
from urllib.parse import urlsplit

from .text import visible

SCHEMES = ("http", "https")
HIDDEN = "***"
"""What stands in for a secret wherever one would be shown."""

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP field name (RFC 9110 token)
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


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value`, as --header takes it. The error never repeats the value (it may be a token)."""
    name, colon, value = text.partition(":")
    name = name.strip()
    if not colon or not _TOKEN.fullmatch(name):
        raise ValueError("bad header: expected 'Name: value' with a name of letters, digits and -")
    value = value.strip()
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError(f"bad header {name}: its value contains a line break or NUL")
    return name, value


def parse_auth(text: str) -> tuple[str, str]:
    """`user:pass`, as --auth takes it (HTTP Basic). The error never repeats the text."""
    user, colon, password = text.partition(":")
    if not colon or not user:
        raise ValueError("bad credentials: expected user:password")
    return user, password


@dataclass(frozen=True, repr=False)
class ClientOptions:
    """How to reach acceptors beyond plain loopback HTTP.

    ca_bundle: a PEM file of CA certificates that https acceptors are verified
    against (default: certifi's bundle). insecure: no certificate checks at
    all. headers: sent with every request. auth: HTTP Basic credentials,
    sent with every request. no_proxy: ignore HTTP_PROXY/HTTPS_PROXY (loopback
    acceptors never use a proxy anyway).
    """

    ca_bundle: Optional[str] = None
    insecure: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    auth: Optional[tuple[str, str]] = None
    no_proxy: bool = False

    def __repr__(self) -> str:
        return f"ClientOptions({', '.join(self.describe()) or 'defaults'})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the password and every header value."""
        return tuple(v for _, v in self.headers) + ((self.auth[1],) if self.auth else ())

    def describe(self) -> list[str]:
        """The options in force, safe to show: header values and the password hidden."""
        out = []
        if self.ca_bundle:
            out.append(f"CA bundle {visible(self.ca_bundle)}")
        if self.insecure:
            out.append("INSECURE: certificates not verified")
        out += [f"header {name}: {HIDDEN}" for name, _ in self.headers]
        if self.auth:
            out.append(f"auth {visible(self.auth[0])}:{HIDDEN}")
        if self.no_proxy:
            out.append("no proxy")
        return out

    def check(self) -> None:
        """ValueError in one line if the options contradict or the CA bundle is unusable."""
        if self.insecure and self.ca_bundle:
            raise ValueError("a CA bundle and insecure mode contradict: choose one")
        if self.ca_bundle is None:
            return
        shown = visible(self.ca_bundle)
        if not os.path.isfile(self.ca_bundle):
            raise ValueError(f"CA bundle {shown}: no such file")
        import ssl  # only here: the shell does not need it otherwise

        try:
            ssl.create_default_context(cafile=self.ca_bundle)
        except (OSError, ssl.SSLError) as e:
            raise ValueError(f"CA bundle {shown}: not a PEM certificate bundle ({visible(str(e))})") from None
