"""Pace (shell/pace.py): a duel or propose a class watches goes turn by turn; nobody watching, no stop."""

from __future__ import annotations

from typing import Any

import pytest

from paxos_shell.shell.app import Shell

from .helpers import run


def scripted_pause(answers: list[str], asked: list[str]) -> Any:
    """A teacher at the turn prompt: each answer in turn (Enter is "")."""
    def pause(step: str, keys: str = "") -> str:
        asked.append(step)
        return answers.pop(0) if answers else ""
    return pause


def test_a_watched_duel_goes_turn_by_turn(local: Shell) -> None:
    # Was: only the end state appeared. On the projector it waits for Enter after each turn.
    asked: list[str] = []
    local.pause = scripted_pause(["", "", ""], asked)
    run(local, "set present on")
    _code, out = run(local, "duel x y --turns 4 --no-backoff --seed 1")
    assert asked == ["turn 1 of 4", "turn 2 of 4", "turn 3 of 4"]  # not after the last
    assert out.index("turn 1") < out.index("turn 2") < out.index("Nothing chosen in 4 turns")
    asked.clear()
    local.pause = scripted_pause(["c"], asked)  # c: the rest without stopping
    run(local, "duel x y --turns 4 --no-backoff --seed 1")
    assert asked == ["turn 1 of 4"]
    run(local, "set present off")
    asked.clear()
    run(local, "duel x y --turns 4 --no-backoff --seed 1")
    assert asked == []  # nobody watching: no stop


def test_the_view_is_fed_each_turn_of_a_duel(local: Shell) -> None:
    from paxos_shell.view.model import Tracker

    tracker = Tracker()
    drawn: list[tuple[str, int]] = []
    local.listeners.append(lambda line: drawn.append((line, tracker.snapshot(local, line)["diagram"]["rounds"])))
    try:
        _code, _out = run(local, "duel x y --turns 3 --no-backoff --seed 1")
    finally:
        local.listeners.clear()
    assert [line for line, _ in drawn] == ["duel x y (turn 1 of 3)", "duel x y (turn 2 of 3)",
                                           "duel x y --turns 3 --no-backoff --seed 1"]
    rounds = [n for _, n in drawn]
    assert rounds == sorted(rounds) and rounds[0] < rounds[1] < rounds[2]  # each turn's rounds, as they ran


@pytest.mark.parametrize("raw,shown", [("enter", "enter"), ("off", "off"), ("2", "2"), ("0", "bad pace 0"),
                                       ("nan", "bad pace nan"), ("soon", "bad pace 'soon'")])
def test_the_pace_setting(local: Shell, raw: str, shown: str) -> None:
    code, out = run(local, f"set pace {raw}")
    assert shown in out and code == (1 if shown.startswith("bad") else 0)


def test_a_lesson_going_back_replays_a_duel_without_stopping(local: Shell) -> None:
    # Lesson 7's duel, replayed quietly when the teacher goes back a step: no turn prompt then.
    asked: list[str] = []
    local.pause = scripted_pause([], asked)
    run(local, "set present on")
    with local.out.quiet():
        run(local, "duel x y --turns 4 --no-backoff --seed 1")
    assert asked == []
