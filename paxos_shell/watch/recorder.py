"""The watch's record: every foreign exchange into the shell's session, and a bounded tally.

Its job: turn each proxied exchange into a one-reply Round (exchange.py) and
record it in whichever session the shell has now, under the label of the
proposer that sent it, before the proxy writes the reply back. It runs on the
proxies' thread and takes the session's guard (Session.record does), so the
shell's commands never see half a round. Beside the session's own history
(HISTORY_LIMIT replies), it keeps counts per proposer for at most MAX_LABELS
labels (the rest are counted together) and the last NOTES notes of
acceptors that gave no reply: memory stays bounded however long a class runs.
A failure to record is a note, never a lost reply. It never writes to a terminal.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Union

from paxos_shell.core.text import visible
from paxos_shell.engine.session import Session
from paxos_shell.watch.exchange import Answered, Asked, Unanswered, round_of

MAX_LABELS = 1000
"""Proposers counted one by one; beyond, they are counted under OTHERS."""
OTHERS = "(others)"
NOTES = 100


class Recorder:
    """Called by the proxies for each protocol exchange; read by the shell under the session's guard."""

    def __init__(self, session: Callable[[], Session], changed: Callable[[], None] = lambda: None) -> None:
        self.session = session
        self.changed = changed
        self.exchanges = 0
        self.by_label: dict[str, int] = {}
        self.notes: deque[str] = deque(maxlen=NOTES)

    def __call__(self, acceptor: int, label: str, request: Asked, answer: Union[Answered, Unanswered],
                 path: str, latency: float, at: float) -> None:
        rnd = round_of(acceptor, request, answer, path, latency, at)
        s = self.session()
        with s.guard:
            try:
                s.record(rnd, proposer=label)
            except Exception as e:  # a bug must not cost the proposer its reply: say it in `watch`
                self._note(f"could not record {label}'s {request.phase} to acceptor {acceptor}: "
                           f"{type(e).__name__}: {visible(str(e))}")
            self.exchanges += 1
            key = label if label in self.by_label or len(self.by_label) < MAX_LABELS else OTHERS
            self.by_label[key] = self.by_label.get(key, 0) + 1
            if isinstance(answer, Unanswered):
                self._note(f"acceptor {acceptor} gave {label} no reply behind its proxy: {answer.cause}")
        self.changed()

    def _note(self, text: str) -> None:
        self.notes.append(f"{time.strftime('%H:%M:%S')} {text}")
