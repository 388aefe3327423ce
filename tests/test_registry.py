"""The command registry (shell/registry.py): parsing, lookup, typed arguments."""

from __future__ import annotations

import pytest

from paxos_shell.shell import commands  # noqa: F401 - importing the package registers the commands
from paxos_shell.shell.registry import REGISTRY, SETTINGS, ArgKind, UsageError, lookup, parse, split


def test_flags_inline_separate_and_server_runs() -> None:
    cmd = lookup("accept")
    args = parse(cmd, ["7", "--value=v", "--server-ids", "1", "2", "--force", "x"])
    assert args.positional == ["7", "x"]
    assert args.text("--value") == "v" and args.many("--server-ids") == ["1", "2"] and args.switch("--force")
    assert args.text("--id") is None and args.many("--id") == [] and not args.switch("--value")


@pytest.mark.parametrize("tokens,message", [
    (["--zzz"], "accept: unknown option --zzz"),
    (["--forse"], "accept: unknown option --forse; did you mean --force?"),
    (["--value"], "accept: --value needs a value"),
    (["--server-ids"], "accept: --server-ids needs at least one acceptor id"),
])
def test_bad_flags_say_what_is_wrong(tokens: list[str], message: str) -> None:
    with pytest.raises(UsageError) as e:
        parse(lookup("accept"), tokens)
    assert str(e.value) == message


def test_lookup_by_alias_and_a_suggestion() -> None:
    assert lookup("get-state").name == "state" and lookup("quit").name == "exit"
    with pytest.raises(UsageError, match="unknown command 'stat'; did you mean 'state'"):
        lookup("stat")


def test_split_reports_an_open_quote() -> None:
    assert split("accept 1 'two words' # note") == ["accept", "1", "two words"]
    with pytest.raises(UsageError, match="cannot parse the line"):
        split("accept 1 'open")


def test_every_command_declares_what_help_and_completion_need() -> None:
    for cmd in REGISTRY.values():
        assert cmd.syntax.split()[0] == cmd.name and cmd.summary and cmd.about and cmd.example
        assert all(isinstance(k, ArgKind) for k in list(cmd.flags.values()) + list(cmd.positional))
        assert cmd.positional.count(ArgKind.CHOICE) == len(cmd.choices), cmd.name
    assert set(SETTINGS) == {"format", "timeout", "value", "id", "teach", "present", "raw", "pace"}


def test_the_words_of_other_repls_are_commands_here() -> None:
    # psql's \q and \?, redis-cli's and every shell's clear, ?: from the one table, so help and
    # completion know them too.
    from prompt_toolkit.document import Document

    from paxos_shell.shell.completer import View, complete

    assert split("\\q") == ["\\q"] and lookup(split("\\q")[0]).name == "exit"
    assert lookup("?").name == "help" and lookup("\\?").name == "help" and lookup("clear").name == "clear"
    with pytest.raises(UsageError, match=r"unknown command '\\x'"):  # named as typed, not 'x'
        lookup(split("\\x")[0])
    assert "clear" in [c.text for c in complete(Document("cle"), View())]
