"""state, prepare, accept and propose in-process against real acceptors (shell/commands/paxoscmds.py)."""

from __future__ import annotations

import io
import json
from typing import Any

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.render import Format

from .helpers import dead_url, run, run_split


def test_seed_prepare_accept_state(shell: Shell) -> None:
    code, out = run(shell, "prepare 7 1 2")
    assert code == 0
    assert "Contacting servers: [1, 2]" in out and "ID: 7" in out
    assert "Received promise from: [1, 2]" in out and "Quorum reached" in out
    assert "Next: accept 7" in out
    code, out = run(shell, "accept 7 test-val 1 2")
    assert code == 0 and "Received accepts from: [1, 2]" in out and "Chosen: test-val at id 7" in out
    code, out = run(shell, "get-state")
    assert code == 0
    lines = out.splitlines()
    assert any(line.split()[:5] == ["1", "up", "7", "7", "test-val"] for line in lines)
    assert any(line.split()[:5] == ["3", "up", "-1", "-1", "-"] for line in lines)
    assert "Chosen: test-val (accepted at id 7 by acceptors 1 and 2" in out


def test_propose_overridden_then_consensus(shell: Shell) -> None:
    run(shell, "prepare 7 1 2")
    run(shell, "accept 7 test-val 1 2")
    code, out = run(shell, "propose BAD --id 9")
    assert code == 0
    assert "Client value overridden due to prior accepted value" in out
    assert "acceptor=1, acceptedId=7, value=test-val" in out
    assert "Consensus already reached during prepare phase" in out


def test_propose_reaches_consensus_with_own_value(shell: Shell) -> None:
    code, out = run(shell, "propose good-value --id 9 --contact-count 3")
    assert code == 0
    assert "Sending accept requests with value: good-value" in out
    assert "Consensus Reached" in out and "proposalId=9" in out and "value=good-value" in out


def test_no_consensus_is_exit_1(shell: Shell) -> None:
    code, out = run(shell, "propose v --contact-count 1")
    assert code == 1 and "No Consensus" in out and "quorum is 2" in out


def test_prepare_defaults_to_next_id(shell: Shell) -> None:
    run(shell, "prepare 41 3")
    _, out = run(shell, "prepare")
    assert "ID: 42" in out and "Contacting servers: [1, 2, 3]" in out


def test_prepare_takes_a_non_integer_first_argument_as_a_bad_id(shell: Shell) -> None:
    code, out = run(shell, "prepare 1e3")
    assert code == 1 and out == "error: bad id '1e3': expected a whole number\n"


def test_accept_refuses_a_contradicting_value(shell: Shell) -> None:
    run(shell, "accept 3 first 1 2 --force")
    run(shell, "prepare 5")
    code, out = run(shell, "accept 5 second")
    assert code == 1 and out.startswith("error: refused:") and "--force" in out and len(out.splitlines()) == 1
    code, out = run(shell, "accept")  # defaults: current id 5, required value
    assert code == 0 and "Client value: first" in out


def test_forced_accept_warns(shell: Shell) -> None:
    _, out = run(shell, "accept 9 x 1 --force")
    assert "WARNING: sent with --force although it is unsafe" in out


def test_propose_falls_back_on_the_set_value(shell: Shell) -> None:
    run(shell, "set value fallback")
    code, out = run(shell, "propose")
    assert code == 0 and "Client value: fallback" in out and "value=fallback" in out


def test_json_format(shell: Shell) -> None:
    run(shell, "set format json")
    _, out = run(shell, "prepare 7 1 2")
    data = json.loads(out)
    assert data["command"] == "prepare" and data["promisedBy"] == [1, 2] and data["quorumReached"] is True
    assert data["replies"][0]["reply"] == {"ignored": False, "promisedId": 7}
    _, out = run(shell, "state")
    state = json.loads(out)
    assert state["command"] == "state"
    assert state["acceptors"]["1"] == {"status": "up", "promisedId": 7, "acceptedId": -1, "acceptedValue": None,
                                       "latencyMs": state["acceptors"]["1"]["latencyMs"]}
    code, out, err = run_split(shell, "nope")
    assert code == 1 and json.loads(out) == {"command": "nope",
                                             "error": "unknown command 'nope'; type 'help' for the list"}
    assert err == "error: unknown command 'nope'; type 'help' for the list\n"


def test_unreachable_acceptor_in_state(acceptors: Any) -> None:
    (a,) = acceptors(1)
    sh = Shell(Pool({1: a.url, 2: dead_url()}, "t"), fmt=Format.JSON, stream=io.StringIO(), colour=False)
    _, out = run(sh, "state")
    data = json.loads(out)["acceptors"]
    assert data["2"] == {"status": "down", "error": "connection refused (down)"} and data["1"]["promisedId"] == -1
    sh.out.fmt = Format.TABLE
    _, out = run(sh, "state")
    assert "down" in out and "connection refused" in out
    sh.close()


def test_after_a_forced_accept_the_rules_value_is_never_called_the_value_to_accept(shell: Shell) -> None:
    """A is chosen by 1 and 2; a forced accept put B on 3 at a higher id. Promises from 2 and 3 make
    B the rule's value, yet accepting it would choose a second value: the prepare must not call B
    the value to accept (and then refuse it), and its JSON says the required value is not safe."""
    for line in ("prepare 1", "accept 1 A 1 2", "prepare 2 2 3", "accept 2 B 3 --force"):
        run(shell, line)
    shell.out.fmt = Format.JSON
    _, out = run(shell, "prepare 3 2 3")
    data = json.loads(out)
    assert (data["requiredValue"], data["requiredValueSafe"], data["next"]) == ("B", False, None)
    shell.out.fmt = Format.TABLE
    _, out = run(shell, "prepare 4 2 3")
    flat = " ".join(out.split())
    assert "Value to accept" not in flat and "Paxos requires that value" not in flat
    assert ("The rule's value is B (acceptor 3 reported acceptedId=2, value=B, the highest among the promises), "
            "but it is not safe here: A is chosen: acceptors 1 and 2 accepted it at id 1, so accept 4 B could "
            "choose a second value: no accept is safe to suggest.") in flat


def test_colour_marks_rows_and_no_colour_when_off(shell: Shell) -> None:
    shell.out.colour = True
    _, out = run(shell, "prepare 3")
    assert "\x1b[1;32mgranted\x1b[0m" in out
    shell.out.colour = False
    _, out = run(shell, "prepare 2")
    assert "\x1b[" not in out and "ignored" in out


def test_a_prepare_that_finds_an_accepted_value_names_it_once_with_its_reason(shell: Shell) -> None:
    run(shell, "accept 3 early 1 --force")
    _, out = run(shell, "prepare 5")
    flat = " ".join(out.split())
    assert ("Value to accept: early, because acceptor 1 reported acceptedId=3, value=early, the highest among "
            "the promises; Paxos requires that value.") in flat
    assert "Paxos requires value" not in flat  # it said "Paxos requires value X: ... Paxos requires that value"
