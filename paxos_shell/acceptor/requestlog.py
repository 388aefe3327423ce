"""The acceptor's log: one escaped line per request or event, never at the cost of a reply.

A line is written with one os.write on the log's descriptor, after the reply it
describes (to a pipe or terminal, a PIPE_BUF at a time, once poll says there is
room); a write that fails (a full disk, /dev/full, a closed descriptor, a reader
that stopped reading) loses that line and nothing else: the failure is counted,
never raised, and the next line that can be written says how many were lost and why. Every line passes
through text.visible, so nothing a client sent reaches the log raw. Given a file
(--log-file), the log owns stdout and stderr (so a start-up failure lands there
too) and keeps itself bounded: at max_bytes the file becomes FILE.1 (replacing the
previous one) and a new FILE is started, so the two hold at most about 2 x max_bytes.
It never decides what is logged; callers do.
"""

from __future__ import annotations

import errno
import os
import select
import stat
from typing import Optional

from paxos_shell.core.text import visible

LOG_MAX_BYTES = 512 * 1024
"""Bytes a log file reaches before it is rotated: a local pool's acceptor keeps at most 1 MiB."""

ROTATED = ".1"
"""Suffix of the one rotated file kept."""

STDIO = (1, 2)


class RequestLog:
    """Lines to a descriptor (stderr by default), failures counted, a file rotated at max_bytes."""

    def __init__(self, prefix: str, fd: int = 2, path: Optional[str] = None,
                 max_bytes: int = LOG_MAX_BYTES, stdio: bool = False) -> None:
        self.prefix = prefix
        self.fd, self.path, self.max_bytes = fd, path, max_bytes
        self.targets = STDIO if stdio else (fd,)
        """The descriptors a rotation points at the new file."""
        self.lost = 0
        self.why = ""
        self.size = _size(fd)
        self.room: Optional[select.poll] = None
        """For a pipe, socket or terminal: asked before each write, since a reader that stops
        would block the write, and with it the event loop and every reply."""
        self.cut = False  # a line was cut off mid-way: the next one starts on a line of its own
        if not _regular(fd):
            self.room = select.poll()
            self.room.register(fd, select.POLLOUT)

    @classmethod
    def to_file(cls, prefix: str, path: str, max_bytes: int = LOG_MAX_BYTES) -> RequestLog:
        """A log that appends to `path` and becomes stdout and stderr; OSError if it cannot be opened."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            for target in STDIO:
                os.dup2(fd, target)
        finally:
            os.close(fd)
        return cls(prefix, STDIO[-1], path, max_bytes, stdio=True)

    def __call__(self, line: str) -> None:
        """One request or event line, with this acceptor's prefix."""
        self.say(self.prefix + line)

    def say(self, text: str) -> None:
        """One line as it is (escaped); never raises."""
        data = (visible(text) + "\n").encode("utf-8", "backslashreplace")
        if self.lost:
            gone = f"{self.prefix}{self.lost} log line{'s' if self.lost != 1 else ''} lost: {self.why}\n"
            data = gone.encode() + data
        try:
            self.size += self._write(b"\n" + data if self.cut else data)
        except OSError as e:
            self.lost += 1
            self.why = visible(e.strerror or str(e))
            return
        self.lost, self.cut = 0, False
        if self.path is not None and self.size >= self.max_bytes:
            self._rotate(self.path)

    def _write(self, data: bytes) -> int:
        """os.write, or for a pipe or terminal PIPE_BUF bytes at a time, each only once there is
        room for them: a reader that stopped loses lines, and never stops the acceptor."""
        if self.room is None:
            return os.write(self.fd, data)
        done = 0
        while done < len(data):
            if not self.room.poll(0):
                self.cut = self.cut or done > 0
                raise BlockingIOError(errno.EAGAIN, "the log's reader is not keeping up")
            done += os.write(self.fd, data[done:done + select.PIPE_BUF])
        return done

    def _rotate(self, path: str) -> None:
        """FILE becomes FILE.1 and a fresh FILE takes the log's descriptors. The new file is opened
        first: if that fails (no descriptor, no space), nothing moves and the next attempt
        comes after another eighth of max_bytes, so a failure costs no syscall per line."""
        try:
            fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        except OSError:
            self.size = self.max_bytes - self.max_bytes // 8
            return
        try:
            try:
                os.replace(path, path + ROTATED)
            except FileNotFoundError:
                pass  # someone removed it: the new file simply takes its place
            os.replace(path + ".new", path)
            for target in self.targets:
                os.dup2(fd, target)
            self.size = 0
        except OSError:
            self.size = self.max_bytes - self.max_bytes // 8
        finally:
            os.close(fd)


def _regular(fd: int) -> bool:
    """Whether `fd` is a regular file (never blocks a write), as far as fstat can tell."""
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return True  # closed: every write fails at once, and is counted


def _size(fd: int) -> int:
    try:
        return os.fstat(fd).st_size
    except OSError:
        return 0
