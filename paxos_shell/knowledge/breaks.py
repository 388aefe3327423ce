"""Rule breaks, judged the moment a reply arrives, and said in words.

Its job: given what one acceptor proved in earlier replies of its current
epoch (the lowest promise and vote it can hold), say whether a new reply
breaks the acceptor's rules, naming the rule and the earlier reply; and build
the pool-wide violations (two values at one id, two values chosen, amnesia)
in the same words. Pure: it never does I/O and never keeps history itself;
model.py owns the memory and calls it.

A correct acceptor's promise and vote only ever rise, so a bound learned from
one reply holds for every later reply of the same epoch, whoever else talks
to the pool meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

from paxos_shell.core.paxos import NONE
from paxos_shell.core.text import listing, show_value
from paxos_shell.core.vocab import Word
from paxos_shell.knowledge.facts import Observation, Outcome, Request, Sent


class Breach(Word):
    """The rule that was broken; the value is the rule, in words."""

    PROMISE_NOT_ABOVE = "a promise needs an id above every earlier promise"
    PROMISE_MISREPORTED = "a granted prepare reports the id it promised"
    REFUSED_BELOW_PROMISE = "a prepare is refused only at or below an earlier promise"
    ACCEPT_BELOW_PROMISE = "an accept needs an id at or above every promise"
    ACCEPT_MISREPORTED = "a granted accept reports the id and value it was sent"
    ACCEPTED_ABOVE_PROMISED = "accepting an id also promises it, so acceptedId is never above promisedId"
    FORGOT = "an acceptor never forgets a promise or an accepted value (a restart without durable state?)"
    AMNESIA = "acceptors must keep what they acknowledged"
    TWO_VALUES_ONE_ID = "one proposal id carries one value"
    TWO_CHOSEN = "at most one value is ever chosen"


POOL_WIDE = frozenset({Breach.TWO_CHOSEN, Breach.TWO_VALUES_ONE_ID, Breach.AMNESIA})
"""Violations of the pool as a whole (a safety violation), not a rule one reply broke."""


def pool_wide(rule: Breach) -> bool:
    """Whether breaking `rule` breaks the safety of the pool as a whole."""
    return rule in POOL_WIDE


@dataclass(frozen=True)
class Violation:
    """One broken rule: the situation in words, and the replies that prove it."""

    rule: Breach
    situation: str
    evidence: tuple[Observation, ...] = ()
    acceptors: tuple[int, ...] = ()
    proposal_id: Optional[int] = None
    subject: tuple[object, ...] = ()
    """What makes two records the same violation, when the words may differ."""

    def sentence(self) -> str:
        return f"{self.situation}: {self.rule}"

    @property
    def key(self) -> tuple[object, ...]:
        """Two records of one violation share this key (`check` lists it once)."""
        return (self.rule, *self.subject) if self.subject else (self.rule, self.acceptors, self.proposal_id,
                                                                 self.situation)


@dataclass
class Track:
    """What one acceptor has proved in its current epoch: it has promised at
    least `promise` and voted at least at `vote_id`, with the proving replies."""

    promise: int = NONE
    promise_proof: Optional[Observation] = None
    vote_id: int = NONE
    vote_proof: Optional[Observation] = None


def check(t: Track, o: Observation) -> list[Violation]:
    """The rules `o` breaks, given the acceptor's earlier replies in `t`."""
    found: list[Violation] = []
    r = o.reported
    if r.promised_id is not None and r.accepted_id is not None and r.accepted_id > r.promised_id:
        found.append(Violation(
            Breach.ACCEPTED_ABOVE_PROMISED,
            f"acceptor {o.acceptor} reported acceptedId {r.accepted_id} above promisedId {r.promised_id} "
            f"in round {o.round_no}", (o,), (o.acceptor,)))
    forgot = _forgot(t, o)
    found += forgot
    if o.request == Request.PREPARE and o.outcome == Outcome.GRANTED:
        found += _granted_prepare(t, o)
    elif o.request == Request.PREPARE and o.outcome == Outcome.IGNORED and not forgot:
        found += _refused_prepare(o)
    elif o.request == Request.ACCEPT and o.outcome == Outcome.GRANTED:
        found += _granted_accept(t, o)
    return found


def _earlier(proof: Optional[Observation], bound: int) -> str:
    if proof is None:
        return f"it had promised {bound}"
    if proof.request == Request.ACCEPT and proof.outcome == Outcome.IGNORED:
        return f"{proof.what()}, so it had promised more than {proof.proposal_id}"
    if proof.request == Request.ACCEPT:
        return f"{proof.what()}, which promised {proof.proposal_id}"
    return proof.what()


def _shown_promise(o: Observation) -> Optional[int]:
    """The promise this reply shows the acceptor holds (a lower bound)."""
    r = o.reported
    if o.outcome == Outcome.GRANTED:
        assert o.proposal_id is not None
        return o.proposal_id
    if o.request == Request.ACCEPT:
        return None if o.proposal_id is None else o.proposal_id + 1  # refused: promised more than n
    return r.promised_id if r.promised_id is not None else NONE


def _shown_vote(o: Observation) -> Optional[int]:
    """The id of the vote this reply shows (NONE: nothing accepted; None: says nothing)."""
    if o.request == Request.ACCEPT:
        return o.proposal_id if o.outcome == Outcome.GRANTED else None
    v = o.reported.vote
    return v.proposal_id if v is not None else NONE


def _forgot(t: Track, o: Observation) -> list[Violation]:
    found = []
    a = o.acceptor
    # A refused accept shows only a lower bound on the promise (more than n), never a report
    # of it: a bound below an earlier one contradicts nothing.
    promise = None if o.request == Request.ACCEPT else _shown_promise(o)
    # A granted request below the bound breaks its own rule (promise or accept), said below.
    if promise is not None and promise < t.promise and o.outcome != Outcome.GRANTED:
        found.append(Violation(
            Breach.FORGOT,
            f"acceptor {a} reported promisedId {promise} in round {o.round_no}, although "
            f"{_earlier(t.promise_proof, t.promise)}", _proofs(t.promise_proof, o), (a,)))
    vote = _shown_vote(o)
    if vote is not None and vote < t.vote_id:
        now = "nothing accepted" if vote == NONE else f"acceptedId {vote}"
        found.append(Violation(
            Breach.FORGOT,
            f"acceptor {a} reported {now} in round {o.round_no}, although "
            f"{_earlier(t.vote_proof, t.vote_id)}", _proofs(t.vote_proof, o), (a,)))
    return found


def _proofs(earlier: Optional[Observation], o: Observation) -> tuple[Observation, ...]:
    return (earlier, o) if earlier is not None else (o,)


def _granted_prepare(t: Track, o: Observation) -> list[Violation]:
    a, n, r = o.acceptor, o.proposal_id, o.reported
    assert n is not None
    found = []
    vote = r.vote
    if t.promise >= n:
        found.append(Violation(
            Breach.PROMISE_NOT_ABOVE,
            f"acceptor {a} promised {n} in round {o.round_no}, although {_earlier(t.promise_proof, t.promise)}",
            _proofs(t.promise_proof, o), (a,), n))
    elif vote is not None and vote.proposal_id >= n:
        found.append(Violation(
            Breach.PROMISE_NOT_ABOVE,
            f"acceptor {a} promised {n} in round {o.round_no} while reporting {show_value(vote.value)} "
            f"accepted at id {vote.proposal_id}, which had already promised {vote.proposal_id}", (o,), (a,), n))
    if r.promised_id is not None and r.promised_id != n:
        found.append(Violation(
            Breach.PROMISE_MISREPORTED,
            f"acceptor {a} granted prepare {n} in round {o.round_no} but reported promisedId {r.promised_id}",
            (o,), (a,), n))
    return found


def _refused_prepare(o: Observation) -> list[Violation]:
    p, n = o.reported.promised_id, o.proposal_id
    assert n is not None
    if p is not None and p >= n:
        return []
    shown = "no promise" if p is None else f"promisedId {p}"
    return [Violation(
        Breach.REFUSED_BELOW_PROMISE,
        f"acceptor {o.acceptor} refused prepare {n} in round {o.round_no} while reporting {shown}",
        (o,), (o.acceptor,), n)]


def _granted_accept(t: Track, o: Observation) -> list[Violation]:
    a, n, r = o.acceptor, o.proposal_id, o.reported
    assert n is not None
    found = []
    if t.promise > n:
        found.append(Violation(
            Breach.ACCEPT_BELOW_PROMISE,
            f"acceptor {a} accepted {show_value(o.value)} at id {n} in round {o.round_no}, although "
            f"{_earlier(t.promise_proof, t.promise)}", _proofs(t.promise_proof, o), (a,), n))
    wrong_id = r.accepted_id is not None and r.accepted_id != n
    wrong_value = r.has_value and r.accepted_value != o.value
    if wrong_id or wrong_value:
        got_id = r.accepted_id if r.accepted_id is not None else "none"
        got = show_value(r.accepted_value) if r.has_value else "none"
        found.append(Violation(
            Breach.ACCEPT_MISREPORTED,
            f"acceptor {a} answered {o.asked()} in round {o.round_no} with acceptedId {got_id} and value {got}",
            (o,), (a,), n))
    return found


def learn(t: Track, o: Observation, broke: bool) -> None:
    """Raise the bounds from what `o` shows. After a break the acceptor's
    earlier replies no longer bind it, so its bounds restart from `o` (one
    break is reported once, not again at every later reply)."""
    promise, vote = _shown_promise(o), _shown_vote(o)
    if promise is not None and (broke or promise > t.promise):
        t.promise, t.promise_proof = promise, o
    if vote is not None and (broke or vote > t.vote_id):
        t.vote_id, t.vote_proof = vote, o


# --- pool-wide violations, in the same words ------------------------------------------


Evidence = Union[Observation, Sent]
"""What shows that a proposal carries a value: a reply reporting it, or the accept sent."""


def source(evidence: Evidence) -> str:
    """Where a value at an id comes from, in words."""
    if isinstance(evidence, Sent) or (evidence.request == Request.ACCEPT and evidence.outcome != Outcome.GRANTED):
        return f"sent by this shell in round {evidence.round_no}"
    if evidence.request == Request.ACCEPT:
        return f"accepted by acceptor {evidence.acceptor} in round {evidence.round_no}"
    # A promise or a state read reports a vote cast before that round, perhaps by another proposer.
    return f"reported by acceptor {evidence.acceptor} in round {evidence.round_no}"


def two_values(n: int, first: tuple[Optional[str], Evidence], second: tuple[Optional[str], Evidence]) -> Violation:
    proof = tuple(e for _, e in (first, second) if isinstance(e, Observation))
    return Violation(
        Breach.TWO_VALUES_ONE_ID,
        f"proposal id {n} carries two values: {show_value(first[0])} ({source(first[1])}) and "
        f"{show_value(second[0])} ({source(second[1])})", proof, (), n)


def two_chosen(chosen: Sequence[tuple[int, Optional[str], tuple[int, ...]]],
               proof: tuple[Observation, ...]) -> Violation:
    said = " and ".join(f"{show_value(v)} at id {n} by {listing(who)}" for n, v, who in chosen)
    values = tuple(sorted({v or "" for _, v, _ in chosen}))
    return Violation(Breach.TWO_CHOSEN, f"two different values were chosen: {said}", proof, subject=values)


def amnesia(a: int, how: str, lost: str, epoch: int, certain: bool = True) -> Violation:
    """An acceptor lost state it had acknowledged: `how` it happened, what was `lost`."""
    forgot = "it forgot" if certain else "it may have forgotten"
    return Violation(Breach.AMNESIA, f"acceptor {a} {how}: {forgot} {lost}", (), (a,), subject=(a, epoch))
