"""The one command registry: dispatch, help text and completion all read it.

Each command declares its syntax, its flags (with the kind of value each
takes) and the kind of its positional arguments, so that the parser, `help`,
the completer and the toolbar cannot drift apart (litecli's special commands).
Settings and their choices are declared here too, for `set`, `help set` and
completion alike. Commands register by being imported: `shell.commands`
imports them all. Nothing here does I/O.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Union

from paxos_shell.core.errors import UserError
from paxos_shell.core.options import FORMATS, is_whole_number, parse_int
from paxos_shell.core.paxos import MAX_ID
from paxos_shell.core.vocab import Word

if TYPE_CHECKING:
    from paxos_shell.shell.context import Context
    from paxos_shell.shell.results import Result


class ArgKind(Word):
    """What kind of value an argument takes: drives parsing and completion."""

    ID = "id"
    SERVER = "server"
    SERVERS = "servers"
    VALUE = "value"
    COUNT = "count"
    NUMBER = "number"
    SETTING = "setting"
    SETTING_VALUE = "setting value"
    COMMAND = "command"
    TEXT = "text"
    FLAG = "flag"
    PATH = "path"
    PROPOSER = "proposer"
    LESSON = "lesson"
    CHOICE = "choice"


class Group(Word):
    """Sections of `help`, in the order they are listed."""

    PAXOS = "Paxos"
    POOL = "Pool"
    TEACH = "Teaching and debugging"
    SESSION = "Session"


class UsageError(UserError):
    """Bad input to a command: one clear line, and the session goes on."""


class Exit(Exception):
    """Raised by exit/quit to leave the REPL or stop a script."""


@dataclass
class Args:
    """A parsed command line: positionals, and the flags the command declares."""

    positional: list[str] = field(default_factory=list)
    flags: dict[str, Union[str, list[str], bool]] = field(default_factory=dict)

    def text(self, name: str) -> Optional[str]:
        """The value of a flag that takes one value, or None if absent."""
        v = self.flags.get(name)
        return v if isinstance(v, str) else None

    def switch(self, name: str) -> bool:
        return self.flags.get(name) is True

    def many(self, name: str) -> list[str]:
        """The values of a SERVERS flag (empty when absent)."""
        v = self.flags.get(name)
        return list(v) if isinstance(v, list) else []

    def acceptor_ids(self, rest: Optional[list[str]] = None) -> Optional[list[int]]:
        """Acceptor ids named by trailing positionals (`rest`, default all of them) and
        --server-ids, as whole numbers; None when none is named (meaning: all)."""
        raw = list(self.positional if rest is None else rest) + self.many("--server-ids")
        return [parse_int(x, "acceptor id", 1) for x in raw] or None


Handler = Callable[["Context", Args], "Result"]


@dataclass(frozen=True)
class Command:
    name: str
    syntax: str
    summary: str
    about: str
    example: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    flags: dict[str, ArgKind] = field(default_factory=dict)
    positional: tuple[ArgKind, ...] = ()
    group: Group = Group.PAXOS
    choices: tuple[tuple[str, ...], ...] = ()
    """Fixed words for CHOICE positionals, in order of the CHOICE kinds."""
    saved: bool = True
    """Whether `save` keeps it: commands that change or read the pool do, help and the like not."""


@dataclass(frozen=True)
class Setting:
    """A `set NAME VALUE` setting: its help and, if closed, its choices."""

    name: str
    about: str
    choices: tuple[str, ...] = ()


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("format", "output style: table, plain or json", FORMATS),
    Setting("timeout", "seconds a round waits for replies (0.05 to 60)", ("0.5", "1.0", "2.0")),
    Setting("value", "the client value propose and accept fall back on"),
    Setting("id", "the current proposal id"),
    Setting("teach", "on or off: explain each command in Paxos terms", ("on", "off")),
    Setting("present", "on or off: presenter mode for a projector (spacing, no latencies, a pause and "
                       "an explanation after each round)", ("on", "off")),
    Setting("raw", "on or off: always show the raw JSON reply of each acceptor", ("on", "off")),
    Setting("pace", "how a duel or propose advances while a class watches (present mode, the live "
                    "view): enter (wait for Enter), off, or seconds per turn", ("enter", "off", "2")),
)}
SWITCHES = ("teach", "present", "raw")
"""Settings that are on or off."""

REGISTRY: dict[str, Command] = {}
ALIASES: dict[str, str] = {}


def command(
    name: str, syntax: str, summary: str, about: str, example: str, *,
    aliases: tuple[str, ...] = (), flags: Optional[dict[str, ArgKind]] = None,
    positional: tuple[ArgKind, ...] = (), group: Group = Group.PAXOS,
    choices: tuple[tuple[str, ...], ...] = (), saved: bool = True,
) -> Callable[[Handler], Handler]:
    """Register a handler; the decorator form keeps the text next to the code."""

    def register(fn: Handler) -> Handler:
        REGISTRY[name] = Command(name, syntax, summary, about, example, fn, aliases, flags or {},
                                 positional, group, choices, saved)
        for a in aliases:
            ALIASES[a] = name
        return fn

    return register


def lookup(word: str) -> Command:
    name = ALIASES.get(word, word)
    if name in REGISTRY:
        return REGISTRY[name]
    close = difflib.get_close_matches(word, names(), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else "; type 'help' for the list"
    raise UsageError(f"unknown command '{word}'{hint}")


def names() -> list[str]:
    return sorted(list(REGISTRY) + list(ALIASES))


def split(line: str) -> list[str]:
    """The words of a command line, as a POSIX shell splits them; a first word that starts with
    a backslash (psql's `\\q`) is kept as typed, where shlex would drop the backslash."""
    head, _, tail = line.strip().partition(" ")
    try:
        if head.startswith("\\"):
            return [head, *shlex.split(tail, comments=True)]
        return shlex.split(line, comments=True)
    except ValueError as e:
        raise UsageError(f"cannot parse the line: {e}") from None


def parse(cmd: Command, tokens: list[str]) -> Args:
    """Split tokens into positionals and the command's declared flags.

    `--flag=value` and `--flag value` both work; a SERVERS flag takes every
    following integer, like argparse's nargs='+' in the seed scripts.
    """
    args = Args()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--") and len(tok) > 2:
            i = _parse_flag(cmd, tokens, i, args)
        else:
            args.positional.append(tok)
        i += 1
    return args


def _parse_flag(cmd: Command, tokens: list[str], i: int, args: Args) -> int:
    """Store the flag at tokens[i] (and its values); returns the index of its last token."""
    name, eq, inline = tokens[i].partition("=")
    kind = cmd.flags.get(name)
    if kind is None:
        close = difflib.get_close_matches(name, list(cmd.flags), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(f"{cmd.name}: unknown option {name}{hint}")
    if kind == ArgKind.FLAG:
        args.flags[name] = True
    elif kind == ArgKind.SERVERS:
        vals = [inline] if eq else []
        while i + 1 < len(tokens) and is_whole_number(tokens[i + 1]):
            i += 1
            vals.append(tokens[i])
        if not vals:
            raise UsageError(f"{cmd.name}: {name} needs at least one acceptor id")
        args.flags[name] = vals
    elif eq:
        args.flags[name] = inline
    elif i + 1 < len(tokens):
        i += 1
        args.flags[name] = tokens[i]
    else:
        raise UsageError(f"{cmd.name}: {name} needs a value")
    return i


def to_id(text: object) -> int:
    """A proposal id as the protocol allows it: 0 to MAX_ID."""
    return parse_int(text, "id", 0, MAX_ID)


def quote(value: str) -> str:
    return shlex.quote(value)
