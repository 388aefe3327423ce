"""The shell's commands. Importing this package registers every one of them.

Each module declares its commands with `registry.command`; this file only
imports them (litecli's `special/__init__.py`), so the registry is complete
whoever imports it first: the shell, the completer's tests, `help`.
"""

from . import debugcmds, paxoscmds, poolcmds, proposecmds, recordcmds, sessioncmds, teachcmds, viewcmds

__all__ = ["debugcmds", "paxoscmds", "poolcmds", "proposecmds", "recordcmds", "sessioncmds", "teachcmds",
           "viewcmds"]
