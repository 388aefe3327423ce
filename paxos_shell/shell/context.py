"""The surface a command handler may use, as a Protocol (litecli's DBCursor idea).

Handlers are typed against this, not against the Shell class, so command
modules never import the application and the package has no import circle.
The Shell implements it; tests may pass anything that does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Protocol, Sequence

from paxos_shell.diagram.marks import RoundMark
from paxos_shell.engine.proposer import Engine
from paxos_shell.engine.session import Session
from paxos_shell.net.client import Client
from paxos_shell.pool.local import Pool
from paxos_shell.shell.render import Renderer
from paxos_shell.shell.results import Block
from paxos_shell.shell.transcript import Transcript


@dataclass(frozen=True)
class LessonStep:
    """The lesson step running now, for listeners (the live view shows it to the class)."""

    lesson: str
    title: str
    number: int
    total: int
    command: str
    notes: tuple[str, ...] = ()


class Pause(Protocol):
    """Asks the teacher at a stop (a lesson step, a duel's turn): what they typed, Enter is ""."""

    def __call__(self, step: str, keys: str = ...) -> str: ...


class Context(Protocol):
    pool: Pool
    session: Session
    engine: Engine
    out: Renderer
    teach: bool
    last: object
    """The last Paxos result (prepare, accept, propose, state) for `explain`."""
    expectations: list[bool]
    """Outcomes of `expect` lines since the current lesson began."""
    pause: Optional[Pause]
    """Set by the REPL: asks the teacher what to do at a lesson step."""
    transcript: Optional[Transcript]
    """The Markdown transcript `record` writes, while it is on."""
    executed: list[str]
    """The command lines `save` writes: every command that ran and changes or reads the pool."""
    listeners: list[Callable[[str], None]]
    """Called with the command line after every command that ran (the live view)."""
    lesson_step: Optional[LessonStep]
    """Set by the lesson runner while a step runs; None outside lessons."""
    round_marks: dict[int, RoundMark]
    """What each round achieved, by round number, as its result said: the diagram's marks."""

    @property
    def client(self) -> Client: ...

    def remember(self, result: object) -> None:
        """Keep a Paxos command's result for `explain` and teach mode (and its rounds' marks)."""

    def mark_rounds(self, result: object) -> None:
        """Keep the marks of a result's rounds, for a result not remembered (a duel's, a bench's)."""

    def show(self, blocks: Sequence[Block]) -> None:
        """Show blocks now, before the command ends (progress during a propose)."""

    def run_step(self, line: str) -> object:
        """Run one lesson step as if typed; a step meant to fail is the lesson, not an error."""

    def lesson_names(self) -> list[str]: ...

    def prompt_text(self) -> str: ...

    def new_session(self) -> None:
        """Forget every proposer, promise and reply: a lesson going back starts over."""
