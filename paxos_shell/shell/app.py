"""The Shell: one session, one pool, and a line-at-a-time command runner.

The same `run_line` serves the REPL, `-c`, script files and piped stdin, so
every mode behaves alike; only the REPL pulls in the prompt_toolkit UI.
"""

from __future__ import annotations

import os
import traceback
from typing import Callable, Iterable, Optional, TextIO

from ..client import Client
from ..pool import Pool
from ..proposer import Engine, ProposerError
from ..session import Session, Status
from . import admin, commands, debugcmds, poolcmds, teachcmds  # noqa: F401 - importing registers commands
from .admin import Exit
from .registry import UsageError, lookup, parse, split
from .render import Output

OK, FAILED = 0, 1


class Shell:
    def __init__(
        self,
        pool: Pool,
        timeout: float = 1.0,
        fmt: str = "table",
        proposer_number: Optional[int] = None,
        stream: Optional[TextIO] = None,
        colour: Optional[bool] = None,
    ) -> None:
        self.pool = pool
        self.client = Client(pool.urls, timeout)
        self.session = Session(pool.size)
        self.session.proposer.number = proposer_number
        self.engine = Engine(self.client, self.session)
        self.out = Output(stream, fmt, colour)
        self.teach = False
        self.faults: dict[int, str] = {}
        self.worst = OK
        self.last: object = None
        self._fresh = False
        self.expectations: list[bool] = []
        self.pause: Optional[Callable[[str], bool]] = None
        """Set by the REPL: waits for Enter between lesson steps; False means stop."""
        if pool.local is not None:
            for i in pool.urls:
                self.session.statuses[i] = Status(kind="up")

    # -- running commands ------------------------------------------------------

    def run_line(self, line: str) -> Optional[int]:
        """Run one command line; None for a blank or comment line. Raises Exit."""
        try:
            tokens = split(line)
            if not tokens:
                return None
            cmd = lookup(tokens[0])
            self._fresh = False
            code = cmd.handler(self, parse(cmd, tokens[1:]))
            if self.teach and self._fresh:
                self.explain_last()
        except Exit:
            raise
        except (UsageError, ProposerError) as e:
            self.out.error(str(e))
            code = FAILED
        except KeyboardInterrupt:
            self.out.error("interrupted")
            code = FAILED
        except Exception as e:  # never a traceback on screen: one line, details in a log
            where = self._log_crash()
            self.out.error(f"internal error: {type(e).__name__}: {e} (details in {where})")
            code = FAILED
        self.worst = max(self.worst, code)
        return code

    def run_lines(self, lines: Iterable[str], echo: bool = False) -> int:
        """Every line runs even after one fails (a lesson goes on); returns the worst code."""
        for line in lines:
            if echo and line.strip() and not line.lstrip().startswith("#") and not self.out.json:
                self.out.line(f"> {line.rstrip()}", "dim")
            try:
                self.run_line(line)
            except Exit:
                break
        return self.worst

    def _log_crash(self) -> str:
        from ..dirs import state_dir

        path = os.path.join(state_dir(), "crash.log")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(traceback.format_exc() + "\n")
        except OSError:
            return "nowhere: the state directory is not writable"
        return path

    # -- hooks used by commands -------------------------------------------------

    def remember(self, result: object) -> None:
        """Keep a Paxos command's result for `explain` and `set teach on`."""
        self.last = result
        self._fresh = True

    def explain_last(self) -> list[str]:
        from .teach import explain

        sentences = explain(self.last)
        if sentences:
            self.out.line("")
            for s in sentences:
                self.out.line(f"  {s}", "dim")
        return sentences

    def after_pool_change(self, ids: list[int], action: str) -> None:
        if action == "reset":
            self.session.forget(ids)
        for i in ids:
            st = self.session.statuses.setdefault(i, Status())
            st.kind = "down" if action == "down" else "up"
            if action != "down":
                self.faults.pop(i, None)  # a new process starts without injected faults

    def lesson_names(self) -> list[str]:
        return teachcmds.lesson_names()

    # -- the REPL ---------------------------------------------------------------

    def prompt_text(self) -> str:
        p = self.session.proposer
        parts = [f"{self.pool.size} acceptor{'s' if self.pool.size != 1 else ''}"]
        if p.current_id is not None:
            parts.append(f"id {p.current_id}")
        if len(self.session.proposers) > 1:
            parts.append(f"proposer {p.name}")
        return f"paxos[{', '.join(parts)}]> "

    def repl(self) -> int:
        from .ui import build_prompt_session, make_pause

        prompt = build_prompt_session(self)
        self.pause = make_pause()
        self.out.line("Type 'help' for commands, Tab to complete, Ctrl-D to leave.", "dim")
        while True:
            try:
                text = prompt.prompt(self.prompt_text)
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            try:
                self.run_line(text)
            except Exit:
                break
        return self.worst

    def close(self) -> None:
        self.client.close()
        self.pool.close()
