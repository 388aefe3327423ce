"""The one way a test waits for something that happens on another thread or process.

Tests wait on events where they can (threading.Event, a process's exit); where
the only sign is a state to look at (a log line, a socket's TCP state, a port
that answers), they poll it with wait_until, bounded in time. Never a sleep
as a margin.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, every: float = 0.005) -> T:
    """The first true value `condition()` returns, polled every `every` seconds; its last (false)
    value once `timeout` seconds have passed. Callers assert on it, naming what never came."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
