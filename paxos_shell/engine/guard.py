"""The session's lock: one thread at a time reads or changes a session.

The shell's thread holds it for a whole command (and while it draws the
toolbar), so a command sees one consistent session; the watch's proxy thread
takes it for each foreign round it records. The shell lets go of it while it
waits on the network (a round, which may last its whole timeout), so a foreign
proposer's reply waits at most for the shell's own bookkeeping, never for its
rounds. Re-entrant for the thread that holds it. It never decides anything.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator, Optional


class Guard:
    """A re-entrant lock that its holder can let go of for a while (`released`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: Optional[int] = None
        self._depth = 0

    def __enter__(self) -> Guard:
        me = threading.get_ident()
        if self._owner == me:
            self._depth += 1
            return self
        self._lock.acquire()
        self._owner, self._depth = me, 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()

    @property
    def held(self) -> bool:
        """Held by the calling thread."""
        return self._owner == threading.get_ident()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let go entirely while the caller waits (the network, a keypress); taken back after.
        A thread that does not hold it just runs the block."""
        if not self.held:
            yield
            return
        depth = self._depth
        self._owner, self._depth = None, 0
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._owner, self._depth = threading.get_ident(), depth
