"""How the shell reaches deployed acceptors: TLS, credentials and proxy options.

The options are data, checked once; transport.py applies them to every
request; core/urls.py makes URLs safe to show. This module never imports
requests (the shell starts without it) and never touches the network.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

from paxos_shell.core.text import visible
from paxos_shell.core.urls import HIDDEN

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP field name (RFC 9110 token)


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
