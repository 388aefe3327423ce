"""The linearizable rule's checker (audit/linear.py, audit/wgl.py): it passes every history a correct
acceptor produced, fails every planted violation with the smallest window that proves it, agrees with a
brute-force oracle on small random histories, and says "unknown" rather than fail when out of time.
"""

from __future__ import annotations

import random
from typing import Iterator, Optional, Sequence

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paxos_shell.audit import linear
from paxos_shell.audit.linear import FRESH, Op, Outcome, check, describe, legal, op_of, transition
from paxos_shell.audit.wgl import OutOfTime
from paxos_shell.core.paxos import NONE, AcceptorState
from paxos_shell.core.wire import ERROR, NO_RESPONSE, Phase, Reply
from tests.helpers.histories import VIOLATIONS, answered, linearizable

P, A, S = Phase.PREPARE, Phase.ACCEPT, Phase.STATE


def prep(n: int, call: float, ret: Optional[float], state: AcceptorState, client: int = 1) -> Op:
    return answered(client, P, n, None, call, ret, state)[0]


def acc(n: int, v: str, call: float, ret: Optional[float], state: AcceptorState, client: int = 2) -> Op:
    return answered(client, A, n, v, call, ret, state)[0]


def replays(order: Sequence[Op], history: Sequence[Op], initial: AcceptorState = FRESH) -> bool:
    """The witness is an order the rules and real time allow, holding every answered exchange."""
    state = initial
    for k, op in enumerate(order):
        if any(later.ret is not None and later.ret < op.call for later in order[k + 1:]):
            return False
        after = legal(op, state)
        if after is None:
            return False
        state = after
    return {o for o in history if o.replied} <= set(order)


# --- the model is paxos.py, read through wire.py ------------------------------------------------


def test_a_reply_is_legal_exactly_when_the_rules_give_it() -> None:
    promised = AcceptorState(5, 3, "x")
    assert legal(prep(7, 0, 1, promised), promised) == AcceptorState(7, 3, "x")
    # The same grant, reported without the accepted pair a promise must carry, fits no state with one.
    bare = prep(7, 0, 1, FRESH)
    assert legal(bare, promised) is None and legal(bare, FRESH) == AcceptorState(7, NONE, None)
    refused = prep(4, 0, 1, promised)
    assert (refused.granted, refused.promised_id) == (False, 5)
    assert legal(refused, promised) == promised and legal(refused, AcceptorState(6, 3, "x")) is None


@given(st.integers(-1, 6), st.integers(-1, 6), st.sampled_from([P, A, S]), st.integers(0, 6))
def test_a_refusal_or_a_read_never_changes_the_state(promised: int, accepted: int, phase: Phase, n: int) -> None:
    """What the search relies on to place refusals early (audit/linear._quiet)."""
    state = AcceptorState(max(promised, accepted), accepted, "v" if accepted >= 0 else None)
    op = answered(1, phase, n, "w", 0, 1, state)[0]
    if phase == S or op.granted is False:
        assert transition(op, state)[0] == state


def test_op_of_reads_replies_as_the_protocol_does() -> None:
    assert op_of(1, P, 3, None, 0.0, 1.0, Reply(1, P, ERROR, cause="HTTP 500")) is None
    assert op_of(1, P, 3, None, 0.0, 1.0, Reply(1, P, NO_RESPONSE, reached=False)) is None
    silent = op_of(1, A, 3, "v", 0.0, None, Reply(1, A, NO_RESPONSE, cause="timeout"))
    assert silent is not None and not silent.replied and silent.granted is None
    with pytest.raises(ValueError):
        Op(1, P, 3, None, 2.0, 1.0)


# --- histories a correct acceptor produced -------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_every_history_of_a_correct_acceptor_is_linearizable(seed: int) -> None:
    rng = random.Random(seed)
    h = linearizable(rng, count=300, clients=8 + seed % 5, pending=0.03 * (seed % 3), reads=0.15)
    got = check(h.ops)
    assert got.outcome == Outcome.LINEARIZABLE, got.why
    assert replays(got.order, h.ops) and got.window == ()


def test_a_history_that_starts_from_a_given_state_is_checked_from_it() -> None:
    held = AcceptorState(9, 4, "old")
    h = [prep(5, 0, 1, held), acc(10, "new", 2, 3, held)]
    assert check(h, initial=held).ok
    failed = check(h)
    assert failed.outcome == Outcome.NOT_LINEARIZABLE and "from a fresh acceptor" in failed.why


# --- planted violations --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("name", sorted(VIOLATIONS))
def test_a_planted_violation_is_caught_with_exactly_its_exchanges(name: str, seed: int) -> None:
    rng = random.Random(seed)
    before = linearizable(rng, count=200, clients=8, reads=0.1)
    planted = VIOLATIONS[name](before)
    h = linearizable(rng, count=100, clients=8, after=planted)  # life goes on after it
    got = check(h.ops)
    assert got.outcome == Outcome.NOT_LINEARIZABLE
    assert set(got.window) == set(planted.proof), [describe(o) for o in got.window]
    assert got.end == planted.proof[-1].ret and describe(planted.proof[-1]) in got.why
    assert "\n" not in got.why and "from any state" in got.why


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", sorted(VIOLATIONS))
def test_indefinite_exchanges_before_a_violation_stay_in_its_window(name: str, seed: int) -> None:
    """Each may have taken effect at any time after it was sent: the proof holds with every one of them."""
    planted = VIOLATIONS[name](linearizable(random.Random(seed), count=300, clients=8, pending=0.02))
    got = check(planted.ops)
    assert got.outcome == Outcome.NOT_LINEARIZABLE
    silent = {o for o in planted.ops if not o.replied}
    assert planted.proof[-1] in got.window and set(got.window) <= set(planted.proof) | silent
    if "from any state" in got.why:
        assert set(planted.proof) <= set(got.window)
    else:  # the window search from any state ran out of its time: from what came before
        assert "the exchanges before them" in got.why


def test_an_accept_with_no_reply_may_explain_a_later_promise_but_only_after_it_was_sent() -> None:
    lost = acc(3, "x", 0, None, FRESH)
    reports = prep(6, 2, 3, AcceptorState(3, 3, "x"))
    assert check([lost, reports]).ok
    # Sent after the reply it would explain: it cannot have taken effect before.
    late = acc(3, "x", 4, None, FRESH)
    got = check([reports, late])
    assert got.outcome == Outcome.NOT_LINEARIZABLE and got.window == (reports,)


def test_an_accept_with_no_reply_may_never_have_taken_effect() -> None:
    lost = acc(8, "x", 0, None, FRESH)
    assert check([lost, prep(6, 2, 3, FRESH)]).ok


def test_exchanges_that_touch_in_time_count_as_concurrent() -> None:
    """prepare 5's reply and prepare 3's request at the same instant: 3 may have come first."""
    assert check([prep(5, 0, 1, AcceptorState(3)), prep(3, 1, 2, FRESH)]).ok
    assert not check([prep(5, 0, 1, AcceptorState(3)), prep(3, 1.001, 2, FRESH)]).ok


def test_the_history_as_the_auditor_hands_it_may_be_in_any_order() -> None:
    h = linearizable(random.Random(3), count=100)
    assert check(list(reversed(h.ops))).ok


# --- the budget ----------------------------------------------------------------------------------


def test_out_of_time_is_unknown_never_a_failure() -> None:
    planted = VIOLATIONS["race"](linearizable(random.Random(1), count=600, clients=8, pending=0.02))
    got = check(planted.ops, budget=0.0)
    assert got.outcome == Outcome.UNKNOWN and not got.ok and got.window == () and "budget" in got.why


def test_a_window_search_cut_short_still_shows_a_proof(monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_time(*args: object) -> None:
        raise OutOfTime()

    monkeypatch.setattr(linear, "_latest_start", out_of_time)
    planted = VIOLATIONS["lost-accept"](linearizable(random.Random(2), count=100))
    got = check(planted.ops)
    assert got.outcome == Outcome.NOT_LINEARIZABLE and got.start is None
    assert set(planted.proof) <= set(got.window) and "from a fresh acceptor" in got.why


def test_what_a_user_reads_is_one_safe_line() -> None:
    promised = prep(9, 0, 1, FRESH)
    below = acc(4, "a\nb\x1b[2J", 2, 3, FRESH)
    got = check([promised, below])
    assert "\n" not in got.why and "\x1b" not in got.why and "accept 4" in got.why


# --- a brute-force oracle ------------------------------------------------------------------------

IDS = range(0, 4)
VALUES = ("a", "b")


def any_state() -> list[AcceptorState]:
    """Every state with ids up to 7 and values a, b or another: more than the checker's classes."""
    pairs = [(NONE, None)] + [(i, v) for i in range(8) for v in (*VALUES, "other")]
    return [AcceptorState(p, a, v) for p in range(-1, 8) for a, v in pairs if a <= p]


def orders(ops: Sequence[Op], must: Sequence[bool], start: AcceptorState) -> Iterator[AcceptorState]:
    """The end state of every order of the ops (every `must` one, any others) the rules and real
    time allow, from `start`: brute force, no memo, no shortcut."""
    def go(state: AcceptorState, left: frozenset) -> Iterator[AcceptorState]:
        if not any(must[i] for i in left):
            yield state
        for i in left:
            if any(must[j] and ops[j].ret < ops[i].call for j in left if j != i):  # type: ignore[operator]
                continue
            after = legal(ops[i], state)
            if after is not None:
                yield from go(after, left - {i})
    return go(start, frozenset(range(len(ops))))


def explains(ops: Sequence[Op], must: Sequence[bool], starts: Sequence[AcceptorState]) -> bool:
    return any(next(orders(ops, must, s), None) is not None for s in starts)


def window(h: Sequence[Op], a: Optional[float], b: float) -> tuple[list[Op], list[bool]]:
    """The window [a, b] as the checker's docstring defines it."""
    ops = [o for o in h if o.call <= b and (a is None or o.ret is None or o.ret >= a)]
    return ops, [o.ret is not None and o.ret <= b and (a is None or o.call >= a) for o in ops]


def reached(h: Sequence[Op], a: Optional[float]) -> set[AcceptorState]:
    """Where the exchanges sent before a can leave a fresh acceptor, answered ones all taken."""
    if a is None:
        return {FRESH}
    before = [o for o in h if o.call < a]
    return set(orders(before, [o.ret is not None and o.ret < a for o in before], FRESH))


def oracle_window_fails(h: Sequence[Op], a: Optional[float], b: Optional[float], anywhere: bool = True) -> bool:
    assert b is not None
    ops, must = window(h, a, b)
    starts = sorted(reached(h, a), key=repr) if a is None or not anywhere else any_state()
    return bool(starts) and not explains(ops, must, starts)


@st.composite
def small_histories(draw: st.DrawFn) -> list[Op]:
    """Up to 5 exchanges on a coarse clock (ties happen), a correct acceptor's replies, one maybe altered."""
    count = draw(st.integers(1, 5))
    plan = []
    for k in range(count):
        call = draw(st.integers(0, 6))
        ret = None if draw(st.integers(0, 6)) == 0 else call + draw(st.integers(0, 3))
        phase = draw(st.sampled_from([P, P, A, A, S]))
        point = call + draw(st.floats(0, 1)) * ((ret if ret is not None else call + 4) - call)
        plan.append((point, k, phase, draw(st.sampled_from(IDS)), draw(st.sampled_from(VALUES)), call, ret))
    state, ops = FRESH, []
    for _, k, phase, n, v, call, ret in sorted(plan):
        op, state = answered(k, phase, n, v if phase == A else None, call, ret, state)
        ops.append(op)
    if draw(st.booleans()):
        k = draw(st.integers(0, count - 1))
        wrong = answered(ops[k].client, ops[k].phase, ops[k].id, ops[k].value, ops[k].call, ops[k].ret,
                         draw(st.sampled_from(any_state())))[0]
        ops[k] = wrong
    return ops


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_histories())
@example([Op(1, P, 0, None, 1, 1, True, 0, NONE, None), Op(2, P, 0, None, 1, 1, True, 0, NONE, None),
          Op(0, S, 0, None, 0, None)])  # CI found it: an unanswered read before the history's first call
def test_the_checker_agrees_with_brute_force(h: list[Op]) -> None:
    got = check(h)
    assert got.ok == explains(h, [o.replied for o in h], [FRESH])
    if got.ok:
        assert replays(got.order, h)
        return
    assert got.end is not None and set(got.window) <= set(h)
    assert "from any state" in got.why or got.start is None
    assert oracle_window_fails(h, got.start, got.end)
    # Minimal: every window inside it, ending earlier or starting later, is explained.
    ends = sorted({o.ret for o in h if o.ret is not None and o.ret < got.end})
    assert all(not oracle_window_fails(h, None, b) for b in ends)
    # [first call, end] is the same window; a state read that got no reply is not in the history
    # the checker orders (a read changes nothing), so it does not make the history start earlier.
    first = got.start if got.start is not None else min(o.call for o in h if o.replied or o.phase != S)
    later = sorted({o.call for o in h if first < o.call <= got.end})
    assert all(not oracle_window_fails(h, a, got.end) for a in later)
