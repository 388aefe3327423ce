"""The knowledge model's memory (knowledge/ledger.py): bounded over a long session, and the answers
the shell prints unchanged by what it lets go: a proposal that can still be chosen is kept until it
is, a chosen one is still answered "chosen", and a cap that drops live proposals says so.

The limits are shrunk (monkeypatch) so that a long session takes a few thousand replies, not
100,000; bench/watch_bench.py measures the real ones.
"""

from __future__ import annotations

from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxos_shell.core.paxos import Verdict
from paxos_shell.knowledge import ledger
from paxos_shell.knowledge.breaks import Breach
from paxos_shell.knowledge.facts import Down, Fact, Observation, Outcome, Reported, Request, Reset, Sent
from paxos_shell.knowledge.model import Knowledge
from paxos_shell.knowledge.outlook import Caution
from paxos_shell.shell.verdict import outlook_json

from .helpers.sim import Pool, state_read
from .test_possible import Execution, play_round


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "CHOSEN_KEPT", 5)
    monkeypatch.setattr(ledger, "LIVE_LIMIT", 50)
    monkeypatch.setattr(ledger, "PAST_KEPT", 100)
    monkeypatch.setattr(ledger, "PRUNE_EVERY", 8)


def fresh(n: int = 3) -> tuple[Knowledge, Pool]:
    k = Knowledge(range(1, n + 1))
    k.add(Reset(0, tuple(range(1, n + 1))))
    return k, Pool(n, k)


def rounds(pool: Pool, ids: range, value: str = "A", targets: tuple[int, ...] = ()) -> None:
    """A correct proposer's rounds: prepare, then accept with the value Paxos allows."""
    for n in ids:
        reports = [o.reported.vote for o in pool.prepare(n, targets) if o.reported.vote is not None]
        carried = max(reports, key=lambda v: v.proposal_id).value if reports else value
        pool.accept(n, carried, targets)


def test_a_long_session_keeps_a_bounded_model_and_the_same_verdict() -> None:
    k, pool = fresh()
    rounds(pool, range(1, 3001))
    held = k.held()
    assert held["votes"] <= 5 + 1 + 8 and held["proposals"] <= 8 and held["past"] <= 100, held
    out = k.outlook()
    assert out.headline() == "chosen: A"
    assert len(out.chosen) + out.unlisted == 3000  # every chosen id counted, most not listed
    assert outlook_json(out)["chosenUnlisted"] == out.unlisted > 2800  # `check --json` says so too
    assert out.chosen[0].proposal_id == 1 and out.chosen[-1].proposal_id == 3000
    assert k.outcome(3000, "A").verdict == Verdict.CHOSEN
    assert k.outcome(2990, "A").verdict == Verdict.CHOSEN  # let go, but its voters are remembered
    assert k.outcome(2990, "A").reason == "acceptors 1, 2 and 3 accepted A at id 2990, and a quorum is 2 of 3"


def test_a_proposal_an_acceptor_can_still_complete_is_kept_until_it_is_chosen() -> None:
    k, pool = fresh()
    pool.prepare(5, [1, 2])
    pool.accept(5, "B", [1])            # one vote: 3 never promised anything, so it can still vote at 5
    rounds(pool, range(6, 600), targets=(1, 2))
    pool.accept(5, "B", [3])            # a late accept reaches 3: 'B' at 5 is chosen by 1 and 3
    at5 = [c for c in k.chosen() if c.proposal_id == 5]
    assert [(c.value, c.acceptors) for c in at5] == [("B", (1, 3))]
    assert [o.acceptor for o in at5[0].evidence] == [1, 3]
    assert k.outcome(5, "B").verdict == Verdict.CHOSEN


def test_a_proposal_no_acceptor_can_complete_is_let_go_and_answered_not_chosen() -> None:
    k, pool = fresh()
    pool.prepare(5, [1, 2, 3])
    pool.accept(5, "B", [1])            # 2 and 3 promised 5 and will promise more: only 1 ever votes
    rounds(pool, range(6, 60), value="B")
    assert k.held()["votes"] < 20
    assert k.outcome(5, "B").verdict == Verdict.NOT_CHOSEN
    assert k.outcome(5, "B").reason == "only acceptor 1 accepted B at id 5, and a quorum is 2 of 3"


def test_a_vote_let_go_reported_again_is_not_counted_twice() -> None:
    k, pool = fresh()
    pool.prepare(5)
    pool.accept(5, "B", [1])            # 2 and 3 promised 5, and will promise more: only 1 votes
    rounds(pool, range(6, 60), value="B", targets=(2, 3))
    pool.state([1])                     # acceptor 1 still reports its vote for B at 5
    assert k.outcome(5, "B").verdict == Verdict.NOT_CHOSEN


def test_a_pair_let_go_that_a_rule_breaker_completes_is_chosen_by_both_voters() -> None:
    k, pool = fresh()
    pool.prepare(5)
    pool.accept(5, "B", [1])
    rounds(pool, range(6, 30), value="B", targets=(2, 3))
    k.add(Observation(99, 2, Request.ACCEPT, Outcome.GRANTED, 5, "B", Reported(None, 5, "B", True)))
    assert Breach.ACCEPT_BELOW_PROMISE in {v.rule for v in k.violations()}
    rounds(pool, range(30, 60), value="B", targets=(2, 3))   # (5, B) is let go again, as chosen
    assert k.outcome(5, "B").reason == "acceptors 1 and 2 accepted B at id 5, and a quorum is 2 of 3"


def test_a_repeated_report_of_a_vote_let_go_is_not_a_new_vote() -> None:
    k, pool = fresh()
    rounds(pool, range(1, 200))
    k.add(Observation(999, 1, Request.STATE, Outcome.ANSWERED, reported=Reported(199, 150, "A", True)))
    assert k.outcome(150, "A").verdict == Verdict.CHOSEN
    assert len(k.outlook().chosen) + k.outlook().unlisted == 199


def test_a_value_sent_that_a_quorum_can_still_take_stays_a_future_until_none_can() -> None:
    k, pool = fresh()
    ledger.PRUNE_EVERY = 1
    pool.accept(3, "A", [1])
    pool.accept(4, "C", [2])
    pool.prepare(5)                     # all promise 5: 1 reports A at 3, 2 reports C at 4
    k.add(Sent(99, 5, "B"))             # a proposer sent B at 5; no acceptor has it yet
    assert k.outlook().futures.sentence().startswith("Only A, B or C can ever be chosen")
    assert k.held()["proposals"] == 3
    rounds(pool, range(9, 10), targets=(1, 2, 3))  # every acceptor now holds a vote at 9
    assert k.outlook().headline() == "chosen: C"
    assert k.held()["proposals"] == 1   # 3, 4 and 5 can no longer matter; 9 is the chosen one's


def test_voters_forgotten_past_the_memory_are_unknown_not_guessed() -> None:
    k, pool = fresh()
    rounds(pool, range(1, 400))
    got = k.outcome(3, "A")
    assert got.verdict == Verdict.UNKNOWN
    assert got.reason == ("who accepted A at id 3 is no longer known: the shell keeps the voters of the "
                          "latest 100 proposals it let go")


def test_the_cap_lets_go_of_live_proposals_only_when_it_must_and_says_so() -> None:
    k, pool = fresh()
    k.add(Down(0, 3))
    for n in range(1, 120):             # acceptor 1 alone accepts a new value at each id; 2 and 3
        pool.accept(n, f"v{n}", [1])    # promised nothing, so every one of them could still be chosen
    forgotten = [c for c in k.caveats() if c.kind == Caution.FORGOTTEN]
    assert len(forgotten) == 1 and 60 <= forgotten[0].count <= 69 and forgotten[0].top < 70
    line = next(x for x in k.outlook().summary(2, 3) if "let go" in x)
    assert line.startswith(f"To keep its memory bounded, the shell let go of {forgotten[0].count} proposals up to")
    assert k.outlook().best_effort
    assert k.held()["votes"] <= 50 + 8


def test_nothing_is_let_go_while_the_limits_are_not_reached() -> None:
    k, pool = fresh()
    for n in range(1, 40):
        pool.accept(n, f"v{n}", [1])
    assert not [c for c in k.caveats() if c.kind == Caution.FORGOTTEN]
    assert k.held()["votes"] == 39


class Both:
    """Two models told the same facts (the execution's pool tells one `Knowledge`)."""

    def __init__(self, *models: Knowledge) -> None:
        self.models = models

    def add(self, fact: Fact) -> None:
        for k in self.models:
            k.add(fact)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_letting_go_never_changes_an_answer(data: st.DataObject) -> None:
    """Correct proposers play (test_possible's execution, lost replies included); a model that
    sweeps after every fact answers exactly as one that never sweeps: what may be chosen, what
    is chosen, the violations, and whether each (id, value) ever voted for was chosen."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ledger, "PRUNE_EVERY", 1)
        mp.setattr(ledger, "CHOSEN_KEPT", 0)
        mp.setattr(ledger, "LIVE_LIMIT", 10**6)
        play_and_compare(data)


def play_and_compare(data: st.DataObject) -> None:
    n = data.draw(st.sampled_from([3, 4, 5]), label="pool size")
    lean, whole = Knowledge(range(1, n + 1)), Knowledge(range(1, n + 1))
    both = Both(lean, whole)
    both.add(Reset(0, tuple(range(1, n + 1))))  # a new instance: a new ledger
    whole._ledger.due = lambda: False  # type: ignore[method-assign]  # the reference never sweeps
    run = Execution(n, cast(Knowledge, both))
    for _ in range(data.draw(st.integers(3, 12), label="moves")):
        play_round(run, data, shell=True)
        for a, s in sorted(run.pool.states.items()):
            for k in (lean, whole):
                k.add(state_read(1000, a, s))
        a, b = lean.outlook(), whole.outlook()
        assert (a.futures.kind, a.futures.values) == (b.futures.kind, b.futures.values), b.sentences()
        listed = {(c.proposal_id, c.value): c.acceptors for c in b.chosen}
        assert all(listed[c.proposal_id, c.value] == c.acceptors for c in a.chosen)
        assert len(a.chosen) + a.unlisted == len(b.chosen) and a.headline() == b.headline()
        assert [v.rule for v in a.violations] == [v.rule for v in b.violations]
        for key in list(whole._ledger.votes):
            assert lean.outcome(*key).verdict == whole.outcome(*key).verdict, key
