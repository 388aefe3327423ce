"""The futures analysis: worked cases, a brute-force oracle, and a soundness simulation.

The oracle enumerates every quorum and every id of a small range and applies
the rule of possible.py's docstring literally; the simulation runs correct
Paxos proposers, predicts from a snapshot, goes on, and checks that every
value ever chosen was predicted. The second needs no knowledge of the rule.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Iterable, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxos_shell.core import paxos
from paxos_shell.core.paxos import NONE, AcceptorState, Promise
from paxos_shell.knowledge.facts import Outcome, Reset
from paxos_shell.knowledge.model import Knowledge
from paxos_shell.knowledge.outlook import Outlook
from paxos_shell.knowledge.possible import Kind, Known, Rule, Snapshot, State, Unknown, Vote, analyse

from .helpers.sim import Pool, state_read


def snap(states: dict[int, State], **kw: object) -> Snapshot:
    return Snapshot(tuple(sorted(states)), states, **kw)  # type: ignore[arg-type]  # kw are Snapshot's fields


class TestWorkedCases:
    def test_a_fresh_pool_may_choose_anything(self) -> None:
        f = analyse(snap({1: Known(), 2: Known(), 3: Known()}))
        assert f.kind == Kind.ANY
        assert f.sentence() == ("Any value may still be chosen: acceptors 1, 2 and 3 have accepted nothing and "
                                "make a quorum, so a proposer with a fresh id that reaches them may propose any value.")

    def test_a_pool_of_one_is_spoken_of_in_the_singular(self) -> None:
        f = analyse(snap({1: Known()}))
        assert f.sentence() == ("Any value may still be chosen: acceptor 1 has accepted nothing and makes a quorum, "
                                "so a proposer with a fresh id that reaches it may propose any value.")

    def test_every_quorum_holding_a_value_leaves_only_those(self) -> None:
        # Issue 9, observation 3: A at id 1 on acceptor 1, B at id 2 on acceptor 2, pool of 3.
        f = analyse(snap({1: Known(1, Vote(1, "A")), 2: Known(2, Vote(2, "B")), 3: Known()}))
        assert f.kind == Kind.ONLY and f.values == ("A", "B")
        assert f.headline() == "Only A or B can ever be chosen"
        assert f.reasons[0].sentence() == (
            "A, accepted at id 1 by acceptor 1, is the highest accepted value in a quorum with acceptor 3, "
            "so a new proposal reaching that quorum must carry it")

    def test_the_counterexample_to_the_quorum_formula_is_any(self) -> None:
        # The quorum formula alone says "only B"; P1 still holds promises for 10 and may send W.
        f = analyse(snap({1: Known(10), 2: Known(20, Vote(20, "B")), 3: Known(20, Vote(3, "B"))}))
        assert f.kind == Kind.ANY
        (r,) = f.reasons
        assert (r.rule, r.proposal_id, r.acceptors, r.voter, r.others) == (Rule.OUTSTANDING, 10, (1, 2, 3), 1, (3,))
        assert f.sentence() == (
            "Any value may still be chosen: acceptors 1, 2 and 3 promised id 10 or more, and whoever holds those "
            "promises may still send any value at id 10, which acceptor 1 can still accept, making it the highest "
            "accepted value in a quorum with acceptor 3.")

    def test_unknown_acceptors_are_named_with_why(self) -> None:
        f = analyse(snap({1: Known(1, Vote(1, "A")), 2: Unknown("went silent after accept 1 A in round 4: it may "
                                                                 "have accepted it"), 3: Unknown("never answered")}))
        assert f.kind == Kind.UNKNOWN and f.unknown == (2, 3)
        assert f.sentence() == (
            "Unknown which values can still be chosen: the state of acceptors 2 and 3 is not known: acceptor 2 "
            "went silent after accept 1 A in round 4: it may have accepted it; acceptor 3 never answered.")

    def test_known_empty_quorum_is_any_even_with_unknown_acceptors(self) -> None:
        f = analyse(snap({1: Known(), 2: Known(4), 3: Unknown("never answered")}))
        assert f.kind == Kind.ANY and f.reasons[0].acceptors == (1, 2)

    def test_a_chosen_value_is_the_only_future(self) -> None:
        f = analyse(snap({1: Known(5, Vote(5, "A")), 2: Known(5, Vote(5, "A")), 3: Unknown("never answered")},
                         chosen=paxos.Chosen(5, "A", (1, 2))))
        assert (f.kind, f.values) == (Kind.ONLY, ("A",))
        assert f.sentence() == ("Only A can ever be chosen: A is chosen (acceptors 1 and 2 accepted it at id 5, a "
                                "quorum) and every later proposal must carry it.")

    def test_a_sent_value_that_can_still_win_is_a_future(self) -> None:
        # B at 4 beats A in every quorum; this shell sent C at 6, which acceptor 1 can still take.
        f = analyse(snap({1: Known(6, Vote(1, "A")), 2: Known(6, Vote(4, "B")), 3: Known(5, Vote(4, "B"))},
                         proposals={6: ("C",)}))
        assert (f.kind, f.values) == (Kind.ONLY, ("B", "C"))
        why = {r.value: r for r in f.reasons}["C"]
        assert (why.rule, why.voter, why.others) == (Rule.KNOWN_PROPOSAL, 1, (2,))
        assert why.sentence() == ("a proposal at id 6 carries C, which acceptor 1 can still accept, making it the "
                                  "highest accepted value in a quorum with acceptor 2")

    def test_a_proposal_nobody_can_complete_is_not_a_future(self) -> None:
        # Same, but acceptor 3 promised 7: nobody can vote at 6 any more; C is dead.
        f = analyse(snap({1: Known(7, Vote(1, "A")), 2: Known(7, Vote(4, "B")), 3: Known(7, Vote(4, "B"))},
                         proposals={6: ("C",)}))
        assert (f.kind, f.values) == (Kind.ONLY, ("B",))

    def test_ninety_nine_acceptors_are_counted_not_enumerated(self) -> None:
        states: dict[int, State] = {a: Known(300 + a, Vote(a, f"v{a % 3}")) for a in range(1, 100)}
        f = analyse(snap(states))
        # Votes at ids 1..99: only those at or above 50 are highest in some quorum of 50.
        assert f.kind == Kind.ONLY and set(f.values) == {"v0", "v1", "v2"}
        assert all(r.proposal_id is not None and r.proposal_id >= 50 for r in f.reasons)


# --- the oracle ------------------------------------------------------------------------


def oracle(s: Snapshot) -> tuple[Kind, frozenset]:
    """The rule, applied literally: every quorum, every id of the range."""
    q = len(s.pool) // 2 + 1
    quorums = [frozenset(c) for k in range(q, len(s.pool) + 1) for c in combinations(s.pool, k)]
    if s.chosen is not None:
        return Kind.ONLY, frozenset({s.chosen.value})
    known = {a: st for a, st in s.states.items() if isinstance(st, Known)}

    def vote(a: int) -> Optional[Vote]:
        return known[a].vote

    if any(S <= known.keys() and all(vote(a) is None for a in S) for S in quorums):
        return Kind.ANY, frozenset()
    if len(known) < len(s.pool):
        return Kind.UNKNOWN, frozenset(a for a in s.pool if a not in known)
    found: set[Optional[str]] = set()
    for S in quorums:
        top = max(v.proposal_id for a in S if (v := vote(a)) is not None)
        found |= {v.value for a in S if (v := vote(a)) is not None and v.proposal_id == top}
    at: dict[int, set[Optional[str]]] = defaultdict(set)
    for c, values in s.proposals.items():
        at[c] |= set(values)
    for a in known:
        if (v := vote(a)) is not None:
            at[v.proposal_id].add(v.value)
    marks = [0, *s.proposals] + [x for st in known.values() for x in (st.promised, st.promised_ever)]
    for c in range(0, max(marks) + 2):
        if not any(known[b].promised <= c and all(vote(a) is None or vote(a).proposal_id <= c  # type: ignore[union-attr]  # checked just before
                                                  for a in S - {b}) for S in quorums for b in S):
            continue
        if at[c]:
            found |= at[c]
            continue
        promised = {a for a, st in known.items() if max(st.promised, st.promised_ever) >= c}
        if not any(S <= promised for S in quorums):
            continue
        if any((v := vote(a)) is not None and v.proposal_id >= c for a in promised):
            return Kind.ANY, frozenset()
    return Kind.ONLY, frozenset(found)


VALUES = st.sampled_from(["A", "B", "C"])


@st.composite
def states(draw: st.DrawFn, n: int) -> dict[int, State]:
    out: dict[int, State] = {}
    for a in range(1, n + 1):
        if draw(st.integers(0, 9)) == 0:
            out[a] = Unknown("never answered")
            continue
        promised = draw(st.integers(NONE, 8))
        vote = None
        if promised >= 0 and draw(st.booleans()):
            vote = Vote(draw(st.integers(0, promised)), draw(VALUES))
        ever = max(promised, draw(st.integers(NONE, 9))) if draw(st.integers(0, 4)) == 0 else NONE
        out[a] = Known(promised, vote, ever)
    return out


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    n = draw(st.integers(1, 7))
    sts = draw(states(n))
    proposals = draw(st.dictionaries(st.integers(0, 8), st.lists(VALUES, min_size=1, max_size=2, unique=True)
                                     .map(tuple), max_size=3))
    return Snapshot(tuple(range(1, n + 1)), sts, proposals)


@settings(max_examples=400, deadline=None)
@given(snapshots())
def test_the_module_agrees_with_the_brute_force_oracle(s: Snapshot) -> None:
    f = analyse(s)
    kind, detail = oracle(s)
    assert f.kind == kind, (f, kind, detail)
    if kind == Kind.ONLY:
        assert frozenset(f.values) == detail
    if kind == Kind.UNKNOWN:
        assert frozenset(f.unknown) == detail


# --- the soundness simulation ----------------------------------------------------------


@dataclass
class SimProposer:
    """A correct Paxos proposer: ids k, k+P, k+2P...; its value fixed at its first accept."""

    k: int
    stride: int
    ballot: Optional[int] = None
    promises: dict[int, Promise] = field(default_factory=dict)
    value: Optional[str] = None
    seen: int = NONE

    def fresh_id(self) -> int:
        n = max(self.seen, self.ballot if self.ballot is not None else NONE) + 1
        return n + (self.k - n) % self.stride

    def decide(self) -> str:
        if self.value is None:
            self.value = paxos.choose_value(self.promises.values(), f"x{self.ballot}").value
        assert self.value is not None
        return self.value


PROPOSERS = 3


class Execution:
    """Correct proposers over paxos.py acceptors, remembering every vote ever cast.
    Proposer 0 may be this shell: its requests then go through a Pool that tells `k`."""

    def __init__(self, n: int, k: Optional[Knowledge]) -> None:
        self.n, self.q = n, n // 2 + 1
        self.pool = Pool(n)
        self.shell = Pool(n, k) if k is not None else None
        if self.shell is not None:
            self.shell.states = self.pool.states  # one set of acceptors, two doors
        self.props = [SimProposer(i, PROPOSERS) for i in range(PROPOSERS)]
        self.votes: set[tuple[int, int, str]] = set()

    def door(self, who: int) -> Pool:
        return self.shell if who == 0 and self.shell is not None else self.pool

    def prepare(self, who: int, targets: Iterable[int], lost: Iterable[int] = ()) -> None:
        p = self.props[who]
        p.ballot, p.promises, p.value = p.fresh_id(), {}, None
        for o in self.door(who).prepare(p.ballot, sorted(targets), lost):
            r = o.reported
            p.seen = max(p.seen, r.promised_id if r.promised_id is not None else NONE)
            if o.outcome == Outcome.GRANTED:
                v = r.vote
                p.promises[o.acceptor] = Promise(o.acceptor, p.ballot, v.proposal_id if v else NONE,
                                                 v.value if v else None)

    def accept(self, who: int, targets: Iterable[int], lost: Iterable[int] = ()) -> None:
        p = self.props[who]
        if p.ballot is None or len(p.promises) < self.q:
            return
        value = p.decide()
        door = self.door(who)
        door.accept(p.ballot, value, sorted(targets), lost)
        self.votes |= {(a, p.ballot, value) for a in targets
                       if door.states[a] == AcceptorState(p.ballot, p.ballot, value)}

    def holders(self) -> list[int]:
        return [i for i, p in enumerate(self.props) if p.ballot is not None and len(p.promises) >= self.q]

    def chosen(self) -> set[str]:
        return chosen_by(self.votes, self.q)


def chosen_by(votes: set[tuple[int, int, str]], q: int) -> set[str]:
    """The values `q` acceptors voted for at one id. Each (acceptor, id, value) vote is in the
    set once, so the votes for an (id, value) pair are cast by as many acceptors."""
    cast = Counter((n, v) for (_, n, v) in votes)
    return {v for (n, v), acceptors in cast.items() if acceptors >= q}


def play_round(run: Execution, data: st.DataObject, shell: bool) -> None:
    """One proposer's move, drawn among the moves that change something: a fresh
    prepare to a quorum, or a late accept from a proposer that holds a quorum of
    promises; after a prepare the proposer may hold its promises, or send its
    accept to one acceptor or to all that can take it. Holding and partial
    accepts are drawn more often: old promises are where predictions go wrong."""
    everyone = list(range(1, run.n + 1))
    who = data.draw(st.integers(0, PROPOSERS - 1))
    lost = data.draw(st.frozensets(st.sampled_from(everyone), max_size=1)) if shell and who == 0 else frozenset()
    if who not in run.holders() or data.draw(st.sampled_from([False, False, True])):
        run.prepare(who, data.draw(st.sampled_from([set(c) for c in combinations(everyone, run.q)])), lost)
    p = run.props[who]
    able = [a for a in everyone if p.ballot is not None and run.pool.states[a].promised_id <= p.ballot]
    if who in run.holders() and able:
        how = data.draw(st.sampled_from(["hold", "one", "hold", "one", "all"]))
        if how != "hold":
            run.accept(who, able if how == "all" else [data.draw(st.sampled_from(able))], lost)


def adversary(run: Execution) -> set[str]:
    """Values chosen in some ending from here: each promise holder may send its value
    to one acceptor or to all, then a fresh proposer runs both phases on a quorum."""
    found: set[str] = set()
    everyone = range(1, run.n + 1)
    sends: list[Optional[tuple[int, list[int]]]] = [None]
    sends += [(who, u) for who in run.holders() for u in [[a] for a in everyone] + [list(everyone)]]
    for send in sends:
        for quorum in combinations(everyone, run.q):
            states = dict(run.pool.states)
            votes = set(run.votes)
            if send is not None:
                p = run.props[send[0]]
                value = p.value or paxos.choose_value(p.promises.values(), f"x{p.ballot}").value
                assert p.ballot is not None and value is not None
                for a in send[1]:
                    t = paxos.on_accept(states[a], p.ballot, value)
                    states[a] = t.state
                    votes |= {(a, p.ballot, value)} if t.granted else set()
            b = max(s.promised_id for s in states.values()) + 1
            heard = [Promise(a, b, states[a].accepted_id, states[a].accepted_value) for a in quorum]
            value = paxos.choose_value(heard, f"fresh{b}").value
            assert value is not None
            votes |= {(a, b, value) for a in quorum}
            found |= chosen_by(votes, run.q)
    return found


def allowed(outlook: Outlook, chosen: set[str]) -> set[str]:
    return chosen if outlook.futures.kind == Kind.ANY else {v for v in outlook.futures.values if v is not None}


@settings(max_examples=int(os.environ.get("SIM_EXAMPLES", 600)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_value_chosen_after_a_prediction_was_predicted(data: st.DataObject) -> None:
    """Correct proposers play; after each move the shell reads every state (and, when
    it is proposer 0, sees its own replies) and predicts. Every value chosen later
    in the play, or in any ending the adversary tries from there, must be predicted."""
    n = data.draw(st.sampled_from([3, 3, 4, 5]), label="pool size")
    shell = data.draw(st.booleans(), label="proposer 0 is the shell")
    k = Knowledge(range(1, n + 1))
    k.add(Reset(0, tuple(range(1, n + 1))))
    run = Execution(n, k if shell else None)
    predictions: list[Outlook] = []
    for _ in range(data.draw(st.integers(3, 10), label="moves")):
        play_round(run, data, shell)
        for a, s in sorted(run.pool.states.items()):
            k.add(state_read(1000, a, s))
        outlook = k.outlook()
        assert not outlook.best_effort, outlook.sentences()  # correct Paxos, current states: no caveat
        assert outlook.futures.kind != Kind.UNKNOWN     # every state was just read
        if outlook.futures.kind == Kind.ONLY:  # "any value" allows every ending
            ending = adversary(run)
            assert ending <= allowed(outlook, ending), f"chosen but not predicted: {outlook.sentences()}"
        predictions.append(outlook)
    chosen = run.chosen()
    for outlook in predictions:
        assert chosen <= allowed(outlook, chosen), f"chosen later but not predicted: {outlook.sentences()}"


def test_the_counterexample_run_chooses_a_value_the_quorum_formula_excludes() -> None:
    """The brief's history, step by step: the prediction must allow W, and W does get chosen."""
    k = Knowledge([1, 2, 3])
    k.add(Reset(0, (1, 2, 3)))
    pool = Pool(3)
    pool.prepare(3, [2, 3])
    pool.accept(3, "B", [3])
    pool.prepare(10, [1, 2])                   # P1 holds promises for 10 (both empty)
    pool.prepare(20, [2, 3])                   # P2 learns B from acceptor 3...
    pool.accept(20, "B", [2])                  # ...and gets it accepted by acceptor 2 only
    for o in pool.state():
        k.add(o)
    outlook = k.outlook()
    assert outlook.futures.kind == Kind.ANY and outlook.futures.reasons[0].proposal_id == 10
    pool.accept(10, "W", [1])                  # P1 finally sends its accept
    promises = pool.prepare(30, [1, 3])        # P3 hears (10, W) and (3, B): W is the highest
    value = paxos.choose_value([Promise(o.acceptor, 30, o.reported.vote.proposal_id, o.reported.vote.value)
                                for o in promises if o.reported.vote], "mine").value
    assert value == "W"
    pool.accept(30, value, [1, 3])
    assert pool.states[1] == pool.states[3] == AcceptorState(30, 30, "W")
