"""The one command registry: dispatch, help text and completion all read it.

Each command declares its syntax, its flags (with the kind of value each
takes) and the kind of its positional arguments, so that the parser, `help`,
the completer and the toolbar cannot drift apart (as litecli's special
commands and iredis' syntax table do).
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Union

if TYPE_CHECKING:
    from .app import Shell

# Kinds of argument, used by the parser and by the completer.
ID = "id"
SERVER = "server"
SERVERS = "servers"
VALUE = "value"
COUNT = "count"
NUMBER = "number"
SETTING = "setting"
COMMAND = "command"
TEXT = "text"
FLAG = "flag"
PATH = "path"
PROPOSER = "proposer"
LESSON = "lesson"


class UsageError(Exception):
    """Bad input to a command: one clear line, and the session goes on."""


@dataclass
class Args:
    positional: list[str] = field(default_factory=list)
    flags: dict[str, Union[str, list[str], bool]] = field(default_factory=dict)

    def get(self, name: str, default: object = None) -> object:
        return self.flags.get(name, default)


@dataclass
class Command:
    name: str
    syntax: str
    summary: str
    about: str
    example: str
    handler: Callable[[Shell, Args], int]
    aliases: tuple[str, ...] = ()
    flags: dict[str, str] = field(default_factory=dict)
    positional: tuple[str, ...] = ()
    group: str = "paxos"


REGISTRY: dict[str, Command] = {}
ALIASES: dict[str, str] = {}


def command(
    name: str, syntax: str, summary: str, about: str, example: str, *,
    aliases: tuple[str, ...] = (), flags: Optional[dict[str, str]] = None,
    positional: tuple[str, ...] = (), group: str = "paxos",
) -> Callable[[Callable[[Shell, Args], int]], Callable[[Shell, Args], int]]:
    """Register a handler; the decorator form keeps the text next to the code."""

    def register(fn: Callable[[Shell, Args], int]) -> Callable[[Shell, Args], int]:
        cmd = Command(name, syntax, summary, about, example, fn, aliases, flags or {}, positional, group)
        REGISTRY[name] = cmd
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
    try:
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
            name, eq, inline = tok.partition("=")
            kind = cmd.flags.get(name)
            if kind is None:
                close = difflib.get_close_matches(name, list(cmd.flags), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise UsageError(f"{cmd.name}: unknown option {name}{hint}")
            if kind == FLAG:
                args.flags[name] = True
            elif kind == SERVERS:
                vals = [inline] if eq else []
                while i + 1 < len(tokens) and tokens[i + 1].lstrip("-").isdigit():
                    i += 1
                    vals.append(tokens[i])
                if not vals:
                    raise UsageError(f"{cmd.name}: {name} needs at least one acceptor id")
                args.flags[name] = vals
            else:
                if eq:
                    args.flags[name] = inline
                elif i + 1 < len(tokens):
                    i += 1
                    args.flags[name] = tokens[i]
                else:
                    raise UsageError(f"{cmd.name}: {name} needs a value")
        else:
            args.positional.append(tok)
        i += 1
    return args


def to_int(text: object, what: str, low: int = 0, high: Optional[int] = None) -> int:
    try:
        n = int(str(text), 10)
    except ValueError:
        raise UsageError(f"bad {what} '{text}': expected a whole number") from None
    if n < low or (high is not None and n > high):
        span = f"{low} to {high}" if high is not None else f"{low} or more"
        raise UsageError(f"bad {what} {n}: expected {span}")
    return n


def is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def quote(value: str) -> str:
    return shlex.quote(value)
