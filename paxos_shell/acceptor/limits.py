"""The acceptor's resource bounds: file descriptors, connections, deadlines, and whom to evict.

Every connection is in one phase (waiting for a request head, being served, idle
between keep-alive requests, lingering after an error, or silenced by an injected
fault), each with a deadline counted from when it entered that phase, so a trickle
of bytes never extends a head's deadline. At the connection limit the table names
the connection to evict: one lingering or silenced first, then the one that has
waited longest for a complete request (a slowloris or a silent socket), and only
then the keep-alive connection idle longest; a connection being served is never
evicted. Pure bookkeeping with times passed in; the only I/O is raising RLIMIT_NOFILE.
"""

from __future__ import annotations

import resource
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Hashable, Iterator, Optional

HEAD_TIMEOUT = 10.0
"""Seconds from a request's first byte (or a new connection's accept) to a complete request."""

IDLE_TIMEOUT = 60.0
"""Seconds a kept-alive connection may wait, silent, for its next request."""

LINGER = 2.0
"""Seconds an error reply's connection keeps draining input before it closes (no reset)."""

SILENCE = 30.0
"""Seconds a request dropped by fault injection keeps its connection open, answering nothing."""

MAX_HEAD = 65536
"""Bytes of request line and headers together; more is a 431."""

MAX_BODY = 65536
"""Bytes of request body read (and ignored: parameters are in the query); more is a 413."""

MAX_CONNECTIONS = 10_000
"""Default cap on client connections, below the file-descriptor budget."""

FD_SPARE = 32
"""Descriptors kept for everything but connections: stdio, the store, the event loop, the log."""

MAX_PEER_CALLS = 256
"""Cap on broadcast calls to peers in flight at once (each holds one descriptor)."""


class ConnPhase(str, Enum):
    """Where a connection is; the order of EVICTION says who goes first at the limit."""

    PENDING = "pending"
    BUSY = "busy"
    IDLE = "idle"
    CLOSING = "closing"
    SILENT = "silent"


EVICTION = (ConnPhase.CLOSING, ConnPhase.SILENT, ConnPhase.PENDING, ConnPhase.IDLE)


@dataclass(frozen=True)
class Limits:
    """The bounds one server runs with; tests shorten the timeouts."""

    max_connections: int = MAX_CONNECTIONS
    peer_calls: int = MAX_PEER_CALLS
    head_timeout: float = HEAD_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    linger: float = LINGER
    silence: float = SILENCE
    max_head: int = MAX_HEAD
    max_body: int = MAX_BODY

    def timeout(self, phase: ConnPhase) -> Optional[float]:
        return {
            ConnPhase.PENDING: self.head_timeout,
            ConnPhase.IDLE: self.idle_timeout,
            ConnPhase.CLOSING: self.linger,
            ConnPhase.SILENT: self.silence,
        }.get(phase)


@dataclass(frozen=True)
class FdBudget:
    """How the soft RLIMIT_NOFILE is shared out."""

    connections: int
    peer_calls: int


def raise_nofile() -> int:
    """Raise the soft descriptor limit to the hard one where allowed; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # a kernel cap (nr_open) below the hard limit: keep what we have
    return soft


def fd_budget(soft: int, cap: int = MAX_CONNECTIONS) -> FdBudget:
    """Connections and peer calls that fit in `soft` descriptors with FD_SPARE left over."""
    usable = max(8, soft - FD_SPARE)
    peers = min(MAX_PEER_CALLS, max(4, usable // 8))
    return FdBudget(max(4, min(cap, usable - peers)), peers)


class ConnectionTable:
    """Connections by phase, each phase ordered by when its members entered it.

    Times only move forward, so appending on every phase change keeps each queue
    sorted: the front is the oldest, which makes both eviction and expiry O(1).
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._phase: dict[Hashable, ConnPhase] = {}
        self._queues: dict[ConnPhase, OrderedDict[Hashable, float]] = {p: OrderedDict() for p in ConnPhase}

    def __len__(self) -> int:
        return len(self._phase)

    @property
    def full(self) -> bool:
        return len(self._phase) >= self.limits.max_connections

    def members(self) -> list[Hashable]:
        return list(self._phase)

    def phase(self, key: Hashable) -> Optional[ConnPhase]:
        return self._phase.get(key)

    def set(self, key: Hashable, phase: ConnPhase, now: float) -> None:
        """Put `key` in `phase` from `now` (a new key is added)."""
        old = self._phase.get(key)
        if old is not None:
            del self._queues[old][key]
        self._phase[key] = phase
        self._queues[phase][key] = now

    def remove(self, key: Hashable) -> None:
        old = self._phase.pop(key, None)
        if old is not None:
            del self._queues[old][key]

    def victim(self) -> Optional[Hashable]:
        """The connection to close to make room, or None when every one is being served."""
        for phase in EVICTION:
            queue = self._queues[phase]
            if queue:
                return next(iter(queue))
        return None

    def expired(self, now: float) -> Iterator[tuple[Hashable, ConnPhase]]:
        """Connections past their phase's deadline, oldest first; the caller closes them."""
        for phase in EVICTION:
            timeout = self.limits.timeout(phase)
            queue = self._queues[phase]
            assert timeout is not None
            late = []
            for key, since in queue.items():
                if now - since < timeout:
                    break
                late.append(key)
            for key in late:
                yield key, phase
