"""A truth audit of the sentences the shell prints about Paxos, through its real output.

Each test replays a scenario in which a sentence used to be false or misleading,
and asserts the true sentence (and that the false one is gone).
"""

from __future__ import annotations

from paxos_shell.shell.app import Shell

from .helpers import run


def words(text: str) -> str:
    return " ".join(text.split())


def said(sh: Shell, line: str) -> str:
    """Everything a command printed, on one line."""
    return words(run(sh, line)[1])


def test_a_carried_value_is_not_called_the_only_possible_one_after_a_forced_accept(local: Shell) -> None:
    for line in ("prepare 3 1 2", "accept 3 A 1 2", "accept 5 B 1 --force", "set teach on"):
        run(local, line)
    out = said(local, "prepare 6 1 3")
    assert "could only be that one" not in out  # A is chosen at id 3, below 6
    assert ("Acceptor 1 reported 'B' accepted at id 5, the highest among the promises, so Paxos obliges this "
            "proposer to carry it; but an accept was forced against Paxos, and 'A' is already chosen (acceptors 1 "
            "and 2 accepted it at id 3).") in out
