"""What the shell knows about the pool, and the answer to every Paxos question it prints.

Its job: fold facts (facts.py: replies, accepts sent, resets, crashes,
restarts) into what is known of each acceptor, epoch by epoch, and answer with
reasons as data: which values are chosen, which can still be (possible.py),
which replies broke the rules (breaks.py, flagged as they arrive), the verdict
on one proposal, and whether Paxos's guarantees still hold. It never does
I/O and never reads the wire or the session: the shell converts what it sees
into facts, and renders the answers.

Epochs: a `reset` of some acceptors, or a restart that lost state, starts a
new epoch of that acceptor (its earlier replies no longer bind it) and is
amnesia unless it held nothing. A reset of every acceptor starts a new Paxos
instance: everything before is forgotten. Votes from earlier epochs still
count towards "chosen", which is history.

Memory: ledger.py keeps the votes and proposals, and lets go of those that can
no longer change an answer (given each acceptor's floors, which this module
knows), so a pool watched for a day costs what one watched for a minute does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Optional

from paxos_shell.core import paxos
from paxos_shell.core.paxos import NONE, Chosen, Promise, ProposeOutcome, Safety, Verdict, quorum
from paxos_shell.core.text import listing, show_value
from paxos_shell.knowledge import breaks, ledger, trust
from paxos_shell.knowledge.breaks import Breach, Evidence, Track, Violation
from paxos_shell.knowledge.facts import (
    ANSWERS,
    Down,
    Fact,
    Observation,
    Outcome,
    Recovery,
    Request,
    Reset,
    Sent,
    Up,
    Volatile,
)
from paxos_shell.knowledge.ledger import Floor, Ledger
from paxos_shell.knowledge.outlook import Caution, Caveat, ChosenValue, Outlook, guaranteed
from paxos_shell.knowledge.possible import Known, Snapshot, State, Unknown, Vote, analyse
from paxos_shell.knowledge.proposers import ProposerJudge
from paxos_shell.knowledge.trust import SetAside

NOT_ASKED = "was not asked"
VIOLATIONS_KEPT = 1_000
"""Violations kept (with their proof) per instance; more are counted (`more_violations`)."""
UNANSWERED = {
    Outcome.ERROR: "answered, but not as an acceptor, in round {}",
    Outcome.UNREACHED: "could not be reached in round {}",
    Outcome.SILENT: "did not answer in round {}",
}
"""Why the state of an acceptor that never gave a protocol answer is unknown: what its last
request came to (a foreign or error answer, a refused connection, silence)."""


@dataclass
class _Acceptor:
    state: State = field(default_factory=lambda: Unknown(NOT_ASKED))
    track: Track = field(default_factory=Track)
    epoch: int = 0
    promised_ever: int = NONE
    volatile: bool = False
    answered: bool = False
    """It gave a protocol answer in this epoch (else its unknown state says what happened instead)."""
    last: Known = field(default_factory=Known)
    """The state its last answer showed, kept through later silence: what displays call its state."""


class Knowledge:
    """What the shell knows of a pool of acceptors; `add` facts, ask questions."""

    def __init__(self, acceptors: Iterable[int]) -> None:
        self.pool = tuple(sorted(set(acceptors)))
        if not self.pool:
            raise ValueError("a pool needs at least one acceptor")
        self.quorum = quorum(len(self.pool))
        self._acc = {a: _Acceptor() for a in self.pool}
        self._trust = trust.LastRound()
        self._new_instance()

    def _new_instance(self) -> None:
        self._ledger = Ledger(self.quorum)
        """Votes, proposals, silences and refusals, with what can no longer matter forgotten
        (ledger.py): chosen pairs are counted as votes arrive, never recounted."""
        self._chosen: Optional[tuple[ChosenValue, ...]] = None
        """chosen()'s answer until a vote or a sweep changes it (outlook() asks on every command)."""
        self._violations: dict[tuple[object, ...], Violation] = {}
        self._more_violations = 0
        self._forced: list[tuple[Sent, bool]] = []
        self.proposers = ProposerJudge(self.quorum)
        """The proposers judged from their exchanges (proposers.py); the session folds every one in."""

    # -- folding facts ---------------------------------------------------------------

    def add(self, fact: Fact) -> tuple[Violation, ...]:
        """Fold one fact in; returns the violations it reveals, on the spot."""
        before = len(self._violations)
        if isinstance(fact, Observation):
            self._observe(fact)
        elif isinstance(fact, Sent):
            self._sent(fact)
        elif isinstance(fact, Reset):
            self._reset(fact)
        elif isinstance(fact, Down):
            self._down(fact)
        elif isinstance(fact, Up):
            self._up(fact)
        elif isinstance(fact, Volatile) and fact.acceptor in self._acc:
            self._acc[fact.acceptor].volatile = fact.volatile
        return tuple(list(self._violations.values())[before:])

    def _flag(self, v: Violation) -> None:
        if v.key in self._violations:
            return
        if len(self._violations) >= VIOLATIONS_KEPT:
            self._more_violations += 1
            return
        self._violations[v.key] = v

    def _observe(self, o: Observation) -> None:
        acc = self._acc.get(o.acceptor)
        if acc is None:
            return
        if o.request == Request.ACCEPT and o.proposal_id is not None and o.value is not None:
            self._propose(o.proposal_id, o.value, Sent(o.round_no, o.proposal_id, o.value))  # exists once sent
        if o.outcome not in ANSWERS and not acc.answered and isinstance(acc.state, Unknown):
            acc.state = Unknown(UNANSWERED[o.outcome].format(o.round_no))
        if o.outcome in ANSWERS:
            acc.answered = True
            found = breaks.check(acc.track, o)
            breaks.learn(acc.track, o, bool(found))
            for v in found:
                self._flag(v)
            self._trust.note(o, found)
            self._learn_state(acc, o)
            # A reply that misreports its own accept is one break, not also a second value at the id.
            self._learn_vote(o, propose=not any(v.rule == Breach.ACCEPT_MISREPORTED for v in found))
        elif o.outcome == Outcome.SILENT:
            self._silence(acc, o)
        if self._ledger.due():
            self._chosen = None
            self._ledger.sweep({a: Floor(self.promise_floor(a), self._vote_floor(a)) for a in self.pool})

    def _learn_state(self, acc: _Acceptor, o: Observation) -> None:
        r, n = o.reported, o.proposal_id
        if o.request == Request.ACCEPT and o.outcome == Outcome.IGNORED:
            if not (isinstance(acc.state, Known) and n is not None and acc.state.promised > n):
                acc.state = Unknown(f"refused {o.asked()} in round {o.round_no} although its last known promise "
                                    "allowed it: someone else has changed it since")
            return
        if o.request == Request.PREPARE and o.outcome == Outcome.IGNORED:
            self._ledger.refused.setdefault(n if n is not None else NONE, {})[o.acceptor] = o
        vote = _vote_of(o)
        if o.request == Request.ACCEPT:
            promised = max(n if n is not None else NONE, vote.proposal_id if vote else NONE)
        elif o.outcome == Outcome.GRANTED and n is not None:
            promised = r.promised_id if r.promised_id is not None else n
        else:
            promised = r.promised_id if r.promised_id is not None else NONE
        acc.state = acc.last = Known(promised, vote)
        acc.promised_ever = max(acc.promised_ever, promised)

    def _learn_vote(self, o: Observation, propose: bool = True) -> None:
        vote = _vote_of(o)
        if vote is None:
            return
        fresh = self._ledger.vote((vote.proposal_id, vote.value), o)
        if fresh:
            self._chosen = None
        if propose:
            self._propose(vote.proposal_id, vote.value, o)
        if len(self._ledger.first_chosen) > 1 and fresh:
            first = [self._ledger.chosen_value(k) for k in self._ledger.first_chosen.values()]
            self._flag(breaks.two_chosen([(c.proposal_id, c.value, c.acceptors) for c in first],
                                         tuple(e for c in first for e in c.evidence)))

    def _propose(self, n: int, value: Optional[str], evidence: Evidence) -> None:
        first = self._ledger.propose(n, value, evidence)
        if first is not None:
            self._flag(breaks.two_values(n, first, (value, evidence)))

    def _silence(self, acc: _Acceptor, o: Observation) -> None:
        n, st = o.proposal_id, acc.state
        if o.request == Request.STATE or n is None:
            return
        if isinstance(st, Known) and (n <= st.promised if o.request == Request.PREPARE else
                                      n < st.promised or (st.promised == n and st.vote == Vote(n, o.value))):
            return  # the request could not change it: it would have been refused, or it was a repeat
        if o.request == Request.ACCEPT:
            self._ledger.silent.setdefault((n, o.value), {})[o.acceptor] = o
        if isinstance(st, Known):
            verb = "promised it" if o.request == Request.PREPARE else "accepted it"
            acc.state = Unknown(f"went silent after {o.asked()} in round {o.round_no}: it may have {verb}")

    def _sent(self, s: Sent) -> None:
        self._propose(s.proposal_id, s.value, s)
        if s.forced:
            pristine = all(isinstance(a.state, Known) and a.state.promised < s.proposal_id
                           for a in self._acc.values())
            self._forced.append((s, pristine))

    def _reset(self, f: Reset) -> None:
        ids = [a for a in f.acceptors if a in self._acc]
        if set(ids) >= set(self.pool):
            for a, acc in self._acc.items():
                self._acc[a] = _Acceptor(Known(), epoch=acc.epoch + 1)
            self._new_instance()
            return
        for a in ids:
            self._lose(a, f"was wiped by reset after round {f.round_no} while the others kept their state", True)
            self._acc[a].volatile = False

    def _down(self, f: Down) -> None:
        acc = self._acc.get(f.acceptor)
        if acc is not None and acc.volatile:
            self._lose(f.acceptor, f"stopped after round {f.round_no} and kept its state in memory only", True)

    def _up(self, f: Up) -> None:
        if f.acceptor not in self._acc:
            return
        if f.recovery == Recovery.EMPTY:
            self._lose(f.acceptor, f"came back empty after round {f.round_no}", True)
        elif f.recovery == Recovery.OLDER:
            self._lose(f.acceptor, f"came back after round {f.round_no} with an older state", False)

    def _lose(self, a: int, how: str, empty: bool) -> None:
        """Acceptor `a` lost its state (amnesia, unless it held nothing): a new epoch."""
        acc = self._acc[a]
        lost = _holding(acc.state)
        if lost is not None:
            self._flag(breaks.amnesia(a, how, lost, acc.epoch, certain=empty))
        acc.epoch += 1
        acc.track = Track()
        acc.state = Known() if empty else Unknown(f"{how}: what it holds is not known")

    # -- answers ---------------------------------------------------------------------

    def state_of(self, a: int) -> State:
        """What is known of acceptor `a` now (promised_ever filled in)."""
        st = self._acc[a].state
        if isinstance(st, Known):
            return replace(st, promised_ever=max(self._acc[a].promised_ever, st.promised))
        return st

    def last_known(self, a: int) -> Known:
        """The state acceptor `a`'s last answer showed (an accept also promises its id), kept
        through later silence: what the toolbar, `pool` and the view show as its state."""
        return self._acc[a].last

    def set_aside(self, round_no: int) -> tuple[SetAside, ...]:
        """The replies of round `round_no` (the latest round) set aside for a broken rule
        (trust.py): no promise, no value, no id comes from them."""
        return self._trust.set_aside(round_no)

    def shown_chosen(self, round_no: int) -> Optional[Chosen]:
        """The highest (id, value) that the answers of round `round_no` (the latest round),
        those not set aside, report accepted by a quorum: a value the round proves chosen."""
        return self._trust.shown_chosen(round_no, len(self.pool))

    def promise_floor(self, a: int) -> int:
        """The lowest promise acceptor `a` can hold now, from everything it said this epoch."""
        st, t = self._acc[a].state, self._acc[a].track
        return max(t.promise, st.promised if isinstance(st, Known) else NONE)

    def _vote_floor(self, a: int) -> int:
        """The lowest vote id acceptor `a` can hold now (NONE: none), from what it said this epoch."""
        st, t = self._acc[a].state, self._acc[a].track
        known = st.vote.proposal_id if isinstance(st, Known) and st.vote is not None else NONE
        return max(t.vote_id, known)

    def values_sent(self, n: int) -> tuple[str, ...]:
        """The values this shell sent at id n (for paxos.accept_safety's `sent`)."""
        return tuple(e.value for e in self._ledger.proposals.get(n, {}).values() if isinstance(e, Sent))

    def accept_safety(self, n: int, value: Optional[str], promises: Iterable[Promise]) -> Safety:
        """Whether accept(n, value) is one Paxos allows after these promises (paxos.accept_safety),
        counting every value this shell already sent at n."""
        return paxos.accept_safety(n, value, promises, len(self.pool), self.values_sent(n))

    def chosen_other(self, value: Optional[str]) -> Optional[ChosenValue]:
        """A value other than `value` known chosen: an accept of `value` could choose a second one."""
        return next((c for c in self.chosen() if c.value != value), None)

    def refusals(self, n: int) -> tuple[Observation, ...]:
        """The refusals of prepare n seen in this instance."""
        return tuple(self._ledger.refused.get(n, {}).values())

    def chosen(self) -> tuple[ChosenValue, ...]:
        """Every (id, value) a quorum of distinct acceptors accepted, earlier epochs included,
        that is kept whole: the first of each value and the latest (the outlook's `unlisted` counts the rest)."""
        if self._chosen is None:
            self._chosen = tuple(sorted(self._ledger.chosen(), key=lambda c: (c.proposal_id, c.value or "")))
        return self._chosen

    def held(self) -> dict[str, int]:
        """How much the model keeps now, by kind (ledger.py bounds each): for tests and benchmarks."""
        return self._ledger.held()

    def violations(self) -> tuple[Violation, ...]:
        """Every violation seen in this instance, each once, in the order found."""
        return tuple(self._violations.values())

    def caveats(self) -> tuple[Caveat, ...]:
        """Forced accepts that may have broken Paxos, states that cannot all be
        current, and volatile acceptors: conditions on every answer."""
        # A forced accept sent while every acceptor was known to promise less than
        # its id, and taken by a quorum, left the states a correct proposal leaves:
        # nobody else held that id, and the quorum now blocks every lower one.
        found = [Caveat(Caution.FORCED, sent=s) for s, pristine in self._forced
                 if not (pristine and len(self._ledger.voters((s.proposal_id, s.value)) or ()) >= self.quorum)]
        if not found and not self._violations:
            found += self._stale()
        lost = self._ledger.forgotten
        if lost.live:
            found.append(Caveat(Caution.FORGOTTEN, count=lost.live, top=lost.live_top or 0))
        volatile = tuple(a for a in self.pool if self._acc[a].volatile)
        if volatile:
            found.append(Caveat(Caution.VOLATILE, volatile))
        return tuple(found)

    def _known_promise(self, a: int) -> Optional[int]:
        st = self._acc[a].state
        return st.promised if isinstance(st, Known) else None

    def _stale(self) -> list[Caveat]:
        """A vote at d needs a quorum of promises at d or above, which only rise:
        current states of a correct pool always show one. When the known states
        do not, some were read before others moved on (possible.py assumes they
        are current), and the first such vote says so."""
        for a in self.pool:
            st = self._acc[a].state
            if isinstance(st, Known) and st.vote is not None:
                d = st.vote.proposal_id
                ahead = tuple(b for b in self.pool if (p := self._known_promise(b)) is None or p >= d)
                if len(ahead) < self.quorum:
                    return [Caveat(Caution.STALE, (a,), vote=st.vote, others=ahead)]
        return []

    def snapshot(self, chosen: Optional[Chosen] = None) -> Snapshot:
        return Snapshot(self.pool, {a: self.state_of(a) for a in self.pool},
                        {n: tuple(vs) for n, vs in self._ledger.proposals.items()}, chosen)

    def outlook(self) -> Outlook:
        """Chosen values, possible futures, violations and caveats, together."""
        chosen, violations, caveats = self.chosen(), self.violations(), self.caveats()
        proposers = self.proposers.violations()
        one_value = chosen and len({c.value for c in chosen}) == 1
        single = chosen[0] if one_value and guaranteed(violations, caveats, proposers) else None
        shortcut = Chosen(single.proposal_id, single.value, single.acceptors) if single else None
        return Outlook(analyse(self.snapshot(shortcut)), chosen, violations, caveats, proposers,
                       self._ledger.forgotten.settled, self._more_violations)

    def outcome(self, n: int, value: Optional[str]) -> ProposeOutcome:
        """Is (n, value) chosen, not chosen, or unknown (silent acceptors may have accepted it)?"""
        voters = self._ledger.voters((n, value))
        what = f"{show_value(value)} at id {n}"
        if voters is None:
            return ProposeOutcome(Verdict.UNKNOWN, f"who accepted {what} is no longer known: the shell keeps the "
                                                   f"voters of the latest {ledger.PAST_KEPT:,} proposals it let go", ())
        got = voters
        maybe = tuple(a for a in sorted(self._ledger.silent.get((n, value), {}))
                      if a not in got and self._unsettled(a, n))
        did = f"{listing(got)} accepted {what}" if got else f"no acceptor accepted {what}"
        need = f"a quorum is {self.quorum} of {len(self.pool)}"
        if len(got) >= self.quorum:
            return ProposeOutcome(Verdict.CHOSEN, f"{did}, and {need}", got)
        if len(got) + len(maybe) >= self.quorum:
            return ProposeOutcome(Verdict.UNKNOWN, f"{did}; {listing(maybe)} went silent and may have accepted it; "
                                                   f"{need}", got)
        return ProposeOutcome(Verdict.NOT_CHOSEN, f"{'only ' if got else ''}{did}, and {need}", got)

    def _unsettled(self, a: int, n: int) -> bool:
        """Whether acceptor a may have accepted at id n without the shell knowing."""
        st = self._acc[a].state
        return not isinstance(st, Known) or (st.vote is not None and st.vote.proposal_id > n)


def _vote_of(o: Observation) -> Optional[Vote]:
    """The vote a reply shows the acceptor cast (a granted accept: what it was sent,
    unless it reported otherwise)."""
    if o.request != Request.ACCEPT:
        return o.reported.vote
    if o.outcome != Outcome.GRANTED or o.proposal_id is None:
        return None
    return o.reported.vote or Vote(o.proposal_id, o.value)


def _holding(st: State) -> Optional[str]:
    """What an acceptor held, in words; None when it held nothing."""
    if isinstance(st, Unknown):
        return "whatever it held (its state was not known)"
    if st.vote is not None:
        return (f"promise {st.promised} and {show_value(st.vote.value)} accepted at id "
                f"{st.vote.proposal_id}")
    return f"promise {st.promised}" if st.promised != NONE else None


__all__ = ["Breach", "Caution", "Caveat", "ChosenValue", "Knowledge", "Outlook", "Violation"]
