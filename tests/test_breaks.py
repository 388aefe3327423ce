"""Rule breaks, flagged the moment a reply arrives, each in the sentence the user reads."""

from __future__ import annotations

from typing import Optional

import pytest

from paxos_shell.knowledge.breaks import Breach
from paxos_shell.knowledge.facts import Observation, Outcome, Reported, Request, Reset
from paxos_shell.knowledge.model import Knowledge

from .helpers.sim import Pool


def prepared(rnd: int, a: int, n: int, promised: Optional[int] = None, vote: Optional[tuple[int, str]] = None,
             granted: bool = True) -> Observation:
    rep = Reported(promised if promised is not None else (n if granted else None),
                   vote[0] if vote else None, vote[1] if vote else None, vote is not None)
    return Observation(rnd, a, Request.PREPARE, Outcome.GRANTED if granted else Outcome.IGNORED, n, None, rep)


def accepted(rnd: int, a: int, n: int, value: str, reported: Optional[tuple[int, str]] = None,
             granted: bool = True) -> Observation:
    got = reported or (n, value)
    rep = Reported(None, got[0], got[1], True) if granted else Reported()
    return Observation(rnd, a, Request.ACCEPT, Outcome.GRANTED if granted else Outcome.IGNORED, n, value, rep)


def read(rnd: int, a: int, promised: int, aid: int = -1, value: Optional[str] = None) -> Observation:
    return Observation(rnd, a, Request.STATE, Outcome.ANSWERED, reported=Reported(promised, aid, value, True))


def sentences(*replies: Observation) -> list[str]:
    k = Knowledge([1, 2, 3])
    k.add(Reset(0, (1, 2, 3)))
    out = []
    for o in replies:
        out += [v.sentence() for v in k.add(o)]
    return out


CASES = [
    ("promise at or below an earlier promise",
     [prepared(1, 2, 5), prepared(2, 2, 5)],
     "acceptor 2 promised 5 in round 2, although in round 1 it promised 5: a promise needs an id above every "
     "earlier promise"),
    ("promise below a refused accept",
     [accepted(1, 1, 5, "A", granted=False), prepared(2, 1, 5)],
     "acceptor 1 promised 5 in round 2, although in round 1 it refused accept 5 A, so it had promised more than 5: "
     "a promise needs an id above every earlier promise"),
    ("promise below its own accepted id",
     [prepared(1, 3, 5, vote=(5, "A"))],
     "acceptor 3 promised 5 in round 1 while reporting A accepted at id 5, which had already promised 5: a promise "
     "needs an id above every earlier promise"),
    ("granted prepare reporting another promise",
     [prepared(1, 1, 5, promised=6)],
     "acceptor 1 granted prepare 5 in round 1 but reported promisedId 6: a granted prepare reports the id it "
     "promised"),
    ("refusal while reporting a lower promise",
     [prepared(1, 1, 5, promised=3, granted=False)],
     "acceptor 1 refused prepare 5 in round 1 while reporting promisedId 3: a prepare is refused only at or below "
     "an earlier promise"),
    ("refusal while reporting no promise",
     [prepared(1, 1, 5, granted=False)],
     "acceptor 1 refused prepare 5 in round 1 while reporting no promise: a prepare is refused only at or below an "
     "earlier promise"),
    ("accept below a promise",
     [prepared(1, 2, 7), accepted(2, 2, 6, "B")],
     "acceptor 2 accepted B at id 6 in round 2, although in round 1 it promised 7: an accept needs an id at or above "
     "every promise"),
    ("accept reply differing from the request",
     [accepted(1, 2, 6, "B", reported=(6, "C"))],
     "acceptor 2 answered accept 6 B in round 1 with acceptedId 6 and value C: a granted accept reports the id and "
     "value it was sent"),
    ("acceptedId above promisedId",
     [read(1, 3, 4, 6, "A")],
     "acceptor 3 reported acceptedId 6 above promisedId 4 in round 1: accepting an id also promises it, so "
     "acceptedId is never above promisedId"),
    ("a forgotten promise",
     [prepared(1, 1, 9), read(2, 1, 4)],
     "acceptor 1 reported promisedId 4 in round 2, although in round 1 it promised 9: an acceptor never forgets a "
     "promise or an accepted value (a restart without durable state?)"),
    ("a forgotten accept",
     [accepted(1, 1, 9, "A"), read(2, 1, 9)],
     "acceptor 1 reported nothing accepted in round 2, although in round 1 it accepted A at id 9, which promised 9: "
     "an acceptor never forgets a promise or an accepted value (a restart without durable state?)"),
]


@pytest.mark.parametrize("replies,expected", [(r, e) for _, r, e in CASES], ids=[c[0] for c in CASES])
def test_each_rule_break_is_said_with_the_earlier_reply(replies: list[Observation], expected: str) -> None:
    assert sentences(*replies) == [expected]


def test_a_correct_pool_breaks_nothing() -> None:
    k = Knowledge([1, 2, 3])
    k.add(Reset(0, (1, 2, 3)))
    pool = Pool(3, k)
    pool.prepare(5)
    pool.prepare(3)               # refused, reporting 5: correct
    pool.accept(4, "A")           # refused: correct
    pool.accept(5, "A", [1, 2])
    pool.prepare(6, [2, 3])
    pool.accept(6, "A")
    pool.state()
    assert k.violations() == ()


def test_after_a_break_the_acceptor_is_judged_from_its_new_state() -> None:
    k = Knowledge([1, 2, 3])
    k.add(Reset(0, (1, 2, 3)))
    k.add(prepared(1, 1, 9))
    assert [v.rule for v in k.add(read(2, 1, 4))] == [Breach.FORGOT]
    assert k.add(prepared(3, 1, 5)) == ()    # above what it now says: no second report
    assert len(k.violations()) == 1


def test_a_violation_is_listed_once() -> None:
    k = Knowledge([1, 2, 3])
    k.add(Reset(0, (1, 2, 3)))
    for rnd, value in ((1, "X"), (2, "Y")):
        for a in (1, 2, 3):
            k.add(accepted(rnd, a, 5, value))
    rules = [v.rule for v in k.violations()]
    assert rules == [Breach.TWO_VALUES_ONE_ID, Breach.TWO_CHOSEN]


def test_a_refused_accept_below_a_known_promise_is_no_break() -> None:
    """Found by the engines-against-HTTP property: prepare refused reporting 100, then an
    accept at 1 refused. The refusal proves only a promise above 1: nothing was forgotten."""
    from paxos_shell.knowledge.facts import Observation, Outcome, Reported, Request
    from paxos_shell.knowledge.model import Knowledge

    k = Knowledge([1, 2, 3])
    k.add(Observation(1, 1, Request.PREPARE, Outcome.IGNORED, 1, None, Reported(promised_id=100)))
    assert k.add(Observation(2, 1, Request.ACCEPT, Outcome.IGNORED, 1, "value-1", Reported())) == ()
    assert k.violations() == ()
