"""Ends a round's requests still unanswered at its deadline, from a thread of its own.

A round reads its replies on the caller's thread, one socket after another,
each with a socket timeout; but an acceptor that trickles its reply a byte at
a time never lets a socket timeout fire. The watchdog is armed with the
round's deadline and what to cut, and disarmed when the round ends: arming a
sleeping watchdog costs a lock, not a wake-up, so a round pays almost nothing
for it. It never decides what a cut request means (the client does).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Optional, Protocol, Sequence

from . import signals


class Expirable(Protocol):
    def expire(self) -> None:
        """End the request now; called from the watchdog's thread."""


class Watchdog:
    """One thread, started at the first arm(); at most one deadline armed at a time."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: Optional[float] = None
        self._what: Sequence[Expirable] = ()
        self._wake_at = math.inf
        """When the watchdog's thread wakes next unless notified (inf: only when notified)."""
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def arm(self, due: float, what: Sequence[Expirable]) -> None:
        """Expire `what` at `due` (time.monotonic()) unless disarm() comes first."""
        with self._cond:
            self._due, self._what = due, tuple(what)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="round-watchdog", daemon=True)
                self._thread.start()
            elif self._wake_at > due:  # it sleeps past this deadline: wake it to sleep less
                self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._due, self._what = None, ()

    def close(self) -> None:
        """Stop the thread; a later arm() starts a new one."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._closed, self._due, self._what = True, None, ()
            self._cond.notify_all()
        if thread is not None:
            thread.join()
        with self._cond:
            self._closed = False

    def _run(self) -> None:
        signals.main_thread_only()
        with self._cond:
            while not self._closed:
                if self._due is None:
                    self._wake_at = math.inf
                    self._cond.wait()
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    # Later rounds re-arm meanwhile without waking it: it sleeps on to their deadline.
                    self._wake_at = self._due
                    self._cond.wait(left)
                    continue
                for what in self._what:
                    what.expire()
                self._due, self._what = None, ()
