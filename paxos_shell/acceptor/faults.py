"""Injected faults for lessons: delayed, dropped requests and dropped replies.

Off unless the acceptor was started with --faults, and then reachable only
from loopback. Dropping a reply *after* the state changed is the point: it
shows a value chosen without the proposer knowing.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Faults:
    delay_ms: int = 0
    drop_requests: int = 0
    drop_replies: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random()
        self._lock = threading.Lock()

    def update(self, params: dict[str, str]) -> None:
        """Apply `delay_ms`, `drop_requests`, `drop_replies` from a query; ValueError if bad."""
        new = {}
        for key, limit in (("delay_ms", 600_000), ("drop_requests", 100), ("drop_replies", 100)):
            if key in params:
                raw = params[key]
                if not raw.isdigit() or not 0 <= int(raw) <= limit:
                    raise ValueError(f"{key} must be an integer from 0 to {limit}")
                new[key] = int(raw)
        for key, value in new.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def _roll(self, percent: int) -> bool:
        with self._lock:
            return percent > 0 and self._rng.random() * 100 < percent

    def drop_request(self) -> bool:
        return self._roll(self.drop_requests)

    def drop_reply(self) -> bool:
        return self._roll(self.drop_replies)
