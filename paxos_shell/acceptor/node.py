"""One acceptor: the pure rules, its durable store, and the lock between them.

Each request runs transition -> persist -> reply under one lock, so concurrent
prepares and accepts behave as if they came one at a time, and a reply never
acknowledges a state that is not yet on disk.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from paxos_shell.acceptor.store import Store
from paxos_shell.core import paxos, wire
from paxos_shell.core.paxos import AcceptorState, Transition


class PersistError(Exception):
    """The new state could not be made durable, so it was not granted."""


class AcceptorNode:
    def __init__(self, node_id: int, store: Store, state: Optional[AcceptorState] = None) -> None:
        self.node_id = node_id
        self.store = store
        self.state = state if state is not None else AcceptorState()
        self._lock = threading.Lock()

    def _apply(self, t: Transition) -> Transition:
        if t.changed:
            try:
                self.store.save(t.state)
            except OSError as e:
                # Keep the old state in memory: what is not on disk was never granted.
                raise PersistError(f"could not persist state: {e}") from e
            self.state = t.state
        return t

    def prepare(self, n: int) -> dict[str, Any]:
        with self._lock:
            return wire.prepare_reply(self._apply(paxos.on_prepare(self.state, n)))

    def accept(self, n: int, value: str) -> dict[str, Any]:
        with self._lock:
            return wire.accept_reply(self._apply(paxos.on_accept(self.state, n, value)))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return wire.state_reply(self.state)
