"""Wing & Gong's search for an order of concurrent operations, with Lowe's memo, for linear.py.

The operations' call and return events are laid out by time in a doubly linked list. The search
walks it from the head: a call whose operation the model allows next is lifted out of the list
(with its return) and the walk starts over; reaching a return means that operation could not be
placed in time, so the last lift is undone and the walk goes on past it. A configuration (the set
of operations placed, as a bitmask, and the model's state) seen once is never explored again:
what can follow depends on nothing else. An operation with no return event is optional: it may be
placed anywhere after its call, or never (and a configuration with more of them placed is
dominated by one with fewer, all else equal). The model is a function given by the caller; this module
knows nothing of Paxos, and never looks at a clock except to honour the budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Generic, Hashable, Optional, Sequence, TypeVar

S = TypeVar("S", bound=Hashable)

ENTER, BACK, FAIL = -2, -3, -4
"""Where the walk goes next besides an event: a configuration just entered, back, or no order."""

DOMINATORS = 16
"""Configurations kept per (operations that must be placed, state) to test new ones against."""

CHECK_EVERY = 512
"""Steps between two looks at the clock: cheap enough, and well under a millisecond apart."""


class OutOfTime(Exception):
    """The budget ran out before the search could answer."""


@dataclass
class Budget:
    """A deadline (time.monotonic) shared by every search of one check, and the states they entered."""

    deadline: float
    explored: int = 0

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise OutOfTime()


class Search(Generic[S]):
    """One search over operations 0..n-1 (`calls[i]`, `rets[i]` None for an optional one).

    `step(i, state)` is the model: the state after operation i, or None when i cannot come next.
    `quiet[i]`: operation i, wherever the model allows it, leaves the state as it is (for the
    acceptor: a refusal or a read); the search then places it as soon as it fits, once.
    At equal times calls come before returns, so exchanges that touch count as concurrent: the
    search never orders two operations the times do not order (no false failure from a tie).
    """

    def __init__(self, calls: Sequence[float], rets: Sequence[Optional[float]],
                 step: Callable[[int, S], Optional[S]], starts: Sequence[S], budget: Budget,
                 quiet: Optional[Sequence[bool]] = None) -> None:
        events = sorted([(t, 0, i) for i, t in enumerate(calls)]
                        + [(t, 1, i) for i, t in enumerate(rets) if t is not None])
        size = len(events)
        self.op = [i for _, _, i in events]
        self.is_call = [kind == 0 for _, kind, _ in events]
        where = {(kind, i): e for e, (_, kind, i) in enumerate(events)}
        self.ret_event = [where.get((1, i), -1) if kind == 0 else -1 for _, kind, i in events]
        self.tail, self.head = size, size + 1
        self.next, self.prev = [0] * (size + 2), [0] * (size + 2)
        chain = [self.head, *range(size), self.tail]
        for a, b in zip(chain, chain[1:]):
            self.next[a], self.prev[b] = b, a
        self.must = [t is not None for t in rets]
        self.quiet = list(quiet) if quiet is not None else [False] * len(calls)
        self.step, self.starts, self.budget = step, starts, budget
        self.states: list[S] = []
        self.code: dict[S, int] = {}
        self.memo: list[dict[int, int]] = [{} for _ in calls]
        self.mandatory = sum(1 << i for i, m in enumerate(self.must) if m)
        self.seen: dict[tuple[int, int], tuple[set[int], list[int]]] = {}

    def _intern(self, state: S) -> int:
        found = self.code.get(state)
        if found is None:
            found = self.code[state] = len(self.states)
            self.states.append(state)
        return found

    def _next_state(self, i: int, s: int) -> int:
        """The code of the state after operation i from state s, or -1; each pair computed once."""
        found = self.memo[i].get(s)
        if found is None:
            after = self.step(i, self.states[s])
            found = self.memo[i][s] = -1 if after is None else self._intern(after)
        return found

    def _lift(self, e: int) -> None:
        for x in (e, self.ret_event[e]):
            if x >= 0:
                self.next[self.prev[x]] = self.next[x]
                self.prev[self.next[x]] = self.prev[x]

    def _unlift(self, e: int) -> None:
        for x in (self.ret_event[e], e):
            if x >= 0:
                self.next[self.prev[x]] = x
                self.prev[self.next[x]] = x

    def first(self) -> Optional[list[int]]:
        """An order of every operation that must be placed (and of the optional ones placed), or None."""
        for start in self.starts:
            found = self._from(self._intern(start), None)
            if found is not None:
                return found
        return None

    def finals(self) -> set[S]:
        """Every state an order of every operation that must be placed (and any optional ones) ends in."""
        found: set[int] = set()
        for start in self.starts:
            self._from(self._intern(start), found)
        return {self.states[s] for s in found}

    def _from(self, start: int, collect: Optional[set[int]]) -> Optional[list[int]]:
        """The first order from `start`; or, collecting, every end state into `collect` (then None)."""
        if not self._unseen(0, start):
            return None
        self.placed, self.state, self.left = 0, start, sum(self.must)
        self.stack: list[tuple[int, int, int, bool]] = []
        e, steps = ENTER, 0
        while self.left or collect is not None:
            steps += 1
            if steps % CHECK_EVERY == 0:
                self.budget.check()
            if e == ENTER:
                if not self.left and collect is not None:
                    collect.add(self.state)
                e = self._settle()
            elif e == BACK or e == self.tail or not self.is_call[e]:
                e = self._back()  # a return whose operation no order places before it
                if e == FAIL:
                    return None
            else:
                e = self._try(e)
        return [self.op[x] for x, _, _, _ in self.stack]

    def _settle(self) -> int:
        """On entering a configuration: a quiet operation that must be placed and fits now is placed,
        for good.

        Whatever order completes the search from here can place it now instead: it changes no
        state now nor where it stood, and every operation still unplaced returns after its call.
        (A quiet optional one is never placed: leaving it out is the same.)
        """
        e = self.next[self.head]
        while e != self.tail and self.is_call[e]:
            i = self.op[e]
            if self.quiet[i] and self.must[i] and self._next_state(i, self.state) == self.state:
                return ENTER if self._place(e, i, self.state, True) else BACK
            e = self.next[e]
        return self.next[self.head]

    def _try(self, e: int) -> int:
        """Place the operation called at e if the model allows it next, else move on.

        An optional operation that would change nothing is never placed: leaving it out is the same.
        """
        i = self.op[e]
        after = self._next_state(i, self.state)
        if after >= 0 and (self.must[i] or after != self.state) and self._place(e, i, after, False):
            return ENTER
        return self.next[e]

    def _unseen(self, placed: int, state: int) -> bool:
        """Record the configuration, unless it or one it dominates was seen (and so explored).

        Of two configurations with the same state and the same operations that must be placed,
        the one with fewer optional operations placed can do all the other can: an optional
        operation may always stay out. Only the first DOMINATORS seen are tried as such (the
        scan would cost more than it saves); any configuration seen exactly still counts.
        """
        key = (placed & self.mandatory, state)
        optional = placed & ~self.mandatory
        seen = self.seen.get(key)
        if seen is None:
            self.seen[key] = ({optional}, [optional])
            return True
        exact, first = seen
        if optional in exact or any(m & ~optional == 0 for m in first):
            return False
        exact.add(optional)
        if len(first) < DOMINATORS:
            first.append(optional)
        return True

    def _place(self, e: int, i: int, after: int, forced: bool) -> bool:
        placed = self.placed | (1 << i)
        if not self._unseen(placed, after):
            return False
        self.budget.explored += 1
        self.stack.append((e, self.placed, self.state, forced))
        self._lift(e)
        self.placed, self.state = placed, after
        self.left -= self.must[i]
        return True

    def _back(self) -> int:
        """Undo the last free choice (and the placements it forced); where the walk goes on, or FAIL."""
        while self.stack:
            e, self.placed, self.state, forced = self.stack.pop()
            self._unlift(e)
            self.left += self.must[self.op[e]]
            if not forced:
                return self.next[e]
        return FAIL
