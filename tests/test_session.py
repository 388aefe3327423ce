"""What the shell remembers (session.py): promises per proposer, statuses, ids, wipes."""

from __future__ import annotations

from paxos_shell.core.wire import ERROR, GRANTED, IGNORED, NO_RESPONSE, OK, Phase, Reply, Round
from paxos_shell.engine.session import AcceptorStatus, PoolAction, Session


def prepare_round(n: int, *replies: Reply) -> Round:
    return Round(Phase.PREPARE, {"id": n}, list(replies))


def test_a_promise_is_kept_until_a_later_round_says_otherwise() -> None:
    s = Session([1, 2, 3])
    s.record(prepare_round(5, Reply(1, Phase.PREPARE, GRANTED, {"ignored": False, "promisedId": 5}),
                           Reply(2, Phase.PREPARE, IGNORED, {"ignored": True, "promisedId": 9})))
    assert sorted(s.proposer.promises) == [1] and s.proposer.current_id == 5
    assert s.next_id() == 10  # above the 9 that acceptor 2 reported
    s.record(prepare_round(10, Reply(1, Phase.PREPARE, NO_RESPONSE, cause="timeout")))
    assert s.proposer.promises == {}  # a promise for 5 is no use at id 10


def test_statuses_tell_down_from_timeout_from_error() -> None:
    s = Session([1, 2, 3])
    s.record(prepare_round(1, Reply(1, Phase.PREPARE, NO_RESPONSE, cause="connection refused (down)", reached=False),
                           Reply(2, Phase.PREPARE, NO_RESPONSE, cause="timeout"),
                           Reply(3, Phase.PREPARE, ERROR, cause="HTTP 500: disk full")))
    assert [s.statuses[i].kind for i in (1, 2, 3)] == [AcceptorStatus.DOWN, AcceptorStatus.TIMEOUT,
                                                         AcceptorStatus.ERROR]


def test_proposers_own_their_ids() -> None:
    s = Session([1, 2, 3])
    s.record(prepare_round(7, Reply(1, Phase.PREPARE, GRANTED, {"ignored": False, "promisedId": 7})))
    b, created = s.switch("B")
    assert created and b.number == 1 and s.proposers["main"].number == 0
    assert s.next_id() == 101  # above everything seen, and ending in its number


def test_a_reset_forgets_what_the_wiped_acceptors_accepted() -> None:
    s = Session([1, 2, 3])
    s.record(Round(Phase.STATE, {}, [Reply(i, Phase.STATE, OK, {"promisedId": 4, "acceptedId": 4,
                                                                  "acceptedValue": "A"}) for i in (1, 2)]))
    assert [c.value for c in s.chosen()] == ["A"]
    s.faults[1] = "delay 5 ms"
    s.pool_changed([1, 2, 3], PoolAction.RESET)
    assert s.chosen() == () and s.faults == {} and s.statuses[1].kind == AcceptorStatus.UP
