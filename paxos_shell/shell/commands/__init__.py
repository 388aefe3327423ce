"""The shell's commands. Importing this package registers every one of them.

Each module declares its commands with `registry.command`; this file only
imports them (litecli's `special/__init__.py`), so the registry is complete
whoever imports it first: the shell, the completer's tests, `help`. Commands of the
layers above the shell register themselves the same way (`view`: paxos_shell/view/command.py),
imported by the program that wants them (cli.py), as litecli's app registers app-bound ones.
"""

from paxos_shell.shell.commands import (
    debugcmds,
    paxoscmds,
    poolcmds,
    proposecmds,
    recordcmds,
    sessioncmds,
    teachcmds,
    watchcmds,
)

from paxos_shell.shell.commands import auditcmds  # isort: skip - after debugcmds: help lists in this order

from paxos_shell.shell.commands import lessoncmds  # isort: skip - after teachcmds: help lists in this order

__all__ = ["auditcmds", "debugcmds", "lessoncmds", "paxoscmds", "poolcmds", "proposecmds", "recordcmds", "sessioncmds",
           "teachcmds", "watchcmds"]
