"""Judging proposers (knowledge/proposers.py): each rule caught on a planted violation, with its
evidence; quiet on correct proposers, many runs; bounded over 100,000 exchanges; the shell's own
proposers labelled `shell` and `shell:NAME` through the session."""

from __future__ import annotations

import os
from typing import Iterable, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxos_shell.core.paxos import NONE, Promise
from paxos_shell.core.wire import GRANTED, Phase, Reply, Round
from paxos_shell.engine.session import Session
from paxos_shell.knowledge import proposers
from paxos_shell.knowledge.facts import Observation, Outcome, Reported, Request, Reset
from paxos_shell.knowledge.model import Knowledge
from paxos_shell.knowledge.proposers import ProposerJudge, ProposerRule, quorum_choices, shell_label

from .helpers.sim import Pool
from .test_possible import Execution, play_round

WITHOUT, WRONG, REUSED = ProposerRule.ACCEPT_WITHOUT_QUORUM, ProposerRule.ACCEPT_WRONG_VALUE, ProposerRule.ID_REUSED


def promise(rnd: int, a: int, n: int, vote: Optional[tuple[int, str]] = None) -> Observation:
    """Acceptor a's grant of prepare n, reporting `vote` (id, value) accepted, or nothing."""
    rep = Reported(n, vote[0], vote[1], True) if vote else Reported(n)
    return Observation(rnd, a, Request.PREPARE, Outcome.GRANTED, n, None, rep)


def accept(rnd: int, a: int, n: int, value: str, outcome: Outcome = Outcome.GRANTED) -> Observation:
    rep = Reported(None, n, value, True) if outcome == Outcome.GRANTED else Reported()
    return Observation(rnd, a, Request.ACCEPT, outcome, n, value, rep)


def fold(judge: ProposerJudge, who: str, obs: Iterable[Observation]) -> list[proposers.ProposerViolation]:
    return [v for o in obs for v in judge.fold(who, o)]


# --- accept-without-quorum -------------------------------------------------------------


def test_an_accept_after_one_promise_of_two_needed_is_caught_with_its_proof() -> None:
    j = ProposerJudge(quorum=2)
    fold(j, "demo", [promise(1, 3, 5)])
    (v,) = fold(j, "demo", [accept(2, 3, 5, "B")])
    assert (v.rule, v.proposer, v.proposal_id, v.own) == (WITHOUT, "demo", 5, False)
    assert [(e.proposer, e.observation.request, e.observation.acceptor) for e in v.evidence] == [
        ("demo", Request.ACCEPT, 3), ("demo", Request.PREPARE, 3)]  # the accept, then the promise it had
    assert v.sentence() == (
        "proposer demo sent accept 5 B to acceptor 3 in round 2, but only acceptor 3 had granted it prepare 5, "
        "and a quorum is 2 (as far as the record shows: a promise granted before the record began, or not "
        "through it, cannot count): accept-without-quorum (an accept for id n needs a quorum of promises "
        "for n first)")


def test_an_accept_with_no_promise_at_all_says_so_and_is_flagged_once_per_round() -> None:
    j = ProposerJudge(quorum=2)
    found = fold(j, "p", [accept(1, a, 7, "X") for a in (1, 2, 3)])
    assert [v.rule for v in found] == [WITHOUT]  # one accept round to three acceptors: one violation
    assert "no acceptor had granted it prepare 7" in found[0].why and len(found[0].evidence) == 1


def test_promises_to_another_proposer_or_for_another_id_do_not_count() -> None:
    j = ProposerJudge(quorum=2)
    fold(j, "p", [promise(1, 1, 5)])
    fold(j, "q", [promise(2, 2, 5)])         # someone else's promise for 5
    fold(j, "p", [promise(3, 2, 4)])         # p's own promise, but for 4
    (v,) = fold(j, "p", [accept(4, 1, 5, "A")])
    assert v.rule == WITHOUT and "only acceptor 1 had granted it prepare 5" in v.why


def test_an_accept_after_a_quorum_of_promises_is_quiet_even_if_refused() -> None:
    j = ProposerJudge(quorum=2)
    fold(j, "p", [promise(1, 1, 5), promise(1, 2, 5)])
    assert fold(j, "p", [accept(2, 1, 5, "A"), accept(2, 3, 5, "A", Outcome.IGNORED)]) == []
    assert j.violations() == ()


# --- accept-wrong-value ------------------------------------------------------------------


def test_a_value_other_than_the_highest_reported_is_caught() -> None:
    j = ProposerJudge(quorum=2)
    fold(j, "p", [promise(1, 1, 9, (3, "A")), promise(1, 2, 9, (5, "C"))])
    assert fold(j, "p", [accept(2, 1, 9, "C")]) == []  # C at 5 is the highest: the correct choice
    j = ProposerJudge(quorum=2)
    fold(j, "p", [promise(1, 1, 9, (3, "A")), promise(1, 2, 9, (5, "C"))])
    (v,) = fold(j, "p", [accept(2, 1, 9, "A")])
    assert (v.rule, v.proposer, v.proposal_id) == (WRONG, "p", 9)
    assert [e.observation.request for e in v.evidence] == [Request.ACCEPT, Request.PREPARE, Request.PREPARE]
    assert v.why == ("proposer p sent accept 9 A in round 2, but with the promises for 9 from acceptors 1 and 2 "
                     "every quorum requires C (acceptor 2 reported C accepted at id 5, the highest accepted id "
                     "in such a quorum)")


def test_a_quorum_of_promises_reporting_nothing_allows_any_value() -> None:
    j = ProposerJudge(quorum=3)
    fold(j, "p", [promise(1, a, 9) for a in (1, 2, 3)])
    assert fold(j, "p", [accept(2, 1, 9, "anything")]) == []


def test_one_quorum_of_several_that_allows_the_value_is_enough() -> None:
    # Pool of 5, quorum 3: acceptor 1 reports A, 2, 3 and 4 nothing. Quorum {2, 3, 4} allows any value.
    j = ProposerJudge(quorum=3)
    fold(j, "p", [promise(1, 1, 9, (7, "A"))] + [promise(1, a, 9) for a in (2, 3, 4)])
    assert fold(j, "p", [accept(2, 2, 9, "B")]) == []
    # With only 1, 2 and 3, every quorum holds acceptor 1: A is required.
    j = ProposerJudge(quorum=3)
    fold(j, "p", [promise(1, 1, 9, (7, "A"))] + [promise(1, a, 9) for a in (2, 3)])
    (v,) = fold(j, "p", [accept(2, 2, 9, "B")])
    assert v.rule == WRONG and "every quorum requires A" in v.why


def test_each_quorum_decides_its_own_value_and_only_values_no_quorum_allows_are_flagged() -> None:
    # Quorum 3 of 5: {1, 3, 4} and {1, 2, 3} require A (at 7); {2, 3, 4} requires C (at 5).
    promises = [promise(1, 1, 9, (7, "A")), promise(1, 2, 9, (5, "C")), promise(1, 3, 9), promise(1, 4, 9)]
    for value, flagged in (("A", False), ("C", False), ("B", True)):
        j = ProposerJudge(quorum=3)
        fold(j, "p", promises)
        found = fold(j, "p", [accept(2, 1, 9, value)])
        assert bool(found) == flagged, value
    assert "every quorum requires A or C" in found[0].why


def test_promises_from_another_proposers_prepare_do_not_make_a_quorum_that_allows_the_value() -> None:
    j = ProposerJudge(quorum=2)
    fold(j, "p", [promise(1, 1, 9, (3, "A")), promise(1, 2, 9)])
    fold(j, "q", [promise(2, 3, 9)])  # with this one, {2, 3} would allow B: it is q's, not p's
    (v,) = fold(j, "p", [accept(3, 2, 9, "B")])
    assert v.rule == WRONG and [e.proposer for e in v.evidence] == ["p", "p", "p"]


def test_quorum_choices_follows_choose_values_tie_break() -> None:
    # Two promises at the same accepted id with different values (a broken pool): choose_value takes
    # the lowest acceptor's, and the judge asks choose_value, so it agrees.
    ps = [Promise(1, 9, 4, "A"), Promise(2, 9, 4, "B")]
    assert {c.value for c in quorum_choices(ps, "X", 2)} == {"A"}
    # With an empty third promise, quorum {2, 3} has B on top; no quorum is all empty, so X is out.
    assert {c.value for c in quorum_choices([*ps, Promise(3, 9, NONE, None)], "X", 2)} == {"A", "B"}


# --- id-reused ---------------------------------------------------------------------------


def test_one_id_with_two_values_is_caught_once_for_the_second_sender() -> None:
    j = ProposerJudge(quorum=2)
    fold(j, "p", [promise(1, 1, 5), promise(1, 2, 5)])
    fold(j, "p", [accept(2, 1, 5, "A")])
    fold(j, "q", [promise(3, 3, 5), promise(3, 2, 5)])
    found = fold(j, "q", [accept(4, 3, 5, "B"), accept(4, 2, 5, "B")])
    assert [(v.rule, v.proposer) for v in found] == [(REUSED, "q")]
    assert [(e.proposer, e.observation.value) for e in found[0].evidence] == [("q", "B"), ("p", "A")]
    assert found[0].why == ("proposer q sent accept 5 B in round 4, although proposer p had sent accept 5 A "
                            "in round 2")
    assert fold(j, "r", [accept(5, 1, 5, "C")])[0].rule == WITHOUT  # the id is flagged reused once


def test_the_same_value_again_at_an_id_is_no_reuse() -> None:
    j = ProposerJudge(quorum=1)
    fold(j, "p", [promise(1, 1, 5)])
    fold(j, "q", [promise(2, 2, 5)])
    assert fold(j, "p", [accept(3, 1, 5, "A"), accept(4, 1, 5, "A")]) == []
    assert fold(j, "q", [accept(5, 2, 5, "A")]) == []


def test_a_full_reset_starts_a_new_instance_for_the_judge_too() -> None:
    k = Knowledge([1, 2, 3])
    k.proposers.fold("p", accept(1, 1, 5, "A"))
    k.add(Reset(1, (1, 2, 3)))
    assert k.proposers.violations() == ()
    k.proposers.fold("p", promise(2, 1, 5))
    k.proposers.fold("p", promise(2, 2, 5))
    assert k.proposers.fold("p", accept(3, 1, 5, "B")) == ()  # 5 with A was in the old instance


# --- bounded memory ---------------------------------------------------------------------


def test_memory_stays_bounded_over_100000_exchanges() -> None:
    j = ProposerJudge(quorum=2)
    for k in range(50_000):  # a rogue proposer: a promise, then an accept without a quorum, each at a new id
        j.fold("rogue", promise(2 * k, 1 + k % 3, k))
        j.fold("rogue", accept(2 * k + 1, 1 + k % 3, k, f"v{k}"))
    assert len(j._ballots) <= proposers.MAX_IDS and len(j._ids) <= proposers.MAX_IDS
    assert len(j.violations()) == proposers.MAX_KEPT and j.more == 50_000 - proposers.MAX_KEPT
    many = ProposerJudge(quorum=50)
    for k in range(10_000):  # one id, promises from 99 acceptors over and over
        many.fold("p", promise(k, 1 + k % 99, 7))
    assert len(many._ballots[("p", False, 7)].promises) == 99


# --- quiet on correct proposers ------------------------------------------------------------


class Door(Pool):
    """The simulated pool's acceptors, reached by one proposer: every exchange goes to the judge."""

    def __init__(self, run: Watched, label: str) -> None:
        super().__init__(0)
        self.states, self.run, self.label = run.pool.states, run, label

    def _tell(self, obs: list[Observation]) -> list[Observation]:
        for o in obs:
            self.run.flagged.extend(self.run.judge.fold(self.label, o))
        return obs


class Watched(Execution):
    """Correct proposers over a simulated pool, every exchange judged with its proposer's label."""

    def __init__(self, n: int) -> None:
        super().__init__(n, None)
        self.judge = ProposerJudge(self.q)
        self.flagged: list[proposers.ProposerViolation] = []

    def door(self, who: int) -> Pool:
        return Door(self, f"p{who}")


@settings(max_examples=int(os.environ.get("SIM_EXAMPLES", 600)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_correct_proposers_are_never_flagged(data: st.DataObject) -> None:
    """Three correct proposers interleave prepares, held promises and late or partial accepts."""
    run = Watched(data.draw(st.sampled_from([3, 4, 5]), label="pool size"))
    for _ in range(data.draw(st.integers(3, 12), label="moves")):
        play_round(run, data, shell=False)
    assert run.flagged == [], [v.sentence() for v in run.flagged]


# --- through the session: the shell's own proposers ------------------------------------


def granted(a: int, phase: Phase, body: dict) -> Reply:
    return Reply(a, phase, GRANTED, {"ignored": False, **body})


def test_the_shells_forced_accept_is_flagged_as_shell_and_a_foreign_one_by_its_label() -> None:
    s = Session([1, 2, 3])
    s.record(Round(Phase.PREPARE, {"id": 5}, [granted(3, Phase.PREPARE, {"promisedId": 5})]))
    s.record(Round(Phase.ACCEPT, {"id": 5, "value": "B"},
                   [granted(3, Phase.ACCEPT, {"acceptedId": 5, "acceptedValue": "B"})]), forced=True)
    s.switch("demo")
    s.record(Round(Phase.ACCEPT, {"id": 105, "value": "C"},
                   [granted(1, Phase.ACCEPT, {"acceptedId": 105, "acceptedValue": "C"})]), forced=True)
    s.record(Round(Phase.ACCEPT, {"id": 7, "value": "D"},
                   [granted(2, Phase.ACCEPT, {"acceptedId": 7, "acceptedValue": "D"})]), proposer="10.0.0.7:5123")
    found = s.outlook().proposers
    assert [(v.rule, v.proposer, v.own) for v in found] == [
        (WITHOUT, "shell", True), (WITHOUT, "shell:demo", True), (WITHOUT, "10.0.0.7:5123", False)]
    assert found[0].evidence[1].said() == "acceptor 3 promised 5 in round 1 (prepare 5, sent by shell)"
    assert [shell_label(n) for n in ("main", "demo")] == ["shell", "shell:demo"]
    assert not s.outlook().guaranteed  # a foreign proposer broke Paxos: no guarantee is left
