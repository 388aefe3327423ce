"""propose never sends an accept the core judges unsafe (proposer.py's Engine._attempt).

Each test drives a shell on three real acceptors into a propose whose phase 2 the
core refuses, and checks both sides: no accept request left the shell after the
prepare, and the user reads the core's reason under "No Consensus".
"""

from __future__ import annotations

import json

from paxos_shell.core.paxos import Verdict
from paxos_shell.engine.results import ProposeResult
from paxos_shell.shell.app import Shell

from .helpers import run


def _accepts_sent(sh: Shell) -> list[tuple[int, dict[str, object]]]:
    """Every accept request in the history: (acceptor, params)."""
    return [(e.reply.acceptor, dict(e.reply.params or {})) for e in sh.session.history if e.reply.phase == "accept"]


def test_a_second_value_at_an_id_this_shell_used_is_never_sent(shell: Shell) -> None:
    run(shell, "accept 7 A 1 --force")  # id 7 now carries A at acceptor 1
    before = _accepts_sent(shell)
    code, out = run(shell, "propose B 2 3 --id 7")  # 2 and 3 promise 7: a quorum, holding nothing
    assert _accepts_sent(shell) == before == [(1, {"id": 7, "value": "A"})]
    assert code == 1 and "No Consensus" in out and "Sending accept requests" not in out
    assert ("accept 7 B was not sent: this shell already sent accept 7 A: a proposal id carries one value, "
            "so B needs a higher id") in " ".join(out.split())
    res = shell.last
    assert isinstance(res, ProposeResult)
    assert res.verdict == Verdict.NOT_CHOSEN and res.attempts[0].accept is None
    refused = res.attempts[0].refused
    assert refused is not None and not refused.safe and refused.required == "A"
    code, out = run(shell, "check")
    assert "SAFETY VIOLATION" not in out  # no second value at id 7 reached any acceptor


def test_a_value_an_earlier_promise_for_the_id_reports_is_the_one_sent(shell: Shell) -> None:
    """The value comes from every promise held for the id, as accept_safety judges it, not only this round's."""
    run(shell, "accept 5 X 1 --force")
    run(shell, "prepare 7 1")  # acceptor 1 promises 7 and reports X accepted at 5
    code, out = run(shell, "propose B 2 3 --id 7")  # this round's promises carry nothing; acceptor 1's carries X
    assert code == 0 and "Client value overridden due to prior accepted value" in out
    assert [p for _, p in _accepts_sent(shell) if p["id"] == 7] == [{"id": 7, "value": "X"}] * 2
    res = shell.last
    assert isinstance(res, ProposeResult) and res.verdict == Verdict.CHOSEN and res.value == "X"


def test_a_retry_takes_a_higher_id_and_reaches_consensus(shell: Shell) -> None:
    run(shell, "accept 7 A 1 --force")
    run(shell, "set format json")
    code, out = run(shell, "propose B 2 3 --id 7 --retry 1")
    data = json.loads(out)
    assert code == 0 and data["consensus"] and data["value"] == "B" and data["proposalId"] > 7
    first, second = data["attempts"]
    assert first["id"] == 7 and first["accept"] is None and second["accept"] is not None
    assert [p for a, p in _accepts_sent(shell) if p["id"] == 7] == [{"id": 7, "value": "A"}]


def test_an_id_another_proposer_of_this_shell_used_carries_its_value(shell: Shell) -> None:
    """One source for what was sent at an id: the knowledge model, shell-wide, as accept_safety reads it."""
    run(shell, "accept 7 A 1 --force")
    run(shell, "proposer bob")
    code, out = run(shell, "prepare 7 2 3")
    assert code == 0 and "Next: accept 7 A (acceptors 2 and 3 promised id 7, a quorum; id 7 already carries A" \
        in " ".join(out.split())
    code, out = run(shell, "accept")  # bob's accept at 7 resends A, the value id 7 carries
    assert code == 0 and "Chosen: A at id 7" in out
