"""The Shell: one session, one pool, and a line-at-a-time command runner.

The same `run_line` serves the REPL, `-c`, script files and piped stdin, so
every mode behaves alike; only the REPL pulls in the prompt_toolkit UI. This
is the dispatcher: it is the one place that catches a UserError (one line,
the session goes on), renders a command's Result and keeps the exit status.
"""

from __future__ import annotations

import os
import traceback
from typing import Callable, Iterable, NamedTuple, Optional, Sequence, TextIO

from paxos_shell.core.errors import ExitStatus, Tally, UserError, exit_status
from paxos_shell.core.text import visible
from paxos_shell.core.urls import scrub, secret_forms
from paxos_shell.diagram.marks import RoundMark, note_marks
from paxos_shell.engine.guard import Guard
from paxos_shell.engine.proposer import Engine
from paxos_shell.engine.session import AcceptorStatus, Session, Status
from paxos_shell.knowledge.facts import Reset
from paxos_shell.net.client import Client
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.pool.local import Pool
from paxos_shell.runtime import signals
from paxos_shell.shell import commands  # noqa: F401 - importing the package registers every command
from paxos_shell.shell.context import LessonStep, Pause
from paxos_shell.shell.lessons import lesson_names
from paxos_shell.shell.registry import Command, Exit, lookup, parse, split
from paxos_shell.shell.render import Format, Renderer
from paxos_shell.shell.results import Block, Result, Style, Text
from paxos_shell.shell.teach import explain
from paxos_shell.shell.transcript import Transcript


class Ran(NamedTuple):
    """One command as the run's exit code sees it (core/errors.Tally)."""

    status: ExitStatus
    why: str
    error: bool = False
    expectation: bool = False


class Shell:
    """Implements the handlers' Context: what a command may read and change."""

    def __init__(
        self,
        pool: Pool,
        timeout: float = 1.0,
        fmt: Format = Format.TABLE,
        proposer_number: Optional[int] = None,
        stream: Optional[TextIO] = None,
        colour: Optional[bool] = None,
        err: Optional[TextIO] = None,
        options: Optional[ClientOptions] = None,
    ) -> None:
        self.pool = pool
        self.proposer_number = proposer_number
        self.guard = Guard()
        """The one lock of every session this shell makes (engine/guard.py): a lesson going back
        makes a new session while the watch may be recording into the old one."""
        self.session = self._fresh_session()
        self.engine = Engine(Client(pool.urls, timeout, options), self.session, local_pool=pool.local is not None)
        self.out = Renderer(stream, Format(fmt), colour, err)
        self.out.secrets = secret_forms(self.client.options.secrets, self.client.options.auth)
        self.teach = False
        self.tally = Tally()
        self.last: object = None
        self._fresh = False
        self.expectations: list[bool] = []
        self.pause: Optional[Pause] = None
        self.transcript: Optional[Transcript] = None
        self.executed: list[str] = []
        """Every command line that ran and changes or reads the pool, for `save`."""
        self.listeners: list[Callable[[str], None]] = []
        """Called with the command line after every command (the live view listens here)."""
        self.lesson_step: Optional[LessonStep] = None
        self.round_marks: dict[int, RoundMark] = {}

    def _fresh_session(self) -> Session:
        session = Session(self.pool.urls, self.guard)
        session.proposer.number = self.proposer_number
        local = self.pool.local
        if local is not None:
            for i, m in local.members.items():
                session.statuses[i] = Status(kind=AcceptorStatus.UP if m.pid else AcceptorStatus.DOWN,
                                             volatile=m.volatile)
            if local.temporary:
                # A pool in a fresh temporary directory holds nothing: a known start, not an unknown one.
                session.tell(Reset(0, tuple(local.members)))
        return session

    def new_session(self) -> None:
        self.session = self.engine.session = self._fresh_session()
        self.last = None
        self.round_marks = {}

    @property
    def client(self) -> Client:
        return self.engine.client

    # -- running commands ------------------------------------------------------

    @property
    def worst(self) -> ExitStatus:
        """The exit code of the run so far (core/errors.Tally decides it)."""
        return self.tally.status

    def run_line(self, line: str) -> Optional[ExitStatus]:
        """Run one command line; None for a blank or comment line. Raises Exit."""
        ran = self._dispatch(line)
        if ran is None:
            return None
        self.tally.note(ran.status, f"'{visible(line.strip())}' failed: {ran.why}", error=ran.error,
                        expectation=ran.expectation)
        return ran.status

    def run_step(self, line: str) -> Optional[ExitStatus]:
        """A lesson step: run and shown, but a step meant to fail is not an error of the run."""
        ran = self._dispatch(line)
        return None if ran is None else ran.status

    def _dispatch(self, line: str) -> Optional[Ran]:
        """One command, holding the session's guard: the watch records foreign rounds between
        commands, and while a round waits on the network (Engine._round lets go of it)."""
        with self.guard:
            return self._dispatch_held(line)

    def _dispatch_held(self, line: str) -> Optional[Ran]:
        name: Optional[str] = None
        cmd: Optional[Command] = None
        recording = self.transcript
        if recording is not None and line.strip() and not line.lstrip().startswith("#"):
            recording.begin(self.prompt_text(), line.strip())
        try:
            tokens = split(line)
            if not tokens:
                return None
            name = tokens[0]  # what the user typed, until it names a command
            cmd = lookup(name)
            name = cmd.name
            result = self._run(cmd, tokens[1:], line)
            ran = Ran(result.status, result.failure or "its outcome was a failure", expectation=result.expectation)
        except (Exit, BrokenPipeError):
            raise  # leaving, or the reader of our output left: the run ends (cli.py)
        except UserError as e:
            ran = self._failed(str(e), name, recording)
        except KeyboardInterrupt:
            ran = self._failed("interrupted", name, recording)
        except Exception as e:  # never a traceback on screen: one line, details in a log
            message = scrub(f"internal error: {type(e).__name__}: {e}", self.out.secrets)
            ran = self._failed(f"{message} (details in {self._log_crash()})", name, recording)
        if cmd is not None:
            self._notify(line)  # a command that failed may have run rounds first (Ctrl-C in a duel)
        return ran

    def _run(self, cmd: Command, tokens: list[str], line: str) -> Result:
        recording = self.transcript
        self._fresh = False
        result = cmd.handler(self, parse(cmd, tokens))
        if self.teach and self._fresh:
            self._add_explanation(result)
        self.out.render(result)
        if cmd.saved:
            self.executed.append(result.replay or line.strip())
        if recording is not None and recording is self.transcript:
            recording.end(result)
        return result

    def _failed(self, message: str, name: Optional[str], recording: Optional[Transcript]) -> Ran:
        self.out.error(message, name)
        if recording is not None and recording is self.transcript:
            recording.error(message)
            recording.end(None)
        return Ran(exit_status(False), message, error=True)

    def _notify(self, line: str) -> None:
        for listener in list(self.listeners):
            listener(line)

    def run_lines(self, lines: Iterable[str], echo: bool = False) -> ExitStatus:
        """Every line runs even after one fails (a lesson goes on); returns the worst status."""
        for line in lines:
            if echo and line.strip() and not line.lstrip().startswith("#"):
                self.show([Text(f"> {line.rstrip()}", Style.DIM)])
            try:
                self.run_line(line)
            except Exit:
                break
        return self.worst

    def _log_crash(self) -> str:
        from paxos_shell.runtime.dirs import state_dir

        path = os.path.join(state_dir(), "crash.log")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(scrub(traceback.format_exc(), self.out.secrets) + "\n")
        except OSError:
            return "nowhere: the state directory is not writable"
        return path

    # -- the Context handlers use -------------------------------------------------

    def remember(self, result: object) -> None:
        judgement = getattr(result, "judgement", None)
        if judgement is not None:
            judgement.settle()  # what the model says now, before the next command changes it
        self.last = result
        self._fresh = True
        self.mark_rounds(result)

    def mark_rounds(self, result: object) -> None:
        note_marks(self.round_marks, result, self.session.history, self.session.pool_size)

    def show(self, blocks: Sequence[Block]) -> None:
        self.out.show(blocks)
        if self.transcript is not None:
            self.transcript.show(blocks)

    def lesson_names(self) -> list[str]:
        return lesson_names()

    def _add_explanation(self, result: Result) -> None:
        """Teach mode's sentences under the output, less those the output already said word for
        word (after `state`, the possible futures): an explanation adds, it never repeats."""
        sentences = explain(self.last)
        said = {b.text for b in result.blocks if isinstance(b, Text)}
        new = [s for s in sentences if s not in said]
        if new:
            result.say("")
            for s in new:
                result.say(s, Style.DIM, indent=2)
        if sentences:
            result.data["explanation"] = sentences

    # -- the REPL ---------------------------------------------------------------

    def prompt_text(self) -> str:
        p = self.session.proposer
        parts = [f"{self.pool.size} acceptor{'s' if self.pool.size != 1 else ''}"]
        if p.current_id is not None:
            parts.append(f"id {p.current_id}")
        if len(self.session.proposers) > 1:
            parts.append(f"proposer {p.name}")
        return f"paxos[{', '.join(parts)}]> "

    def repl(self) -> ExitStatus:
        """Interactive: leaving with Ctrl-D, exit or quit is a success, as in psql and python."""
        from paxos_shell.shell.ui import build_prompt_session, make_pause

        prompt = build_prompt_session(self)
        self.pause = make_pause(self)
        self.show([Text("Type 'help' for commands, Tab to complete, Ctrl-D to leave.", Style.DIM)])
        while True:
            signals.check()
            try:
                text = prompt.prompt(self.prompt_text)
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            signals.check()  # a signal while the prompt was ending: leave before running its line
            try:
                self.run_line(text)
            except Exit:
                break
        return ExitStatus.SUCCESS

    def close(self) -> None:
        for listener in self.listeners:
            close = getattr(listener, "close", None)
            if callable(close):
                close()  # a listener that holds a server or a thread (the live view) stops with the shell
        if self.transcript is not None:
            self.transcript.close()
        self.client.close()
        self.pool.close()
