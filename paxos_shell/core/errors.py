"""The one error base the user sees, and the one place outcomes become exit codes.

Every error a person can cause (a bad command, a request the proposer refuses
to send, a pool that cannot be built, a bad config file) is a UserError whose
text is the single line printed; the shell catches UserError once, at its
dispatcher, and keeps its session. Exit codes are an IntEnum, as httpie's
ExitStatus, and `exit_status` is the only function that picks one (for a whole run of
commands, through a Tally of what the commands came to).
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class Tally:
    """What a run of commands (`-c`, a script, a pipe) came to, for its exit code and the one
    line that says why it failed. Kept as counts and the first failure of each kind, so a pipe
    of a million lines holds no more than one.

    Three kinds: an error (the command could not run: a typo, a refusal, a dead pool), an
    outcome that failed (a propose without consensus), and an expectation (`expect ...`).
    A run that states its expected outcome with `expect` is judged by its expectations: a
    propose meant to fail (a lesson showing a minority) is then the point, not a failure.
    Errors count either way.
    """

    error: ExitStatus = ExitStatus.SUCCESS
    first_error: str = ""
    outcome: ExitStatus = ExitStatus.SUCCESS
    first_outcome: str = ""
    expectations: int = 0
    unmet: int = 0
    first_unmet: str = ""

    def note(self, status: ExitStatus, what: str, *, error: bool = False, expectation: bool = False) -> None:
        """One command's status; `what` says which command and why, in case it failed."""
        if expectation:
            self.expectations += 1
            if status != ExitStatus.SUCCESS:
                self.unmet += 1
                self.first_unmet = self.first_unmet or what
        elif error:
            self.first_error = self.first_error or (what if status else "")
            self.error = max(self.error, status)
        else:
            self.first_outcome = self.first_outcome or (what if status else "")
            self.outcome = max(self.outcome, status)

    @property
    def status(self) -> ExitStatus:
        if self.expectations:
            stated = ExitStatus.ERROR if self.unmet else ExitStatus.SUCCESS
            return max(self.error, stated)
        return max(self.error, self.outcome)

    def why(self) -> str:
        """The failure that decided the exit code, in one line ("" on success)."""
        if self.status == ExitStatus.SUCCESS:
            return ""
        if self.error:
            return self.first_error
        if self.expectations:
            more = f" ({self.unmet} of {self.expectations} expectations unmet)" if self.unmet > 1 else ""
            return self.first_unmet + more
        return self.first_outcome
