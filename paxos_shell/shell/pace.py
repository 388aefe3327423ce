"""Multi-round commands at a pace a class can follow: a duel turn by turn, a propose round by round.

Its job: when someone watches (presenter mode, or the live view among the shell's listeners),
publish each turn to the listeners as it happens (the view draws it) and then wait: for Enter
in the REPL, or the delay `set pace SECONDS` asks for anywhere. `c` at the prompt runs the rest
without stopping, Ctrl-C stops the command as ever. Nobody watching, nothing here waits. The
pace is a setting (`set pace enter|off|SECONDS`); it never changes what a command does.
"""

from __future__ import annotations

import time

from paxos_shell.core.options import PACES
from paxos_shell.shell.context import Context

ENTER, OFF = PACES

KEYS = "Enter: go on, c: run to the end, Ctrl-C: stop"


def watched(ctx: Context) -> bool:
    """A class is looking: the projector (presenter mode) or the live view (a listener); never
    while the shell works quietly (a lesson going back replays its steps unseen)."""
    return (ctx.out.present or bool(ctx.listeners)) and not ctx.out.hushed


class Pacer:
    """One multi-round command's pace; `turn` after each turn (or round) but the last."""

    def __init__(self, ctx: Context, line: str) -> None:
        self.ctx = ctx
        self.line = line.strip()
        self.free = not watched(ctx) or ctx.out.pace == OFF

    def turn(self, label: str) -> None:
        """`label` says what just happened (`turn 3 of 8`): shown at the prompt, and to the view."""
        if not watched(self.ctx):
            return
        for listener in list(self.ctx.listeners):
            # The view draws this turn now, not only the end (a listener's `turn`, if it has one).
            getattr(listener, "turn", listener)(f"{self.line} ({label})")
        if self.free:
            return
        pace = self.ctx.out.pace
        if isinstance(pace, float):
            time.sleep(pace)  # a presenter's delay; Ctrl-C ends it like any wait
        elif self.ctx.pause is not None and self.ctx.pause(label, KEYS).strip().lower() == "c":
            self.free = True
