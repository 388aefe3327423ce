"""The proposer engine: its rounds and decisions against real acceptor processes (the transport: test_client.py)."""

from __future__ import annotations

from typing import Any

import pytest

from paxos_shell.core.paxos import Verdict
from paxos_shell.core.wire import GRANTED, IGNORED
from paxos_shell.engine.proposer import Engine
from paxos_shell.engine.results import ProposerError
from paxos_shell.engine.session import Session
from paxos_shell.net.client import Client


def engine_for(urls: dict[int, str], timeout: float = 5.0) -> Engine:
    return Engine(Client(urls, timeout), Session(urls))


@pytest.fixture
def three(acceptors: Any) -> Engine:
    accs = acceptors(3)
    eng = engine_for({a.id: a.url for a in accs})
    yield eng
    eng.client.close()


class TestRounds:
    def test_prepare_round_replies_in_order_with_latency(self, three: Engine) -> None:
        res = three.prepare(7, [2, 1])
        assert [r.acceptor for r in res.round.replies] == [2, 1]
        assert all(r.kind == GRANTED and r.promised_id == 7 and r.latency > 0 for r in res.round.replies)
        assert res.promised == [2, 1] and res.quorum_reached

    def test_ignored_reply_carries_the_higher_promise(self, three: Engine) -> None:
        three.prepare(9, [1])
        res = three.prepare(8, [1, 2])
        r1 = res.round.replies[0]
        assert r1.kind == IGNORED and r1.promised_id == 9
        assert res.promised == [2] and not res.quorum_reached and res.hint.command == "prepare 10"

    def test_history_records_every_request(self, three: Engine) -> None:
        three.prepare(5)
        three.accept(5, "v")
        three.state()
        h = list(three.session.history)
        assert [(e.reply.phase, e.reply.acceptor) for e in h] == [
            (p, i) for p in ("prepare", "accept", "state") for i in (1, 2, 3)]
        assert h[3].reply.params == {"id": 5, "value": "v"} and h[3].round_no == 2


class TestDecisions:
    def test_seed_walkthrough(self, three: Engine) -> None:
        """prepare 7 to 1,2; accept test-val; propose BAD is overridden; already chosen."""
        assert three.prepare(7, [1, 2]).quorum_reached
        acc = three.accept(7, "test-val", [1, 2])
        assert acc.outcome.verdict == Verdict.CHOSEN and acc.outcome.accepted_by == (1, 2)
        res = three.propose("BAD", n=9)
        assert res.ok and res.early and res.value == "test-val" and res.proposal_id == 7
        ch = res.attempts[0].prepare.choice
        assert ch is not None and ch.overridden and ch.forced_by is not None and ch.forced_by.accepted_id == 7

    def test_propose_with_own_value(self, three: Engine) -> None:
        res = three.propose("good-value", n=9)
        assert res.ok and not res.early and res.value == "good-value" and res.proposal_id == 9
        assert three.state().outlook.chosen[0].value == "good-value"

    def test_override_by_prior_accept_that_was_not_chosen(self, three: Engine) -> None:
        three.prepare(3, [1])
        three.accept(3, "lonely", [1], force=True)  # one acceptor: not chosen
        assert three.state().outlook.chosen == ()
        res = three.propose("mine", n=5)
        assert res.ok and res.value == "lonely"  # Paxos must still carry it

    def test_highest_accepted_id_wins(self, three: Engine) -> None:
        three.accept(2, "old", [1], force=True)
        three.accept(4, "new", [2], force=True)
        res = three.propose("client", n=6, servers=[1, 2])
        assert res.ok and res.value == "new"

    def test_minority_contact_cannot_choose(self, three: Engine) -> None:
        res = three.propose("v", contact_count=1)
        assert res.verdict == Verdict.NOT_CHOSEN and "1 promise, quorum is 2" in res.reason
        assert len(res.attempts[0].servers) == 1 and res.attempts[0].accept is None

    def test_unknown_outcome_when_an_accept_goes_unanswered(self, acceptors: Any, blackhole: Any) -> None:
        accs = acceptors(2)
        eng = engine_for({1: accs[0].url, 2: accs[1].url, 3: blackhole().url}, timeout=0.3)
        eng.prepare(1, [1, 2])
        eng.client.urls[2] = eng.client.urls[3]  # acceptor 2 hangs from now on
        eng.client.forget(2)
        acc = eng.accept(1, "v", [1, 2])
        assert acc.outcome.verdict == Verdict.UNKNOWN and acc.outcome.accepted_by == (1,)
        eng.client.close()

    def test_refused_propose_retries_with_higher_id(self, three: Engine) -> None:
        other = engine_for(dict(three.client.urls))
        other.prepare(50)
        res = three.propose("mine", n=10, retry=2)
        assert res.ok and len(res.attempts) == 2 and res.attempts[1].prepare.n == 51
        other.client.close()

    def test_accept_safety_refuses_unless_forced(self, three: Engine) -> None:
        three.accept(1, "first", [1, 2], force=True)
        three.prepare(2)
        with pytest.raises(ProposerError, match="requires that value"):
            three.accept(2, "second")
        assert three.accept(2).value == "first"  # the default is the required value
        with pytest.raises(ProposerError, match="prepare 9"):
            three.accept(9, "x")
        forced = three.accept(9, "x", [3], force=True)
        assert forced.forced and not forced.safety.safe

    def test_next_id_is_above_everything_seen(self, three: Engine) -> None:
        three.prepare(41, [3])
        assert three.prepare().n == 42
        three.session.proposer.number = 7
        assert three.prepare().n == 107

    def test_bad_arguments(self, three: Engine) -> None:
        with pytest.raises(ProposerError, match="unknown acceptor 9"):
            three.prepare(1, [9])
        with pytest.raises(ProposerError, match="no current id"):
            three.accept(None, "v")
        with pytest.raises(ProposerError, match="bad contact count"):
            three.propose("v", contact_count=4)
