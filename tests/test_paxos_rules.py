"""The pure rules: acceptor transitions and the proposer's decisions, no sockets."""

from __future__ import annotations

import random

import pytest

from paxos_shell.core import paxos
from paxos_shell.core.paxos import AcceptorState, Promise

FRESH = AcceptorState()


class TestPrepare:
    def test_fresh_acceptor_promises_zero(self) -> None:
        t = paxos.on_prepare(FRESH, 0)
        assert t.granted and t.changed and t.state == AcceptorState(0, -1, None)

    def test_higher_id_is_promised_and_keeps_accepted_pair(self) -> None:
        t = paxos.on_prepare(AcceptorState(5, 5, "x"), 9)
        assert t.granted and t.state == AcceptorState(9, 5, "x")

    def test_equal_id_is_refused(self) -> None:
        t = paxos.on_prepare(AcceptorState(7, -1, None), 7)
        assert not t.granted and not t.changed and t.state == AcceptorState(7, -1, None)

    def test_lower_id_is_refused(self) -> None:
        t = paxos.on_prepare(AcceptorState(7, 3, "a"), 4)
        assert not t.granted and t.state == AcceptorState(7, 3, "a")


class TestAccept:
    def test_accept_without_prepare_is_allowed(self) -> None:
        t = paxos.on_accept(FRESH, 0, "v")
        assert t.granted and t.state == AcceptorState(0, 0, "v")

    def test_accept_at_promised_id(self) -> None:
        t = paxos.on_accept(AcceptorState(7, -1, None), 7, "test-val")
        assert t.granted and t.state == AcceptorState(7, 7, "test-val")

    def test_accept_above_promise_raises_promise(self) -> None:
        t = paxos.on_accept(AcceptorState(7, -1, None), 9, "v")
        assert t.granted and t.state == AcceptorState(9, 9, "v")

    def test_accept_below_promise_is_refused(self) -> None:
        t = paxos.on_accept(AcceptorState(9, 5, "x"), 8, "y")
        assert not t.granted and t.state == AcceptorState(9, 5, "x")

    def test_repeat_of_same_accept_changes_nothing(self) -> None:
        s = AcceptorState(7, 7, "v")
        t = paxos.on_accept(s, 7, "v")
        assert t.granted and not t.changed

    def test_empty_string_is_a_value(self) -> None:
        t = paxos.on_accept(FRESH, 1, "")
        assert t.state.accepted_value == "" and t.state.accepted_id == 1  # an empty value is still accepted


@pytest.mark.parametrize("n,q", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (99, 50)])
def test_quorum_is_a_majority_of_the_pool(n: int, q: int) -> None:
    assert paxos.quorum(n) == q


class TestChooseValue:
    def test_client_value_when_no_promise_carries_one(self) -> None:
        c = paxos.choose_value([Promise(1, 9), Promise(2, 9)], "mine")
        assert c.value == "mine" and not c.overridden and c.forced_by is None

    def test_prior_accepted_value_overrides(self) -> None:
        c = paxos.choose_value([Promise(3, 9), Promise(2, 9, 7, "test-val")], "BAD")
        assert c.value == "test-val" and c.overridden and c.forced_by == Promise(2, 9, 7, "test-val")
        assert "acceptor 2" in c.reason and "7" in c.reason

    def test_highest_accepted_id_wins(self) -> None:
        c = paxos.choose_value([Promise(1, 9, 3, "old"), Promise(2, 9, 8, "new"), Promise(3, 9, 5, "mid")], "c")
        assert c.value == "new" and c.forced_by is not None and c.forced_by.acceptor == 2

    def test_same_value_as_client_is_not_an_override(self) -> None:
        c = paxos.choose_value([Promise(1, 9, 3, "v")], "v")
        assert c.value == "v" and not c.overridden

    def test_the_reason_shows_the_value_as_everywhere_else(self) -> None:
        """Plain values bare, as the tables show them; a value from the network with a
        terminal escape quoted and escaped, never raw."""
        plain = paxos.choose_value([Promise(2, 9, 7, "test-val")], "c")
        assert "acceptedId=7, value=test-val, the highest" in plain.reason
        hostile = paxos.choose_value([Promise(2, 9, 7, "A\x1b[2J")], "c")
        assert "value='A\\x1b[2J', the highest" in hostile.reason and "\x1b" not in hostile.reason


class TestChosen:
    def test_quorum_at_same_id_is_chosen(self) -> None:
        got = paxos.chosen_values([(1, 7, "v"), (2, 7, "v"), (3, -1, None)], 3)
        assert got == [paxos.Chosen(7, "v", (1, 2))]

    def test_same_value_at_different_ids_is_not_a_quorum(self) -> None:
        assert paxos.chosen_values([(1, 7, "v"), (2, 8, "v")], 3) == []

    def test_minority_is_not_chosen(self) -> None:
        assert paxos.chosen_values([(1, 7, "v"), (2, 7, "v")], 5) == []

    def test_duplicate_facts_count_once(self) -> None:
        assert paxos.chosen_values([(1, 7, "v"), (1, 7, "v")], 3) == []

    def test_two_values_chosen_are_both_reported(self) -> None:
        got = paxos.chosen_values([(1, 1, "a"), (2, 1, "a"), (2, 2, "b"), (3, 2, "b")], 3)
        assert [c.value for c in got] == ["a", "b"]


class TestIdAbove:
    def test_above_everything_seen(self) -> None:
        assert paxos.id_above([3, 9, -1]) == 10
        assert paxos.id_above([]) == 0

    def test_proposer_numbers_never_collide(self) -> None:
        rng = random.Random(1)
        for _ in range(500):
            seen = [rng.randint(-1, 10_000) for _ in range(3)]
            a, b = paxos.id_above(seen, 1), paxos.id_above(seen, 2)
            assert a is not None and b is not None and a != b and a > max(seen) and b > max(seen)
            assert a % paxos.ID_STRIDE == 1 and b % paxos.ID_STRIDE == 2


class TestSafety:
    def test_needs_a_quorum_of_promises_for_that_id(self) -> None:
        s = paxos.accept_safety(7, "v", [Promise(1, 7)], 3)
        assert not s.safe and "prepare 7" in s.reason

    def test_promises_for_another_id_do_not_count(self) -> None:
        s = paxos.accept_safety(7, "v", [Promise(1, 6), Promise(2, 6)], 3)
        assert not s.safe

    def test_free_value_is_safe(self) -> None:
        assert paxos.accept_safety(7, "v", [Promise(1, 7), Promise(2, 7)], 3).safe

    def test_contradicting_value_is_unsafe(self) -> None:
        s = paxos.accept_safety(9, "BAD", [Promise(1, 9, 7, "test-val"), Promise(2, 9)], 3)
        assert not s.safe and s.required == "test-val"

    def test_required_value_is_safe(self) -> None:
        assert paxos.accept_safety(9, "test-val", [Promise(1, 9, 7, "test-val"), Promise(2, 9)], 3).safe


def test_pick_servers_random_subset() -> None:
    rng = random.Random(3)
    got = paxos.pick_servers([1, 2, 3, 4, 5], 2, rng)
    assert len(got) == 2 and set(got) <= {1, 2, 3, 4, 5}
    assert paxos.pick_servers([3, 1, 2], None) == [1, 2, 3]


def test_backoff_grows_and_is_bounded() -> None:
    rng = random.Random(0)
    assert all(0 <= paxos.backoff(a, rng) <= 0.01 * 2 ** min(a, 6) for a in range(10))
    # It grows: the mean pause over many draws doubles with each attempt, until the cap at 6.
    means = [sum(paxos.backoff(a, rng) for _ in range(2000)) / 2000 for a in range(8)]
    assert all(1.6 < means[a + 1] / means[a] < 2.4 for a in range(5))
    assert 0.8 < means[7] / means[6] < 1.2  # capped


class TestOneValuePerId:
    def test_a_second_value_at_an_id_already_sent_is_refused_whatever_the_promises(self) -> None:
        promises = [Promise(1, 5), Promise(2, 5), Promise(3, 5)]
        assert paxos.accept_safety(5, "X", promises, 3).safe
        s = paxos.accept_safety(5, "Y", promises, 3, sent=["X"])
        assert not s.safe and s.required == "X"
        assert s.reason == ("this shell already sent accept 5 X: a proposal id carries one value, so Y needs a "
                            "higher id (prepare one first)")

    def test_resending_the_same_value_is_still_judged_by_the_promises(self) -> None:
        promises = [Promise(1, 5), Promise(2, 5)]
        assert paxos.accept_safety(5, "X", promises, 3, sent=["X"]).safe
        assert not paxos.accept_safety(5, "X", promises[:1], 3, sent=["X"]).safe


class TestIdSpace:
    def test_the_last_id_of_each_proposer_number(self) -> None:
        assert paxos.last_id() == paxos.MAX_ID == 2147483647
        assert paxos.last_id(47) == 2147483647 and paxos.last_id(48) == 2147483548 and paxos.last_id(0) == 2147483600

    def test_no_id_above_the_top_is_ever_returned(self) -> None:
        assert paxos.id_above([paxos.MAX_ID - 1]) == paxos.MAX_ID
        assert paxos.id_above([paxos.MAX_ID]) is None
        assert paxos.id_above([2147483548], 48) is None and paxos.id_above([2147483547], 48) == 2147483548
