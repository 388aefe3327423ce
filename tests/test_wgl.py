"""Wing & Gong's search (audit/wgl.py) on a model that is not Paxos: a register of writes and reads.

The search must know nothing of Paxos: these tests give it a register, order what real time allows
and nothing else, leave optional operations out or in, and stop at the budget.
"""

from __future__ import annotations

import time
from typing import Optional

import pytest

from paxos_shell.audit.wgl import Budget, OutOfTime, Search

Op = tuple[str, int, float, Optional[float]]  # ("w" or "r", value, call, ret)


def register(ops: list[Op], start: int = 0, seconds: float = 5.0) -> Search:
    def step(i: int, state: int) -> Optional[int]:
        kind, value, _, _ = ops[i]
        if kind == "w":
            return value
        return state if value == state else None

    return Search([o[2] for o in ops], [o[3] for o in ops], step, [start], Budget(time.monotonic() + seconds),
                  [o[0] == "r" for o in ops])


def test_overlapping_writes_may_come_in_either_order() -> None:
    ops: list[Op] = [("w", 1, 0, 2), ("w", 2, 1, 3), ("r", 1, 4, 5)]
    assert register(ops).first() == [1, 0, 2]


def test_a_read_after_a_write_returned_cannot_see_the_older_value() -> None:
    assert register([("w", 1, 0, 1), ("r", 0, 2, 3)]).first() is None
    assert register([("w", 1, 0, 2), ("r", 0, 1, 3)]).first() == [1, 0]  # overlapping: it may come first


def test_an_optional_write_may_take_effect_late_or_never() -> None:
    late: list[Op] = [("w", 7, 0, None), ("r", 0, 1, 2), ("r", 7, 3, 4)]
    assert register(late).first() == [1, 0, 2]
    assert register([("w", 7, 0, None), ("r", 0, 5, 6)]).first() == [1]
    assert register([("w", 7, 5, None), ("r", 7, 1, 2)]).first() is None  # not before its call


def test_every_end_state_is_found() -> None:
    ops: list[Op] = [("w", 1, 0, 2), ("w", 2, 1, 3), ("w", 3, 0, None)]
    assert register(ops).finals() == {1, 2, 3}


def test_the_budget_stops_the_search() -> None:
    # Forty overlapping writes of distinct values and a read of a value none wrote: every subset is tried.
    ops: list[Op] = [("w", v, 0, 10) for v in range(1, 41)] + [("r", 99, 11, 12)]
    with pytest.raises(OutOfTime):
        register(ops, seconds=0.05).first()
