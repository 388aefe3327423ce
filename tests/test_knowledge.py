"""The knowledge model: facts folded by epoch and instance, and the answers the shell prints.

Replies come from tests/helpers/sim.py, which answers as the REST protocol does,
so each test reads like a shell session; the issue 9 observations are here in
the words the user will read.
"""

from __future__ import annotations

from itertools import combinations
from typing import Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from paxos_shell.core.paxos import AcceptorState, Verdict
from paxos_shell.knowledge.breaks import Breach
from paxos_shell.knowledge.facts import (
    Down,
    Observation,
    Outcome,
    Recovery,
    Reported,
    Request,
    Reset,
    Sent,
    Up,
    Volatile,
)
from paxos_shell.knowledge.model import Knowledge
from paxos_shell.knowledge.possible import Kind, Known, Unknown, Vote

from .helpers.sim import Pool, state_read


def fresh(n: int = 3) -> tuple[Knowledge, Pool]:
    """A shell that has just reset its local pool: every acceptor known empty."""
    k = Knowledge(range(1, n + 1))
    k.add(Reset(0, tuple(range(1, n + 1))))
    return k, Pool(n, k)


def state(round_no: int, a: int, promised: int, accepted: int = -1, value: Optional[str] = None) -> Observation:
    return Observation(round_no, a, Request.STATE, Outcome.ANSWERED, reported=Reported(promised, accepted, value, True))


class TestIssueObservations:
    def test_1_a_second_forced_value_at_one_id_is_flagged_when_sent(self) -> None:
        k, pool = fresh()
        pool.prepare(5)
        pool.accept(5, "X")
        found = k.add(Sent(3, 5, "Y", forced=True))
        assert [v.sentence() for v in found] == [
            "proposal id 5 carries two values: X (sent by this shell in round 2) and Y (sent by this shell in "
            "round 3): one proposal id carries one value"]

    def test_1_the_values_sent_at_an_id_feed_accept_safety(self) -> None:
        k, pool = fresh()
        pool.prepare(5)
        pool.accept(5, "X", [1])
        k.add(Observation(9, 2, Request.PREPARE, Outcome.IGNORED, 4, None, Reported(5, 5, "Z", True)))
        assert k.values_sent(5) == ("X",) and k.values_sent(6) == ()

    def test_1_and_6_two_chosen_values_lead_every_statement(self) -> None:
        k, pool = fresh()
        pool.prepare(5)
        pool.accept(5, "X")
        pool.accept(5, "Y", forced=True)
        lines = k.outlook().sentences()
        assert lines[0].startswith("SAFETY VIOLATION: proposal id 5 carries two values")
        assert lines[1] == ("SAFETY VIOLATION: two different values were chosen: X at id 5 by acceptors 1, 2 and 3 "
                            "and Y at id 5 by acceptors 1 and 2: at most one value is ever chosen.")
        assert lines[-1].startswith("Best effort from the current states: ")
        assert not any(line.startswith(("Only", "Any")) for line in lines)
        assert [v.rule for v in k.violations()] == [Breach.TWO_VALUES_ONE_ID, Breach.TWO_CHOSEN]

    def test_2_silent_and_unreachable_acceptors_make_the_future_unknown(self) -> None:
        k = Knowledge([1, 2, 3])  # a fresh shell: nothing known yet
        k.add(state(1, 1, 1, 1, "A"))
        k.add(Observation(1, 2, Request.STATE, Outcome.SILENT))
        k.add(Observation(1, 3, Request.STATE, Outcome.UNREACHED))
        assert k.chosen() == ()
        assert k.outlook().sentences() == [
            "Unknown which values can still be chosen: the state of acceptors 2 and 3 is not known: acceptor 2 "
            "did not answer in round 1; acceptor 3 could not be reached in round 1."]

    def test_2_with_every_acceptor_unreachable_nothing_is_claimed(self) -> None:
        k = Knowledge([1, 2, 3])
        for a in (1, 2, 3):
            k.add(Observation(1, a, Request.STATE, Outcome.UNREACHED))
        f = k.outlook().futures
        assert f.kind == Kind.UNKNOWN and f.unknown == (1, 2, 3)

    def test_3_every_quorum_holding_a_value_means_only_those(self) -> None:
        k, pool = fresh()
        pool.prepare(1, [1, 2])
        pool.accept(1, "A", [1])
        pool.prepare(2, [2, 3])
        pool.accept(2, "B", [2])
        assert k.outlook().futures.headline() == "Only A or B can ever be chosen"

    def test_5_http_errors_are_refusals_not_silence(self) -> None:
        k, pool = fresh()
        pool.prepare(1)
        big = "x" * 10_000
        for a in (1, 2, 3):
            k.add(Sent(2, 1, big))
            k.add(Observation(2, a, Request.ACCEPT, Outcome.ERROR, 1, big))
        verdict = k.outcome(1, big)
        assert verdict.verdict == Verdict.NOT_CHOSEN and verdict.reason.startswith("no acceptor accepted")
        assert k.outlook().futures.kind == Kind.ANY

    def test_7_a_promise_below_an_earlier_one_is_flagged_on_arrival_once_in_words(self) -> None:
        k, pool = fresh()
        pool.prepare(5)
        found = k.add(Observation(2, 2, Request.PREPARE, Outcome.GRANTED, 3, None, Reported(3)))
        assert [v.sentence() for v in found] == [
            "acceptor 2 promised 3 in round 2, although in round 1 it promised 5: a promise needs an id above "
            "every earlier promise"]
        k.add(state(3, 2, 3))  # consistent with its new, lower promise: not flagged again
        assert len(k.violations()) == 1
        assert all("{" not in v.sentence() and "None" not in v.sentence() for v in k.violations())


class TestSilence:
    def test_silence_after_an_accept_may_mean_accepted(self) -> None:
        k, pool = fresh()
        pool.prepare(1)
        pool.accept(1, "A", lost=[1, 2])
        assert k.outcome(1, "A").reason == ("acceptor 3 accepted A at id 1; acceptors 1 and 2 went silent and may "
                                            "have accepted it; a quorum is 2 of 3")
        assert k.outcome(1, "A").verdict == Verdict.UNKNOWN
        assert k.state_of(1) == Unknown("went silent after accept 1 A in round 2: it may have accepted it")
        for o in pool.state():
            k.add(o)
        assert k.outcome(1, "A").verdict == Verdict.CHOSEN
        assert k.outlook().futures.values == ("A",)

    def test_silence_after_a_request_that_could_not_change_it_keeps_the_state(self) -> None:
        k, pool = fresh()
        pool.prepare(5)
        pool.prepare(4, lost=[1])           # would have been refused anyway
        assert k.state_of(1) == Known(5, None, 5)

    def test_a_refused_accept_the_known_promise_allowed_means_someone_else_acted(self) -> None:
        k, pool = fresh()
        pool.prepare(5)
        k.add(Observation(2, 1, Request.ACCEPT, Outcome.IGNORED, 5, "A"))
        st = k.state_of(1)
        assert isinstance(st, Unknown) and "someone else has changed it since" in st.why
        assert k.promise_floor(1) == 6


class TestEpochs:
    def test_a_full_reset_starts_a_new_instance(self) -> None:
        k, pool = fresh()
        pool.prepare(1)
        pool.accept(1, "A")
        k.add(Reset(3, (1, 2, 3)))
        assert k.chosen() == () and k.violations() == ()
        assert k.outlook().futures.kind == Kind.ANY

    def test_wiping_some_acceptors_that_held_state_is_amnesia(self) -> None:
        k, pool = fresh()
        pool.prepare(1)
        pool.accept(1, "A", [1, 2])
        (v,) = k.add(Reset(2, (2,)))
        assert v.sentence() == ("acceptor 2 was wiped by reset after round 2 while the others kept their state: it "
                                "forgot promise 1 and A accepted at id 1: acceptors must keep what they acknowledged")
        assert [c.value for c in k.chosen()] == ["A"]  # history stays true
        assert k.outlook().sentences()[0].startswith("SAFETY VIOLATION: acceptor 2 was wiped")

    def test_wiping_an_acceptor_that_held_nothing_is_not_amnesia(self) -> None:
        k, _ = fresh()
        assert k.add(Reset(0, (2,))) == ()

    def test_a_durable_acceptor_keeps_its_state_across_a_crash(self) -> None:
        k, pool = fresh()
        pool.prepare(1)
        pool.accept(1, "A", [1])
        before = k.outlook()
        k.add(Down(2, 1))
        k.add(Up(2, 1, Recovery.DURABLE))
        assert k.outlook() == before and k.violations() == ()

    def test_volatile_acceptor_makes_the_guarantee_conditional_then_forgets(self) -> None:
        k, pool = fresh()
        k.add(Volatile(0, 3))
        pool.prepare(1)
        pool.accept(1, "A", [2, 3])
        assert k.outlook().sentences() == [
            "Only A can ever be chosen: A is chosen (acceptors 2 and 3 accepted it at id 1, a quorum) and every "
            "later proposal must carry it.",
            "This holds only while acceptor 3 does not restart: it keeps its state in memory only."]
        k.add(Down(2, 3))
        pool.states[3] = AcceptorState()
        k.add(Up(2, 3, Recovery.EMPTY))
        lines = k.outlook().sentences()
        assert lines[0] == ("SAFETY VIOLATION: acceptor 3 stopped after round 2 and kept its state in memory only: "
                            "it forgot promise 1 and A accepted at id 1: acceptors must keep what they acknowledged.")
        assert "Best effort from the current states: Any value may still be chosen" in lines[-2]

    def test_the_amnesia_lesson_ends_with_two_values_chosen_and_says_so_first(self) -> None:
        k, pool = fresh()
        k.add(Volatile(0, 3))
        pool.prepare(1)
        pool.accept(1, "A", [2, 3])
        k.add(Down(2, 3))
        pool.states[3] = AcceptorState()
        k.add(Up(2, 3, Recovery.EMPTY))
        pool.prepare(2, [1, 3])
        pool.accept(2, "B", [1, 3])
        assert [v.rule for v in k.violations()] == [Breach.AMNESIA, Breach.TWO_CHOSEN]
        assert [c.value for c in k.chosen()] == ["A", "B"]
        assert all(line.startswith("SAFETY VIOLATION") for line in k.outlook().sentences()[:2])

    def test_an_older_state_after_a_restart_may_be_amnesia(self) -> None:
        k, pool = fresh()
        pool.prepare(1)
        (v,) = k.add(Up(1, 1, Recovery.OLDER))
        assert v.situation == "acceptor 1 came back after round 1 with an older state: it may have forgotten promise 1"
        assert isinstance(k.state_of(1), Unknown)


class TestForcedAccepts:
    def test_a_forced_accept_taken_by_a_quorum_of_a_fresh_pool_is_harmless(self) -> None:
        # The accept-without-prepare lesson: all three take A at 4 with no prepare.
        k, pool = fresh()
        pool.accept(4, "A", forced=True)
        out = k.outlook()
        assert out.guaranteed and out.caveats == () and out.futures.values == ("A",)

    def test_a_forced_accept_that_falls_short_makes_everything_best_effort(self) -> None:
        k, pool = fresh()
        pool.accept(4, "A", [1], forced=True)
        lines = k.outlook().sentences()
        assert lines[0] == ("Accept 4 A was forced in round 1: every guarantee assumes that proposers follow Paxos, "
                            "so what follows is best effort.")
        assert lines[1].startswith("Best effort from the current states: ")


def test_states_read_at_different_moments_are_flagged_when_they_show_it() -> None:
    # The counterexample's acceptor 3 read before it promised 20: only acceptor 2 covers its own vote.
    k, _ = fresh()
    for o in (state(1, 1, 10), state(2, 2, 20, 20, "B"), state(1, 3, 3, 3, "B")):
        k.add(o)
    lines = k.outlook().sentences()
    assert lines[0] == ("Acceptor 2 accepted B at id 20, yet as far as this shell last heard only acceptor 2 can hold "
                        "a promise of 20 or more, not a quorum: these states were not all read at one moment (is "
                        "another proposer at work?), so what follows is best effort.")
    assert lines[1].startswith("Best effort from the current states: ")
    k.add(state(3, 3, 20, 3, "B"))   # read again: consistent now
    assert k.outlook().caveats == () and not k.outlook().best_effort


# --- chosen, against the definition ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 7).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.integers(1, n), st.integers(0, 4), st.sampled_from(["A", "B"])), max_size=12))))
def test_chosen_is_what_a_quorum_accepted_at_one_id(case: tuple[int, list[tuple[int, int, str]]]) -> None:
    """Votes reported by state reads, in any order (ids may even go down): the module's
    chosen values are exactly the pairs some quorum of acceptors all reported."""
    n, reports = case
    k = Knowledge(range(1, n + 1))
    for i, (a, aid, value) in enumerate(reports):
        k.add(state_read(i, a, AcceptorState(aid, aid, value)))
    q = n // 2 + 1
    truth = {(aid, v) for _, aid, v in reports
             if any(all((a, aid, v) in reports for a in s) for s in combinations(range(1, n + 1), q))}
    assert {(c.proposal_id, c.value) for c in k.chosen()} == truth
    assert (Breach.TWO_CHOSEN in {v.rule for v in k.violations()}) == (len({v for _, v in truth}) > 1)


def test_votes_from_replies_of_every_kind_count_towards_chosen() -> None:
    k, pool = fresh()
    pool.prepare(1, [1, 2])
    pool.accept(1, "A", [1])                    # a granted accept
    pool.prepare(2, [2, 3])                     # acceptor 2 never accepted; no vote from it
    k.add(Observation(9, 3, Request.PREPARE, Outcome.IGNORED, 0, None, Reported(2, 1, "A", True)))
    assert [(c.proposal_id, c.value, c.acceptors) for c in k.chosen()] == [(1, "A", (1, 3))]
    assert k.state_of(3) == Known(2, Vote(1, "A"), 2)
