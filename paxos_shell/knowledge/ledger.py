"""The votes and proposals of one Paxos instance that can still matter, in bounded memory.

Its job: keep, for model.py, every vote seen (who accepted which (id, value), with the replies that
prove it), the values each id was proposed with, the accepts that met silence and the refused
prepares, and forget what can no longer change an answer, so that a pool watched for 100,000
exchanges costs what one watched for 1,000 does. It never decides a Paxos question (model.py
does, from what is kept here) and never does I/O.

What is forgotten, and why it is safe. An honest acceptor never votes below its promise, and
promises and votes only rise; model.py passes each acceptor's floors (the lowest promise and vote
it can hold, from what it said in its current epoch). So:
- an (id, value) not chosen whose voters, with every other acceptor whose floor is at or below the
  id, are fewer than a quorum can never be chosen: its votes go;
- a chosen (id, value) stays chosen: beyond the first one chosen per value and the latest
  CHOSEN_KEPT, only a count (and its voters, below) stays;
- a proposal (the values an id was sent with) goes once no acceptor can still promise at most its
  id while a quorum less one others can still hold no vote above it: possible.py never asks for it
  again (votes only rise, too);
- silences and refusals at ids below every promise floor go: no acceptor can act there.
Who voted for a forgotten pair is still known for the latest PAST_KEPT of them (acceptor numbers
only), so "was (n, v) chosen?" keeps its answer for them; older ones answer "no longer known".
Beyond that, a cap (the open pairs and proposals of LIVE_LIMIT ids) holds when an acceptor is down
and its floor stays low, keeping old ids alive: the lowest ids go first and are counted, and
model.py says so (a value chosen through them later would not be seen). An acceptor that breaks a
rule or forgets (both flagged by model.py) can vote where none could: a value chosen through votes
already forgotten is then not seen either.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator, Mapping, Optional

from paxos_shell.knowledge.breaks import Evidence
from paxos_shell.knowledge.facts import Observation, Sent
from paxos_shell.knowledge.outlook import ChosenValue

Key = tuple[int, Optional[str]]
"""A proposal: (id, value)."""

CHOSEN_KEPT = 100
"""The latest chosen pairs kept whole (with their proof), besides the first of each value."""

LIVE_LIMIT = 10_000
"""The most ids whose open pairs and proposals are kept while they can still change (see above)."""

PAST_KEPT = 10_000
"""Forgotten pairs whose voters are still known (acceptor numbers only, no proof)."""

PRUNE_EVERY = 256
"""Votes and proposals added between two sweeps: a sweep costs one pass over what is kept."""


@dataclass(frozen=True)
class Floor:
    """The lowest promise and the lowest vote id an acceptor can hold now (model.py, from what it
    said in its current epoch): an honest one never goes below either."""

    promise: int
    vote: int


@dataclass
class Forgotten:
    """What the ledger let go of, counted: shown by model.py, never silently lost."""

    settled: int = 0
    """Chosen (id, value) pairs kept only as a count (and their voters, in `past`)."""
    live: int = 0
    """Ids whose open pairs or proposals the cap dropped while they could still change."""
    live_top: Optional[int] = None
    """The highest id the cap dropped."""
    past_top: Optional[int] = None
    """The highest id of a pair whose voters are no longer known at all."""


class Ledger:
    """The instance's votes, proposals, silences and refusals: add, ask, and `sweep` now and then."""

    def __init__(self, quorum: int) -> None:
        self.quorum = quorum
        self.votes: dict[Key, dict[int, Observation]] = {}
        self.proposals: dict[int, dict[Optional[str], Evidence]] = {}
        self.silent: dict[Key, dict[int, Observation]] = {}
        self.refused: dict[int, dict[int, Observation]] = {}
        self.chosen_keys: dict[Key, None] = {}
        """The chosen pairs kept, in the order they reached a quorum."""
        self.first_chosen: dict[Optional[str], Key] = {}
        """The first pair chosen with each value: the proof that two values were, if ever."""
        self.forgotten = Forgotten()
        self.past: OrderedDict[Key, tuple[int, ...]] = OrderedDict()
        """Voters of the latest PAST_KEPT forgotten pairs."""
        self._records: dict[Key, ChosenValue] = {}
        self._added = 0

    def vote(self, key: Key, o: Observation) -> bool:
        """Acceptor `o.acceptor` voted for `key`; whether it is a new voter for it."""
        earlier = self.past.get(key)
        if earlier is not None and key not in self.votes:
            if o.acceptor in earlier:
                return False  # a vote counted, then let go: a later report repeats it
            self.past[key] = tuple(sorted((*earlier, o.acceptor)))
            if len(earlier) + 1 != self.quorum:
                return True
            self.votes[key] = {}  # chosen by a vote for a pair let go: kept whole from here
        who = self.votes.setdefault(key, {})
        fresh = o.acceptor not in who
        who.setdefault(o.acceptor, o)
        self._added += fresh
        if fresh:
            self._records.pop(key, None)
        if fresh and len(self._who(key)) == self.quorum:
            self.chosen_keys[key] = None
            self.first_chosen.setdefault(key[1], key)
        return fresh

    def propose(self, n: int, value: Optional[str], evidence: Evidence) -> Optional[tuple[Optional[str], Evidence]]:
        """`value` was proposed at id n; returns the other value first seen at n when this is a second."""
        values = self.proposals.setdefault(n, {})
        if value in values:
            if isinstance(evidence, Sent) and not isinstance(values[value], Sent):
                values[value] = evidence  # what this shell sent is the better proof
            return None
        values[value] = evidence
        self._added += 1
        return next(iter(values.items())) if len(values) > 1 else None

    def chosen_value(self, key: Key) -> ChosenValue:
        """The record of a chosen pair kept whole, built again only when a vote for it came since."""
        got = self._records.get(key)
        if got is None:
            who = self.votes[key]
            got = self._records[key] = ChosenValue(key[0], key[1], tuple(sorted(self._who(key))),
                                                   tuple(who[a] for a in sorted(who)))
        return got

    def chosen(self) -> Iterator[ChosenValue]:
        return (self.chosen_value(k) for k in self.chosen_keys)

    def voters(self, key: Key) -> Optional[tuple[int, ...]]:
        """Who voted for `key`, as far as seen; None when that is no longer known (forgotten
        past PAST_KEPT)."""
        if key in self.votes or key in self.past:
            return tuple(sorted(self._who(key)))
        top = self.forgotten.past_top
        return None if top is not None and key[0] <= top else ()

    def _who(self, key: Key) -> set[int]:
        return set(self.votes.get(key, ())) | set(self.past.get(key, ()))

    def held(self) -> dict[str, int]:
        return {"votes": len(self.votes), "proposals": len(self.proposals), "silent": len(self.silent),
                "refused": len(self.refused), "past": len(self.past), "chosen": len(self.chosen_keys)}

    def due(self) -> bool:
        """Whether enough was added since the last sweep to make one worth its pass."""
        return self._added >= PRUNE_EVERY

    def sweep(self, floors: Mapping[int, Floor]) -> None:
        """Forget what can no longer matter, given each acceptor's floors (module docstring)."""
        self._added = 0
        promises = {a: f.promise for a, f in floors.items()}
        for key in [k for k in self.votes if k not in self.chosen_keys and self._dead(k, promises)]:
            self._drop(key)
        self._settle()
        for n in [n for n in self.proposals if not _may_matter(n, floors, self.quorum)]:
            del self.proposals[n]
        below = min(promises.values())
        for n in [n for n in self.refused if n < below]:
            del self.refused[n]
        for key in [k for k in self.silent if k[0] < below]:
            del self.silent[key]
        self._cap()

    def _dead(self, key: Key, floors: Mapping[int, int]) -> bool:
        who = self._who(key)
        can = sum(1 for a, f in floors.items() if a not in who and f <= key[0])
        return len(who) + can < self.quorum

    def _settle(self) -> None:
        """Keep whole the first chosen pair of each value and the latest CHOSEN_KEPT; count the
        rest (a later vote for one only joins its voters: it is chosen already)."""
        firsts = set(self.first_chosen.values())
        latest = set(list(self.chosen_keys)[max(0, len(self.chosen_keys) - CHOSEN_KEPT):])
        for key in list(self.chosen_keys):
            if key in firsts or key in latest:
                continue
            del self.chosen_keys[key]
            self._drop(key)
            self.forgotten.settled += 1

    def _drop(self, key: Key) -> None:
        self.past[key] = tuple(sorted(self._who(key)))
        self.past.move_to_end(key)
        del self.votes[key]
        self._records.pop(key, None)
        self.silent.pop(key, None)
        while len(self.past) > PAST_KEPT:
            old, _ = self.past.popitem(last=False)
            top = self.forgotten.past_top
            self.forgotten.past_top = old[0] if top is None else max(top, old[0])

    def _cap(self) -> None:
        """Keep the open pairs and proposals of the highest LIVE_LIMIT ids, counting the ids let go;
        silences and refusals (which only word answers about one proposal) are capped alone."""
        open_keys = [k for k in self.votes if k not in self.chosen_keys]
        ids = sorted({k[0] for k in open_keys} | set(self.proposals))
        if len(ids) > LIVE_LIMIT:
            cut = ids[-LIVE_LIMIT]
            for key in [k for k in open_keys if k[0] < cut]:
                self._drop(key)
            for n in [n for n in self.proposals if n < cut]:
                del self.proposals[n]
            gone, f = len(ids) - LIVE_LIMIT, self.forgotten
            f.live += gone
            f.live_top = ids[gone - 1] if f.live_top is None else max(f.live_top, ids[gone - 1])
        if len(self.refused) > LIVE_LIMIT:
            for n in sorted(self.refused)[: len(self.refused) - LIVE_LIMIT]:
                del self.refused[n]
        if len(self.silent) > LIVE_LIMIT:
            for key in sorted(self.silent, key=lambda k: k[0])[: len(self.silent) - LIVE_LIMIT]:
                del self.silent[key]


def _may_matter(n: int, floors: Mapping[int, Floor], quorum: int) -> bool:
    """Whether a proposal at id n can still matter to what may be chosen (possible.py): some
    acceptor b can still promise no more than n while quorum-1 others can still hold no vote
    above n. Floors only rise, so once this is false it stays false."""
    low = sum(1 for f in floors.values() if f.vote <= n)
    return any(f.promise <= n and low - (f.vote <= n) >= quorum - 1 for f in floors.values())
