"""Who a foreign proposer is, who may use a proxy, and where the proxies listen. Pure.

A proposer is labelled by the name in its X-Paxos-Proposer header, else by
its address without the port: the old scripts open a new connection (a new
ephemeral port) per request and are still one proposer. Labels are cut to a
short run of safe characters here, once, so no foreign byte reaches a
terminal, a Mermaid file or the page through a label. A name sent from another
machine carries that machine's address (`main@10.0.0.7`): every student's
shell calls its proposer `main`. No I/O here.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Union

from paxos_shell.core.options import BadValue, parse_int
from paxos_shell.core.text import visible
from paxos_shell.core.urls import is_loopback
from paxos_shell.pool.layout import port_of

MAX_LABEL = 40
"""Characters of a proposer's name kept in its label."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@:+-]")

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@functools.lru_cache(maxsize=1024)
def label_of(name: Optional[str], address: str) -> str:
    """The label of the proposer that sent a request: its name (as sent, made safe), else its address.
    Remembered for the last 1,024 pairs: a proposer sends the same name from the same address."""
    host = address[len("::ffff:"):] if address.startswith("::ffff:") else address  # IPv4 on a v6 socket
    clean = _UNSAFE.sub("_", name.strip())[:MAX_LABEL] if name is not None else ""
    if not clean:
        return host
    return clean if is_loopback(host) else f"{clean}@{host}"


def parse_allow(texts: Iterable[str]) -> tuple[Network, ...]:
    """--allow CIDR (repeatable); ValueError in one line for one that is not a network."""
    out = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"--allow {visible(text)}: expected a network such as 192.168.1.0/24") from None
    return tuple(out)


def allowed(address: str, networks: tuple[Network, ...]) -> bool:
    """May a client at `address` use the proxies? Loopback always may; with no --allow, anyone may."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or not networks:
        return True
    return any(ip in net for net in networks)


@dataclass(frozen=True)
class Ports:
    """Where each acceptor's proxy listens: 0 for any free port."""

    ports: dict[int, int]


def plan_ports(acceptors: Iterable[int], base: Optional[int], given: Iterable[str]) -> Ports:
    """--base-port P (acceptor i on P+i-1, the paxos-server layout) and --port ID=PORT; ValueError."""
    ids = sorted(acceptors)
    ports = {i: (port_of(i, base) if base is not None else 0) for i in ids}
    for text in given:
        key, sep, value = text.partition("=")
        try:
            acceptor, port = parse_int(key.strip(), "acceptor id", 1), parse_int(value.strip(), "port", 1, 65535)
        except BadValue as e:
            raise ValueError(f"--port {visible(text)}: {e}" if sep else
                             f"--port {visible(text)}: expected ID=PORT") from None
        if acceptor not in ports:
            raise ValueError(f"--port {visible(text)}: there is no acceptor {acceptor} in the pool")
        ports[acceptor] = port
    taken = [p for p in ports.values() if p]
    if len(taken) != len(set(taken)):
        raise ValueError("two acceptors' proxies cannot share a port")
    return Ports(ports)
