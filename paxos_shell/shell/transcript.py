"""Transcripts for handouts: every command and its output, written as Markdown.

While `record FILE` is on, each command becomes a fenced block holding the
prompt line and what the shell printed (drawn again, plainly: no colour, 100
columns, the escapes every screen gets), and a `trace` adds the same rounds as
a Mermaid block, so a handout shows the diagram rendered. `-` is stdout.
"""

from __future__ import annotations

import io
import sys
import time
from typing import Optional, Sequence, TextIO

from paxos_shell.core.urls import scrub
from paxos_shell.shell.render import Format, Renderer
from paxos_shell.shell.results import Block, Result

WIDTH = 100


class Transcript:
    def __init__(self, path: str, title: str, secrets: tuple[str, ...] = ()) -> None:
        self.path = path
        self._file: TextIO = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")
        self._buffer = io.StringIO()
        self._render = Renderer(self._buffer, Format.TABLE, colour=False, err=self._buffer, width=WIDTH)
        self._render.secrets = secrets  # masked here as on the screen: a handout is shown to a class
        self._line: Optional[str] = None
        stamp = time.strftime("%Y-%m-%d %H:%M")
        self._write(f"# {title}\n\nRecorded by paxos-shell on {stamp}.\n")

    def begin(self, prompt: str, line: str) -> None:
        self._line = self._render.safe(f"{prompt}{line}")  # a script's line may hold escapes, or a secret
        self._buffer.seek(0)
        self._buffer.truncate()

    @property
    def in_command(self) -> bool:
        """A command's block is open (begun, not ended): nothing else may be written now."""
        return self._line is not None

    def show(self, blocks: Sequence[Block]) -> None:
        self._render.show(blocks)

    def error(self, line: str) -> None:
        self._buffer.write(f"error: {self._render.safe(line)}\n")

    def end(self, result: Optional[Result]) -> None:
        """Close the command's block: the prompt line, its output, and Mermaid for a trace."""
        if self._line is None:
            return
        if result is not None:
            self._render.render(result)
        body = self._buffer.getvalue().rstrip("\n")
        fence = "````" if "```" in body else "```"
        self._write(f"\n{fence}text\n{self._line}\n{body}\n{fence}\n" if body else f"\n```text\n{self._line}\n```\n")
        mermaid = result.data.get("mermaidText") if result is not None else None
        if isinstance(mermaid, str):
            self._write(f"\n```mermaid\n{scrub(mermaid, self._render.secrets).rstrip()}\n```\n")
        self._line = None

    def close(self) -> None:
        if self._file is not sys.stdout:
            self._file.close()
        else:
            self._file.flush()

    def _write(self, text: str) -> None:
        self._file.write(text)
        self._file.flush()
