"""A reply that breaks a rule is set aside (issue 20, item 1): no promise, no value, no id.

The rules come from breaks.py; trust.py says which reply the proposer may not act on and why,
and every printed sentence reads that decision. Through the shell, the acceptors are fakes
that answer what a test tells them, beside honest ones.
"""

from __future__ import annotations

import io
import re
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from paxos_shell.knowledge.breaks import Breach
from paxos_shell.knowledge.facts import Observation, Outcome, Reported, Request
from paxos_shell.knowledge.model import Knowledge
from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell

from .helpers import run
from .helpers.fake import Fake, Handler, wire_json


def words(text: str) -> str:
    return " ".join(text.split())


def on_prepare(answer: Callable[[int], dict]) -> Callable[[Handler], None]:
    """An acceptor that answers prepare N with answer(N), and everything else as the protocol says."""
    def behave(h: Handler) -> None:
        parts = urlsplit(h.path)
        if parts.path.endswith("/prepare"):
            h.respond(200, wire_json(answer(int(parse_qs(parts.query)["id"][0]))))
        else:
            Handler.protocol(h)
    return behave


def liar(n: int) -> dict:
    return {"ignored": False, "promisedId": n, "acceptedId": n + 1000, "acceptedValue": "LIE-VALUE"}


@pytest.fixture
def with_third() -> Iterator[Callable[[Any], Shell]]:
    """A shell on two honest fakes and a third that behaves as told."""
    made: list[Any] = []

    def make(behaviour: Any) -> Shell:
        fakes = [Fake(), Fake(), Fake(behaviour)]
        sh = Shell(Pool({i + 1: f.url for i, f in enumerate(fakes)}, "test"), timeout=5.0, stream=io.StringIO(),
                   err=io.StringIO(), colour=False)
        made.append((sh, fakes))
        return sh

    yield make
    for sh, fakes in made:
        sh.close()
        for f in fakes:
            f.close()


def test_a_promise_reporting_an_accept_above_it_is_not_counted(with_third: Any) -> None:
    sh = with_third(on_prepare(liar))
    _, out = run(sh, "prepare 1001")
    text = words(out)
    assert ("Set aside: acceptor 3's promise of 1001 is not counted, because it reported acceptedId 2001 above "
            "promisedId 1001 in round 1; it promised 1001 in round 1 while reporting LIE-VALUE accepted at id 2001, "
            "which had already promised 2001.") in text
    assert "Received promise from: [1, 2]" in text and "Quorum reached: 2 of 3 promised id 1001 (quorum 2)." in text
    assert "Value to accept" not in text and "Next: accept 1001 VALUE (acceptors 1 and 2 promised id 1001" in text


def test_the_lie_never_decides_the_value_nor_moves_the_next_id(with_third: Any) -> None:
    sh = with_third(on_prepare(liar))
    run(sh, "set teach on")
    run(sh, "prepare 1001")
    code, out = run(sh, "propose X")
    text = words(out)
    assert code == 0 and "Proposal ID: 1002" in text  # not 2002: the lie's ids move nothing
    assert "Consensus Reached proposalId=1002 value=X" in text and "Client value overridden" not in text
    assert "Accept attempts sent to servers: [1, 2]" in text
    assert ("The reply of acceptor 3 broke the rules, so it is not a promise: it counts towards no quorum, decides "
            "no value and moves no id.") not in text  # propose explains its result, not each prepare
    _, out = run(sh, "state 1 2")
    assert re.search(r"^1 +up +1002 +1002 +X ", out, re.M) and re.search(r"^2 +up +1002 +1002 +X ", out, re.M)
    _, out = run(sh, "prepare 1003")
    assert ("The reply of acceptor 3 broke the rules, so it is not a promise: it counts towards no quorum, decides "
            "no value and moves no id.") in words(out)


def test_a_grant_reporting_another_promise_is_not_counted(with_third: Any) -> None:
    sh = with_third(on_prepare(lambda n: {"ignored": False, "promisedId": n - 1}))
    code, out = run(sh, "prepare 5010 1 3")
    text = words(out)
    assert code == 1
    assert ("RULE BROKEN: acceptor 3 granted prepare 5010 in round 1 but reported promisedId 5009: a granted prepare "
            "reports the id it promised.") in text
    assert ("Set aside: acceptor 3's promise of 5010 is not counted, because it granted prepare 5010 in round 1 but "
            "reported promisedId 5009.") in text
    assert "Received promise from: [1]" in text and "Quorum not reached: 1 promise, 2 needed." in text
    code, out = run(sh, "accept 5010 V 1 3")
    assert code == 1 and "only acceptor 1 promised id 5010, and a quorum is 2" in words(out)


def test_a_grant_against_the_acceptors_own_earlier_promise_is_not_counted(with_third: Any) -> None:
    sh = with_third(on_prepare(lambda n: {"ignored": False, "promisedId": n}))  # grants every prepare
    run(sh, "prepare 5 3")
    _, out = run(sh, "prepare 3")
    text = words(out)
    assert ("Set aside: acceptor 3's promise of 3 is not counted, because it promised 3 in round 2, although in "
            "round 1 it promised 5.") in text
    assert "Received promise from: [1, 2]" in text


def test_the_json_names_the_acceptor_set_aside_and_why(with_third: Any) -> None:
    sh = with_third(on_prepare(lambda n: {"ignored": False, "promisedId": n - 1}))
    sh.out.fmt = sh.out.fmt.__class__("json")
    _, out = run(sh, "prepare 7")
    assert '"setAside": [{"acceptor": 3, "reason": "it granted prepare 7 in round 1 but reported promisedId 6"}]' in out
    assert '"promisedBy": [1, 2]' in out


def test_the_model_sets_aside_with_the_rules_as_reasons() -> None:
    k = Knowledge([1, 2, 3])
    lie = Observation(1, 3, Request.PREPARE, Outcome.GRANTED, 1001, None, Reported(1001, 2001, "LIE-VALUE", True))
    honest = Observation(1, 1, Request.PREPARE, Outcome.GRANTED, 1001, None, Reported(1001))
    k.add(honest)
    k.add(lie)
    (aside,) = k.set_aside(1)
    assert aside.acceptor == 3 and aside.promise
    assert [v.rule for v in aside.reasons] == [Breach.ACCEPTED_ABOVE_PROMISED, Breach.PROMISE_NOT_ABOVE]
    assert k.shown_chosen(1) is None and k.set_aside(2) == ()


def test_an_honest_round_sets_nothing_aside_and_shows_what_is_chosen() -> None:
    k = Knowledge([1, 2, 3])
    for a in (1, 2):
        k.add(Observation(4, a, Request.PREPARE, Outcome.GRANTED, 9, None, Reported(9, 5, "A", True)))
    chosen = k.shown_chosen(4)
    assert k.set_aside(4) == () and chosen is not None and (chosen.proposal_id, chosen.value) == (5, "A")


def test_a_refusal_below_its_own_promise_is_reported_not_explained(with_third: Any) -> None:
    """teach reads the set-aside decision: it never says 'refused because it had promised 4' of prepare 5."""
    sh = with_third(on_prepare(lambda n: {"ignored": True, "promisedId": n - 1}))
    run(sh, "set teach on")
    _, out = run(sh, "prepare 5 1 3")
    text = words(out)
    assert ("Set aside: acceptor 3's reply to prepare 5 moves no id, because it refused prepare 5 in round 1 while "
            "reporting promisedId 4.") in text
    assert "Acceptor 3 refused, reporting these promises: acceptor 3: 4." in text
    assert "because it had promised" not in text


def test_propose_flags_an_accept_reply_that_breaks_a_rule_as_the_accept_command_does(with_third: Any) -> None:
    # Was: 'accept' printed RULE BROKEN for acceptor 3's reply, while propose's phase 2 counted
    # it out in silence (its table said 'granted accepted'), and only a later 'state' told why.
    def misreport(h: Handler) -> None:
        parts = urlsplit(h.path)
        if parts.path.endswith("/accept"):
            n = int(parse_qs(parts.query)["id"][0])
            h.respond(200, wire_json({"ignored": False, "acceptedId": n, "acceptedValue": "OTHER"}))
        else:
            Handler.protocol(h)

    sh = with_third(misreport)
    code, out = run(sh, "propose X")
    text = words(out)
    assert code == 0 and "Accepts received from servers: [1, 2]" in text
    assert ("RULE BROKEN: acceptor 3 answered accept 0 X in round 2 with acceptedId 0 and value OTHER: a granted "
            "accept reports the id and value it was sent.") in text
