"""Judging proposers: the rules a proposer breaks, proved by the exchanges the session recorded.

Its job: fold every exchange the session records (the shell's own rounds and, through
`watch`, other proposers' requests), each labelled with the proposer that sent it, and
flag three proposer rules the moment an accept breaks one: `accept-without-quorum` (an
accept for id n before a quorum of acceptors granted prepare n to that proposer),
`accept-wrong-value` (a value no quorum of those promises allows, by paxos.choose_value)
and `id-reused` (one id sent with two values). Each violation names the proposer, the id,
why in words, and the exchanges that prove it. Pure: it never does I/O, never reads the
wire or the session, and never judges an acceptor (breaks.py does).

"As far as the record shows": a promise the record never saw (granted before the shell
started watching, or sent around the proxy) cannot justify an accept, so the first rule
may flag a proposer that had promises the shell never saw; the sentence says so. A promise
is recorded before its reply reaches the proposer, so a promise the proposer used is never
missing from the record otherwise.

Memory is bounded, whatever the traffic: per (proposer, id) at most one promise per acceptor
of the pool and two flags; per id the first value sent and whether it was reused; the
MAX_IDS most recently used (proposer, id) pairs and ids (older ones are forgotten, so a
reuse of an id unused for MAX_IDS ids is not seen); the first MAX_KEPT violations (later
ones are counted, not kept).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional, Sequence

from paxos_shell.core.paxos import NONE, Promise, ValueChoice, choose_value
from paxos_shell.core.text import listing, show_value, visible
from paxos_shell.core.vocab import Word
from paxos_shell.knowledge.facts import Observation, Outcome, Request

SHELL = "shell"
"""The label of the shell's own main proposer; another of its proposers is `shell:NAME`."""

MAX_IDS = 10_000
"""(proposer, id) pairs and ids remembered, most recently used first (the session's history keeps 10,000
replies too)."""
MAX_KEPT = 1_000
"""Violations kept with their evidence; later ones are only counted."""


def shell_label(name: str) -> str:
    """The label of the shell's own proposer `name`: `shell` for main, `shell:NAME` for the others."""
    return SHELL if name == "main" else f"{SHELL}:{name}"


class ProposerRule(Word):
    """A rule a proposer must follow; the value is its name in `check` and in JSON."""

    ACCEPT_WITHOUT_QUORUM = "accept-without-quorum"
    ACCEPT_WRONG_VALUE = "accept-wrong-value"
    ID_REUSED = "id-reused"


RULES = {
    ProposerRule.ACCEPT_WITHOUT_QUORUM: "an accept for id n needs a quorum of promises for n first",
    ProposerRule.ACCEPT_WRONG_VALUE: "an accept carries the value of the highest accepted id its quorum of "
                                     "promises reported, or any value if none reported one",
    ProposerRule.ID_REUSED: "one proposal id carries one value",
}
"""Each rule in plain words."""


@dataclass(frozen=True)
class Exchange:
    """One request a proposer sent and what came of it; `own` when this shell sent it."""

    proposer: str
    observation: Observation
    own: bool = False

    def said(self) -> str:
        """'acceptor 2 promised 5 in round 4 (prepare 5, sent by shell)'."""
        o = self.observation
        return f"{o.said()} ({o.asked()}, sent by {visible(self.proposer)})"


@dataclass(frozen=True)
class ProposerViolation:
    """A proposer rule broken: by whom, at which id, why, and the exchanges that prove it
    (the accept first, then the promises it relied on)."""

    rule: ProposerRule
    proposer: str
    proposal_id: int
    why: str
    evidence: tuple[Exchange, ...] = ()
    own: bool = False
    """Sent by this shell (with --force): the knowledge model's forced caveat already weighs it."""

    def sentence(self) -> str:
        return f"{self.why}: {self.rule} ({RULES[self.rule]})"


@dataclass
class _Ballot:
    """What one proposer obtained and did at one id: its promises, first one per acceptor."""

    promises: dict[int, Exchange] = field(default_factory=dict)
    flagged: set[ProposerRule] = field(default_factory=set)
    sound: Optional[tuple[Optional[str], int]] = None
    """The last (value, promise count) judged allowed, so a round's accepts are judged once."""


@dataclass
class _Id:
    """The first value sent at one id, by whom; whether another value followed."""

    value: Optional[str]
    first: Exchange
    reused: bool = False


class ProposerJudge:
    """Folds exchanges labelled by proposer; flags the proposer rules each accept breaks."""

    def __init__(self, quorum: int) -> None:
        self.quorum = quorum
        self._ballots: OrderedDict[tuple[str, bool, int], _Ballot] = OrderedDict()
        self._ids: OrderedDict[int, _Id] = OrderedDict()
        self._found: list[ProposerViolation] = []
        self.more = 0
        """Violations found beyond MAX_KEPT: counted, not kept."""

    def fold(self, proposer: str, o: Observation, own: bool = False) -> tuple[ProposerViolation, ...]:
        """Judge one exchange; the violations it reveals, on the spot."""
        n = o.proposal_id
        if n is None:
            return ()
        e = Exchange(proposer, o, own)
        if o.request == Request.PREPARE and o.outcome == Outcome.GRANTED:
            ballot = self._ballot(proposer, own, n)
            ballot.promises.setdefault(o.acceptor, e)
            return ()
        if o.request != Request.ACCEPT or o.value is None:
            return ()
        found = [v for v in (self._reused(e, n, o.value), self._judge_accept(e, n, o.value)) if v is not None]
        for v in found:
            self._keep(v)
        return tuple(found)

    def violations(self) -> tuple[ProposerViolation, ...]:
        """Every violation kept, in the order found (`more` counts those beyond MAX_KEPT)."""
        return tuple(self._found)

    # -- memory ------------------------------------------------------------------------

    def _ballot(self, proposer: str, own: bool, n: int) -> _Ballot:
        key = (proposer, own, n)
        ballot = self._ballots.pop(key, None) or _Ballot()
        self._ballots[key] = ballot  # most recently used last
        if len(self._ballots) > MAX_IDS:
            self._ballots.popitem(last=False)
        return ballot

    def _keep(self, v: ProposerViolation) -> None:
        if len(self._found) < MAX_KEPT:
            self._found.append(v)
        else:
            self.more += 1

    # -- the rules ---------------------------------------------------------------------

    def _reused(self, e: Exchange, n: int, value: str) -> Optional[ProposerViolation]:
        """id-reused: the first value at n is kept; the first different one is flagged, once per id."""
        seen = self._ids.pop(n, None)
        if seen is None:
            seen = _Id(value, e)
        self._ids[n] = seen
        if len(self._ids) > MAX_IDS:
            self._ids.popitem(last=False)
        if seen.value == value or seen.reused:
            return None
        seen.reused = True
        first = seen.first
        by = ("it" if (first.proposer, first.own) == (e.proposer, e.own)
              else f"proposer {visible(first.proposer)}")
        why = (f"proposer {visible(e.proposer)} sent {e.observation.asked()} in round {e.observation.round_no}, "
               f"although {by} had sent accept {n} {show_value(seen.value)} in round {first.observation.round_no}")
        return ProposerViolation(ProposerRule.ID_REUSED, e.proposer, n, why, (e, first), e.own)

    def _judge_accept(self, e: Exchange, n: int, value: str) -> Optional[ProposerViolation]:
        """accept-without-quorum, else accept-wrong-value, against the promises for n seen so far."""
        ballot = self._ballot(e.proposer, e.own, n)
        promises = list(ballot.promises.values())
        if len(promises) < self.quorum:
            return self._flag(ballot, e, ProposerRule.ACCEPT_WITHOUT_QUORUM, _without_quorum(e, promises, self.quorum))
        if ballot.sound == (value, len(promises)) or ProposerRule.ACCEPT_WRONG_VALUE in ballot.flagged:
            return None
        choices = quorum_choices([_promise(p.observation) for p in promises], value, self.quorum)
        if any(c.value == value for c in choices):
            ballot.sound = (value, len(promises))
            return None
        return self._flag(ballot, e, ProposerRule.ACCEPT_WRONG_VALUE, _wrong_value(e, promises, choices))

    def _flag(self, ballot: _Ballot, e: Exchange, rule: ProposerRule, why: str) -> Optional[ProposerViolation]:
        """A violation of `rule` at this ballot, the first time only (a round's accepts break it together)."""
        if rule in ballot.flagged:
            return None
        ballot.flagged.add(rule)
        n = e.observation.proposal_id
        assert n is not None
        return ProposerViolation(rule, e.proposer, n, why, (e, *ballot.promises.values()), e.own)


def _promise(o: Observation) -> Promise:
    """A granted prepare as paxos.choose_value reads it."""
    vote = o.reported.vote
    assert o.proposal_id is not None
    return Promise(o.acceptor, o.proposal_id, vote.proposal_id if vote else NONE, vote.value if vote else None)


def _beats(p: Promise, top: Promise) -> bool:
    """Whether choose_value would pick p's value over top's (the rule's own order, never a copy of it)."""
    return p is not top and choose_value([top, p], None).forced_by is p


def quorum_choices(promises: Sequence[Promise], value: Optional[str], quorum: int) -> list[ValueChoice]:
    """What choose_value dictates for every quorum of these promises that could have been the one used,
    with `value` as the client's own.

    Every quorum's choice is that of its top promise (the one choose_value picks, or none
    carrying a value); the largest quorum with top t is t with every promise t beats, so
    checking those (at most one per promise) covers every quorum exactly, without
    enumerating subsets.
    """
    found = []
    for top in promises:
        below = [p for p in promises if not _beats(p, top)]
        if len(below) >= quorum:
            found.append(choose_value(below, value))
    return found


def _without_quorum(e: Exchange, promises: list[Exchange], quorum: int) -> str:
    o = e.observation
    got = sorted(p.observation.acceptor for p in promises)
    had = (f"only {listing(got)} had granted it prepare {o.proposal_id}" if got
           else f"no acceptor had granted it prepare {o.proposal_id}")
    return (f"proposer {visible(e.proposer)} sent {o.asked()} to acceptor {o.acceptor} in round {o.round_no}, "
            f"but {had}, and a quorum is {quorum} (as far as the record shows: a promise granted before "
            "the record began, or not through it, cannot count)")


def _wrong_value(e: Exchange, promises: list[Exchange], choices: list[ValueChoice]) -> str:
    o = e.observation
    got = sorted(p.observation.acceptor for p in promises)
    allowed = " or ".join(dict.fromkeys(show_value(c.value) for c in choices))
    tops = "; ".join(dict.fromkeys(
        f"acceptor {t.acceptor} reported {show_value(t.accepted_value)} accepted at id {t.accepted_id}"
        for t in (c.forced_by for c in choices) if t is not None))
    return (f"proposer {visible(e.proposer)} sent {o.asked()} in round {o.round_no}, but with the promises "
            f"for {o.proposal_id} from {listing(got)} every quorum requires {allowed} ({tops}, the highest "
            "accepted id in such a quorum)")
