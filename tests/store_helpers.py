"""What the store tests share: states to save, and how a refusal and a restart are read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paxos_shell.acceptor.store import Store, StoreError
from paxos_shell.paxos import AcceptorState

A = AcceptorState(5, 3, "old")
B = AcceptorState(9, 9, "b" * 6000)
C = AcceptorState(11, 11, "c" * 6000)


def refusal(directory: Path, *parts: str, init: bool = False, **kw: Any) -> str:
    """Store.open's StoreError text, checked to be one line that contains each of `parts`."""
    with pytest.raises(StoreError) as e:
        Store(str(directory), **kw).open(init=init)
    text = str(e.value)
    assert "\n" not in text and "\r" not in text
    for part in parts:
        assert part in text
    return text


def reopen(directory: Path) -> AcceptorState:
    s = Store(str(directory))
    try:
        return s.open()
    finally:
        s.close()


def saved(directory: Path, *states: AcceptorState) -> Store:
    """An open store that has saved `states` in order."""
    s = Store(str(directory))
    s.open()
    for st in states:
        s.save(st)
    return s
