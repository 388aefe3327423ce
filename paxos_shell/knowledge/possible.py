"""Which values can still be chosen: the futures analysis, pure.

Its job: from what the shell knows of each acceptor (its promise and its vote,
or that its state is unknown) and of the proposals known to exist, answer "any
value may still be chosen", "only A or B can ever be chosen" or "unknown",
each with the rule and the acceptors behind it. It never does I/O, never reads
the wire and never decides safety: model.py builds its input and says
whether the guarantees hold.

Assumptions, in plain words. Every proposer follows Paxos (a quorum of
promises first, then the value of the highest vote they report, one value per
id); acceptors keep what they acknowledged; and the states given are current:
nobody changed an acceptor since the shell last heard from it. A forced
accept, an acceptor that forgets, or another proposer acting behind the
shell's back breaks an assumption, and the caller must say so (model.py
does for the first two, and for states that visibly cannot all be current).

The rule (Lamport's terms: an acceptor's promise is maxBal, its accepted pair
its vote; votes only grow; after promising c an acceptor never votes below c).
Q is a quorum. A chosen value, while the guarantees hold, is the only future
(Paxos's theorem). Otherwise the answer is ANY when Q known acceptors have no
vote: a fresh id reaching them may carry anything. Else it is ONLY the union of
  V: the value of each vote that is the highest in some quorum (a fresh id
     reaching that quorum must carry it), and
  for each id c at which some acceptor b can still vote (promise <= c) while
  Q-1 others have no vote or one at or below c (so a vote of b at c could be
  chosen, or become the highest of a quorum): the value(s) known at c (a vote
  at c, or an accept sent at c). When none is known, and Q acceptors have
  promised c or more, one of which votes at or above c, a proposer may hold
  promises for c whose reports are hidden (what that acceptor had accepted
  when it promised c is overwritten): it may send anything, and the answer
  is ANY.
Why it is sound: let w be chosen at c. If some vote is at or above c, every
proposal above c carries w (Paxos's theorem), so the highest vote carries w: w
is in V. Otherwise w is the highest report of c's promise quorum, whose
members promised c in the past (their report is their current vote, as they
have not voted since) or will in the future (their report is their vote then,
at or above their current one). A report that is a current vote is thus the
highest current vote of that quorum: in V. No report at all needs Q acceptors
with no vote: ANY. A report that is a future vote at c' < c, cast by p, means
p can still vote at c' and the quorum's other members hold no vote above c':
c' passes the test above, and the proposal at c' is known (its value joins),
or was made with promises only (by the same argument its value is in V, or
ANY, or a hidden report at c' makes the rule say ANY: a vote at d >= c' had Q
promisers, all now promised d or more), or is future (recurse on c' < c).
Only the order of ids matters, so testing every id the facts mention and the
id just above each (one per gap between them) tests them all. Counting
replaces enumerating quorums, so pools of 99 are cheap. A simpler test of V
alone is not sound: see test_possible.py for a history where it says "only B"
and W is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Optional, Union

from paxos_shell.core.paxos import MAX_ID, NONE, Chosen, quorum
from paxos_shell.core.text import listing, show_value
from paxos_shell.core.vocab import Word


class Kind(Word):
    """The three honest answers about the future."""

    ANY = "any"
    ONLY = "only"
    UNKNOWN = "unknown"


class Rule(Word):
    """Why a value (or any value) can still be chosen, or why nobody can tell."""

    CHOSEN = "chosen"
    EMPTY_QUORUM = "a quorum accepted nothing"
    HIGHEST_IN_QUORUM = "highest vote of a quorum"
    KNOWN_PROPOSAL = "a known proposal can still win"
    OUTSTANDING = "outstanding promises"
    STATE_UNKNOWN = "state unknown"


@dataclass(frozen=True)
class Vote:
    """An accepted pair: what an acceptor voted for, at which id."""

    proposal_id: int
    value: Optional[str]


@dataclass(frozen=True)
class Known:
    """An acceptor whose current state the shell knows."""

    promised: int = NONE
    vote: Optional[Vote] = None
    promised_ever: int = NONE
    """The highest promise it ever reported, earlier epochs included: after
    amnesia a proposer may still hold a promise the acceptor forgot."""


@dataclass(frozen=True)
class Unknown:
    """An acceptor whose state the shell does not know, and why (words)."""

    why: str


State = Union[Known, Unknown]


@dataclass(frozen=True)
class Snapshot:
    """Everything the analysis reads. `chosen` is set only when a value is
    chosen and the guarantees hold (the caller judged safety)."""

    pool: tuple[int, ...]
    states: Mapping[int, State]
    proposals: Mapping[int, tuple[Optional[str], ...]] = field(default_factory=dict)
    """Values known at an id: an acceptor voted for it there, or this shell sent it."""
    chosen: Optional[Chosen] = None


def _verbs(ids: tuple[int, ...], one: str, many: str) -> str:
    """The word that agrees with listing(ids): one acceptor 'has', several 'have'."""
    return one if len(ids) == 1 else many


def alternatives(values: Iterable[Optional[str]]) -> str:
    """'A', 'A or B', 'A, B or C', each value shown safely."""
    shown = [show_value(v) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


@dataclass(frozen=True)
class Reason:
    """One rule applied: the value (or free, meaning any value), the id, and
    the acceptors that make it true. `voter` can still vote at `proposal_id`
    while `others` complete a quorum in which that vote would be the highest."""

    rule: Rule
    value: Optional[str] = None
    free: bool = False
    proposal_id: Optional[int] = None
    acceptors: tuple[int, ...] = ()
    voter: Optional[int] = None
    others: tuple[int, ...] = ()
    detail: str = ""

    def sentence(self) -> str:
        return _SENTENCES[self.rule](self)


def _in_quorum_with(others: tuple[int, ...]) -> str:
    return f" in a quorum with {listing(others)}" if others else " in a quorum of its own"


def _can_still(r: Reason) -> str:
    if r.voter is None:
        return ""
    if not r.others:
        return f", which acceptor {r.voter} can still accept"
    return (f", which acceptor {r.voter} can still accept, making it the highest accepted value"
            f"{_in_quorum_with(r.others)}")


_SENTENCES = {
    Rule.CHOSEN: lambda r: (f"{show_value(r.value)} is chosen ({listing(r.acceptors)} accepted it at id "
                            f"{r.proposal_id}, a quorum) and every later proposal must carry it"),
    Rule.EMPTY_QUORUM: lambda r: (f"{listing(r.acceptors)} {_verbs(r.acceptors, 'has', 'have')} accepted nothing "
                                  f"and {_verbs(r.acceptors, 'makes', 'make')} a quorum, so a proposer with a fresh id "
                                  f"that reaches {_verbs(r.acceptors, 'it', 'them')} may propose any value"),
    Rule.HIGHEST_IN_QUORUM: lambda r: (f"{show_value(r.value)}, accepted at id {r.proposal_id} by acceptor "
                                       f"{r.acceptors[0]}, is the highest accepted value{_in_quorum_with(r.others)}, "
                                       "so a new proposal reaching that quorum must carry it"),
    Rule.KNOWN_PROPOSAL: lambda r: f"a proposal at id {r.proposal_id} carries {show_value(r.value)}{_can_still(r)}",
    Rule.OUTSTANDING: lambda r: (f"{listing(r.acceptors)} promised id {r.proposal_id} or more, and whoever holds "
                                 f"those promises may still send any value at id {r.proposal_id}{_can_still(r)}"),
    Rule.STATE_UNKNOWN: lambda r: f"acceptor {r.acceptors[0]} {r.detail}",
}


@dataclass(frozen=True)
class Futures:
    """The answer: ANY, ONLY `values`, or UNKNOWN naming `unknown`; with reasons."""

    kind: Kind
    values: tuple[Optional[str], ...] = ()
    unknown: tuple[int, ...] = ()
    reasons: tuple[Reason, ...] = ()

    def headline(self) -> str:
        if self.kind == Kind.ANY:
            return "Any value may still be chosen"
        if self.kind == Kind.ONLY:
            return f"Only {alternatives(self.values)} can ever be chosen"
        return f"Unknown which values can still be chosen: the state of {listing(self.unknown)} is not known"

    def sentence(self) -> str:
        """The headline and its reasons, as one paragraph."""
        return f"{self.headline()}: {'; '.join(r.sentence() for r in self.reasons)}."


def analyse(s: Snapshot) -> Futures:
    """ANY, ONLY or UNKNOWN for the snapshot, by the rule in the module docstring."""
    q = quorum(len(s.pool))
    if s.chosen is not None:
        ch = s.chosen
        return Futures(Kind.ONLY, (ch.value,), reasons=(Reason(Rule.CHOSEN, ch.value, False, ch.proposal_id,
                                                               ch.acceptors),))
    known = {a: st for a, st in s.states.items() if a in s.pool and isinstance(st, Known)}
    empty = tuple(a for a in s.pool if a in known and known[a].vote is None)
    if len(empty) >= q:
        return Futures(Kind.ANY, reasons=(Reason(Rule.EMPTY_QUORUM, acceptors=empty),))
    unknown = tuple(a for a in s.pool if a not in known)
    if unknown:
        why = tuple(Reason(Rule.STATE_UNKNOWN, acceptors=(a,), detail=_why(s.states.get(a))) for a in unknown)
        return Futures(Kind.UNKNOWN, unknown=unknown, reasons=why)
    found: dict[Optional[str], Reason] = {}
    for r in _highest_in_quorums(known, q):
        found.setdefault(r.value, r)
    proposals = _with_votes(s.proposals, known)
    for c in _ids_to_test(s, known):
        voter = _voter_at(known, q, c)
        if voter is None:
            continue
        for r in _proposals_at(proposals, known, q, c, voter):
            if r.free:
                return Futures(Kind.ANY, reasons=(r,))
            found.setdefault(r.value, r)
    order = sorted(found, key=lambda v: (v is None, v or ""))
    return Futures(Kind.ONLY, tuple(order), reasons=tuple(found[v] for v in order))


def _why(st: Optional[State]) -> str:
    return st.why if isinstance(st, Unknown) else "was not asked"


def _vote_id(st: Known) -> int:
    return st.vote.proposal_id if st.vote is not None else NONE


def _highest_in_quorums(known: Mapping[int, Known], q: int) -> Iterator[Reason]:
    """Each vote that is the highest of some quorum: Q-1 others hold no vote or a lower one."""
    by_vote = sorted(known, key=lambda a: (_vote_id(known[a]), a))
    for a in by_vote:
        st = known[a]
        if st.vote is None:
            continue
        lower = [b for b in by_vote if b != a and _vote_id(known[b]) <= st.vote.proposal_id]
        if len(lower) >= q - 1:
            yield Reason(Rule.HIGHEST_IN_QUORUM, st.vote.value, False, st.vote.proposal_id, (a,),
                         others=tuple(sorted(lower[: q - 1])))


def _ids_to_test(s: Snapshot, known: Mapping[int, Known]) -> list[int]:
    """Every id the facts mention and the id just above each: one id per gap.

    Each test below compares c with these ids (>=, <=, ==), so it has one
    answer on each mentioned id and one on each open gap between two of them.
    """
    marks = {NONE, *s.proposals}
    for st in known.values():
        marks.update((st.promised, st.promised_ever, _vote_id(st)))
    return sorted(c for c in marks | {m + 1 for m in marks} if 0 <= c <= MAX_ID)


def _voter_at(known: Mapping[int, Known], q: int, c: int) -> Optional[tuple[int, tuple[int, ...]]]:
    """An acceptor that can still vote at c, and Q-1 others with no vote above c."""
    low = [a for a in sorted(known) if _vote_id(known[a]) <= c]
    for b in sorted(known):
        # b's own vote may be among `low`; the others are the rest of them.
        if known[b].promised <= c and len(low) - (b in low) >= q - 1:
            return b, tuple(a for a in low if a != b)[: q - 1]
    return None


def _with_votes(proposals: Mapping[int, tuple[Optional[str], ...]],
                known: Mapping[int, Known]) -> dict[int, tuple[Optional[str], ...]]:
    """Known proposals, and each current vote: a vote at c shows the value of c."""
    merged = {c: tuple(vs) for c, vs in proposals.items()}
    for a in sorted(known):
        v = known[a].vote
        if v is not None and v.value not in merged.get(v.proposal_id, ()):
            merged[v.proposal_id] = (*merged.get(v.proposal_id, ()), v.value)
    return merged


def _proposals_at(proposals: Mapping[int, tuple[Optional[str], ...]], known: Mapping[int, Known],
                  q: int, c: int, voter: tuple[int, tuple[int, ...]]) -> Iterator[Reason]:
    """The values a proposal at id c may carry: the known ones, or any value when
    promises someone may hold for c hide what the acceptors reported."""
    b, others = voter
    if proposals.get(c):
        for v in proposals[c]:
            yield Reason(Rule.KNOWN_PROPOSAL, v, False, c, (b,), b, others)
        return
    promised = tuple(a for a in sorted(known) if max(known[a].promised, known[a].promised_ever) >= c)
    if len(promised) >= q and any(_vote_id(known[a]) >= c for a in promised):
        yield Reason(Rule.OUTSTANDING, None, True, c, promised, b, others)
