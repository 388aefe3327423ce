"""The durability judgements (audit/expect.py), pure: what a restart may leave, by the acknowledged
requests before it. The auditor's end-to-end durability tests (test_audit.py) drive real restarts;
here each judgement meets the cases that decide it, one line of output each.
"""

from __future__ import annotations

from paxos_shell.audit.expect import Asked, accept_lost, promise_lost
from paxos_shell.core.paxos import AcceptorState
from paxos_shell.core.wire import Phase

P, A = Phase.PREPARE, Phase.ACCEPT


def test_a_promise_below_an_acknowledged_prepare_is_lost_and_named() -> None:
    asked = [Asked(A, 20, "x", True, True), Asked(P, 30, None, True, True)]
    assert promise_lost(AcceptorState(20, 20, "x"), asked) == (1, "promisedId is 20, below the acknowledged prepare 30")
    assert promise_lost(AcceptorState(30, 20, "x"), asked) is None


def test_an_accept_promises_its_id_too() -> None:
    asked = [Asked(P, 10, None, True, True), Asked(A, 25, "x", True, True)]
    assert promise_lost(AcceptorState(10, -1, None), asked) == (1, "promisedId is 10, below the acknowledged accept 25")


def test_a_request_never_acknowledged_binds_nothing() -> None:
    asked = [Asked(P, 40, None, False, True), Asked(A, 41, "y", False, True)]
    assert promise_lost(AcceptorState(), asked) is None
    assert accept_lost(AcceptorState(), asked) is None


def test_the_last_acknowledged_accept_must_survive() -> None:
    asked = [Asked(A, 20, "old", True, True), Asked(A, 21, "new", True, True)]
    assert accept_lost(AcceptorState(21, 21, "new"), asked) is None
    assert accept_lost(AcceptorState(21, 20, "old"), asked) == (
        1, "the acceptor holds accepted 20: old, not the acknowledged accept 21 new")


def test_a_later_accept_without_a_reply_may_have_taken_effect_but_only_one_that_was_sent() -> None:
    asked = [Asked(A, 20, "kept", True, True), Asked(A, 22, "maybe", False, True)]
    assert accept_lost(AcceptorState(22, 22, "maybe"), asked) is None
    assert accept_lost(AcceptorState(22, 22, "other"), asked) == (
        0, "the acceptor holds accepted 22: other, not the acknowledged accept 20 kept")
    refused = [Asked(A, 20, "kept", True, True), Asked(A, 22, "maybe", False, False)]  # an error answer: not acted
    assert accept_lost(AcceptorState(22, 22, "maybe"), refused) is not None
