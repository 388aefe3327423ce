"""Durable acceptor state: one small JSON file, replaced atomically.

An acceptor that forgets a promise after a crash breaks Paxos safety, so the
state is on stable storage before any reply acknowledges it: write a temporary
file, fsync it, rename it over the old one, fsync the directory. A kill -9 at
any instant leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Optional

from ..paxos import MAX_ID, NONE, AcceptorState

STATE_FILE = "state.json"
LOCK_FILE = "lock"


class StoreError(Exception):
    """The state cannot be trusted; the acceptor must not start or must not ack."""


class Store:
    """Persists AcceptorState under one directory that only this acceptor uses."""

    def __init__(self, directory: str, durable: bool = True) -> None:
        self.directory = directory
        self.path = os.path.join(directory, STATE_FILE)
        self.durable = durable
        self._lock_fd: Optional[int] = None

    def open(self) -> AcceptorState:
        """Take the directory lock and load the state, or refuse loudly."""
        os.makedirs(self.directory, exist_ok=True)
        fd = os.open(os.path.join(self.directory, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError(f"{self.directory} is in use by another paxos-acceptor") from None
        self._lock_fd = fd
        return self.load()

    def load(self) -> AcceptorState:
        if not self.durable or not os.path.exists(self.path):
            return AcceptorState()
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
            return _decode(data)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise StoreError(
                f"state file {self.path} is unreadable or corrupt ({e}); refusing to start "
                "with an empty state, which could break promises already made. "
                "Move the file away only if this acceptor's promises may be forgotten."
            ) from None

    def save(self, state: AcceptorState) -> None:
        """Return only once `state` would survive a crash; raise OSError if not."""
        if not self.durable:
            return
        data = json.dumps(_encode(state)).encode("utf-8")
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dfd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _encode(state: AcceptorState) -> dict:
    return {
        "promisedId": state.promised_id,
        "acceptedId": state.accepted_id,
        "acceptedValue": state.accepted_value,
    }


def _decode(data: object) -> AcceptorState:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    p, a, v = data["promisedId"], data["acceptedId"], data["acceptedValue"]
    for name, n in (("promisedId", p), ("acceptedId", a)):
        if not isinstance(n, int) or isinstance(n, bool) or not NONE <= n <= MAX_ID:
            raise ValueError(f"{name} is not an id: {n!r}")
    if v is not None and not isinstance(v, str):
        raise ValueError("acceptedValue is not a string")
    if a > p or (a == NONE) != (v is None):
        raise ValueError("acceptedId/acceptedValue are inconsistent with promisedId")
    return AcceptorState(p, a, v)
