"""The one error base the user sees, and the one place outcomes become exit codes.

Every error a person can cause (a bad command, a request the proposer refuses
to send, a pool that cannot be built, a bad config file) is a UserError whose
text is the single line printed; the shell catches UserError once, at its
dispatcher, and keeps its session. Exit codes are an IntEnum, as httpie's
ExitStatus, and `exit_status` is the only function that picks one.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Optional


class ExitStatus(IntEnum):
    """What `paxos-shell` and `paxos-acceptor` return to the calling shell."""

    SUCCESS = 0
    ERROR = 1
    """A command failed, or a propose did not reach consensus."""
    USAGE = 2
    """The command line (or the config file it reads) is wrong."""
    INTERRUPTED = 130
    """Ctrl-C outside a round (128 + SIGINT), as shells report it."""


class UserError(Exception):
    """A mistake or a refusal explained in one line; the session goes on.

    `usage` marks errors in how the program was invoked (options, config),
    which end a one-shot run with ExitStatus.USAGE instead of ERROR.
    """

    usage = False

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line

    def __str__(self) -> str:
        return self.line


class InvocationError(UserError):
    """Bad options or config: the program cannot start as asked."""

    usage = True


def exit_status(ok: bool = True, error: Optional[BaseException] = None) -> ExitStatus:
    """The exit code of one command (or of a whole run): its result, or why it ended."""
    if error is None:
        return ExitStatus.SUCCESS if ok else ExitStatus.ERROR
    if isinstance(error, UserError) and error.usage:
        return ExitStatus.USAGE
    if isinstance(error, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED
    return ExitStatus.ERROR
