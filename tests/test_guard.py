"""The session's guard (engine/guard.py): the proxies record while the shell's thread waits."""

from __future__ import annotations

import threading

from paxos_shell.engine.guard import Guard


def test_the_guard_is_let_go_while_its_holder_waits_and_taken_back_after() -> None:
    guard = Guard()
    recorded = threading.Event()

    def proxy() -> None:
        with guard:
            recorded.set()

    with guard, guard:  # re-entrant
        other = threading.Thread(target=proxy)
        other.start()
        assert not recorded.wait(0.05)  # held: the proxy waits
        with guard.released():
            assert recorded.wait(10)  # let go: the proxy records
            other.join(10)
        assert guard.held
    assert not guard.held
