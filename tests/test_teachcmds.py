"""Lessons, teach mode, explain, proposers and expect (shell/commands/teachcmds.py, shell/lessons.py)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from typing import Any

import pytest

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.lessons import lesson_names, load_lesson
from paxos_shell.shell.render import Format

from .helpers import run

SCENARIOS = {
    "happy-path", "value-already-chosen", "override-by-unchosen-accept", "highest-accepted-wins",
    "minority-contact", "dueling-proposers", "chosen-without-knowing", "crash-recovery", "amnesia",
    "stale-id", "accept-without-prepare", "minority-accept",
}


TEACHING_ORDER = [
    "happy-path", "minority-contact", "stale-id", "value-already-chosen", "override-by-unchosen-accept",
    "highest-accepted-wins", "dueling-proposers", "crash-recovery", "chosen-without-knowing",
    "accept-without-prepare", "amnesia", "minority-accept",
]


def test_every_classic_scenario_has_a_lesson_in_teaching_order() -> None:
    assert set(TEACHING_ORDER) == SCENARIOS
    assert lesson_names() == TEACHING_ORDER
    for k, name in enumerate(lesson_names(), 1):
        lesson = load_lesson(name)
        assert lesson.number == k and lesson.title and lesson.goal and lesson.expect, name
        assert any(s.command.startswith("expect ") for s in lesson.steps), name
        assert load_lesson(str(k)).name == name  # `lesson 3` works as well as a name


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_lesson_runs_and_meets_its_expectations(name: str) -> None:
    p = subprocess.run([sys.executable, "-m", "paxos_shell", "--timeout", "5", "-c", f"lesson {name}"],
                       capture_output=True, text=True, timeout=60)
    assert "Traceback" not in p.stdout + p.stderr
    assert p.returncode == 0, p.stdout[-3000:]
    assert re.search(r"Lesson passed: (\d+) of \1 expectations met", p.stdout), p.stdout[-2000:]
    assert "FAIL expect" not in p.stdout
    notes = [ln for ln in p.stdout.splitlines() if ln.startswith("# ")]
    assert notes and all(n[2:] in NOTES[name] for n in notes)  # the lesson's own notes, shown before steps
    assert re.search(r"^  \S", p.stdout, re.M)  # teach mode's explanations, indented under each step


def test_lesson_list_and_unknown_lesson(local: Shell) -> None:
    code, out = run(local, "lesson")
    rows = [ln.split()[:2] for ln in out.splitlines() if re.match(r"^\d+ ", ln)]
    assert code == 0 and rows == [[str(k), n] for k, n in enumerate(TEACHING_ORDER, 1)]
    assert re.search(r"^7 +dueling-proposers +see two proposers livelock, and", out, re.M)  # its goal, wrapped
    local.out.fmt = Format.JSON
    _, out = run(local, "lesson")
    goals = {le["name"]: le["goal"] for le in json.loads(out)["lessons"]}
    assert goals["dueling-proposers"] == "see two proposers livelock, and a random backoff end it"
    local.out.fmt = Format.TABLE
    code, out = run(local, "lesson nope")
    assert code == 1 and out.startswith("error: unknown lesson 'nope'")
    code, out = run(local, "lesson 99")
    assert code == 1 and out.startswith("error: unknown lesson '99'")


def test_failed_expectation_fails(local: Shell) -> None:
    code, out = run(local, "expect chosen Z")
    assert code == 1 and "FAIL expect chosen Z (chosen: nothing)" in out


def test_lessons_need_the_local_pool(acceptors: Any) -> None:
    accs = acceptors(3)
    sh = Shell(Pool({a.id: a.url for a in accs}, "t"), stream=io.StringIO(), err=io.StringIO(), colour=False)
    code, out = run(sh, "lesson happy-path")
    assert code == 1 and "need the local pool" in out
    sh.close()


def scripted_pause(answers: list[str], asked: list[str]) -> Any:
    """A teacher at the step prompt: each answer in turn (Enter is "")."""
    def pause(step: str, keys: str = "") -> str:
        asked.append(step)
        return answers.pop(0) if answers else "q"
    return pause


def test_lesson_steps_wait_for_enter_and_quit(local: Shell) -> None:
    asked: list[str] = []
    local.pause = scripted_pause(["", "", "q"], asked)  # the teacher presses q at the third step
    code, out = run(local, "lesson happy-path")
    assert asked == ["[1/5] reset", "[2/5] prepare 1", "[3/5] accept 1 A"]
    assert "Lesson stopped" in out and "> accept 1 A" not in out and code == 0


def test_lesson_runner_skip_back_and_commands_between_steps(local: Shell) -> None:
    asked: list[str] = []
    # reset, prepare 1, then `state` between steps, skip the accept, back to it, run it, state, expect
    local.pause = scripted_pause(["", "", "state", "s", "b", "", "", ""], asked)
    code, out = run(local, "lesson 1")
    assert asked == ["[1/5] reset", "[2/5] prepare 1", "[3/5] accept 1 A", "[3/5] accept 1 A",
                     "[4/5] state", "[3/5] accept 1 A", "[4/5] state", "[5/5] expect chosen A"]
    assert "Skipped step 3." in out
    assert "Back to step 3: the pool was reset, steps 1 to 2 replayed." in out
    assert out.count("> accept 1 A") == 1  # the replay was quiet; the accept ran once, visibly
    assert "Lesson passed: 1 of 1 expectations met." in out and code == 0
    # the state typed between steps showed the promise of step 2, before any accept
    first_state = out[out.index("Contacting servers: [1, 2, 3]"):out.index("Skipped step 3.")]
    assert re.search(r"^1\s+up\s+1\s+-1\s+-", first_state, re.M), first_state


def test_teach_mode_explains_after_each_command(local: Shell) -> None:
    code, out = run(local, "prepare 1 1")
    assert code == 1 and "promises needed arrived" not in out  # teach is off by default
    run(local, "set teach on")
    code, out = run(local, "prepare 2 1")
    assert "Only 1 of the 2 promises needed arrived" in out
    run(local, "accept 3 first 1 2 --force")
    code, out = run(local, "propose second")
    assert "The client value 'second' was replaced by 'first'" in out
    run(local, "set teach off")
    code, out = run(local, "state")
    assert "is chosen: acceptors" not in out
    code, out = run(local, "explain")
    assert code == 0 and ("Only first can ever be chosen: first is chosen (acceptors 1 and 2 accepted it at id 3, "
                          "a quorum) and every later proposal must carry it.") in " ".join(out.split())


def test_proposers_have_their_own_ids_that_never_collide(local: Shell) -> None:
    run(local, "prepare 5")
    code, out = run(local, "proposer B")
    assert code == 0 and "New proposer B" in out
    assert local.prompt_text() == "paxos[3 acceptors, proposer B]> "
    ids = set()
    for _ in range(3):
        for who in ("A", "B", "main"):
            run(local, f"proposer {who}")
            _, out = run(local, "prepare")
            n = int(re.search(r"ID: (\d+)", out).group(1))  # type: ignore[union-attr]  # a prepare prints its ID
            assert n not in ids
            ids.add(n)
    assert {n % 100 for n in ids} == {0, 1, 2}
    # Only the proposer whose id is the highest promise can still accept; the others are told
    # their prepare was overtaken, not to run it again.
    proposers = local.session.proposers
    top = max(p.current_id for p in proposers.values() if p.current_id is not None)
    winner = next(name for name, p in proposers.items() if p.current_id == top)
    for name in [n for n in proposers if n != winner]:
        run(local, f"proposer {name}")
        code, out = run(local, "accept v")
        assert code == 1 and "run 'prepare" not in out, out
        assert f"promised {top}" in " ".join(out.split()) or f"promisedId {top}" in " ".join(out.split()), out
    run(local, f"proposer {winner}")
    code, out = run(local, "accept v")
    assert code == 0, out
    local.out.fmt = Format.JSON
    _, out = run(local, "proposer")
    data = json.loads(out)
    assert data["active"] == winner and data["proposers"][winner]["acceptedBy"] == [1, 2, 3]
    assert all(data["proposers"][n]["acceptedBy"] == [] for n in proposers if n != winner)




NOTES = {name: " ".join(n for s in load_lesson(name).steps for n in s.notes) for name in lesson_names()}


def test_reset_starts_a_new_instance_with_nothing_carried_over(local: Shell) -> None:
    run(local, "set teach on")
    run(local, "prepare 1")
    run(local, "accept 1 'hello world'")
    run(local, "reset")
    code, out = run(local, "explain")
    assert code == 1 and out == "error: explain: nothing to explain yet (run prepare, accept, propose or state)\n"
    run(local, "prepare 1")
    code, out = run(local, "accept")  # no value left over from before the reset
    assert code == 1 and "hello world" not in out and "missing value" in out


def test_presenter_mode_explains_and_pauses_after_each_round(local: Shell) -> None:
    asked: list[str] = []
    local.pause = scripted_pause(["", "", "", ""], asked)
    run(local, "set present on")
    code, out = run(local, "propose A")
    assert code == 0 and asked == ["Enter for the next round", "Enter for the next round"]  # prepare, accept
    assert "latency" not in out and not re.search(r"\d ms\b", out)  # no debugging details on the projector
    prepare_part = out[:out.index("Sending accept requests")]
    assert "A quorum (3 promises, 2 needed) promised id 0" in " ".join(prepare_part.split())  # explained at once
    assert "\n\n" in prepare_part  # and given room
    run(local, "set present off")
    code, out = run(local, "prepare")
    assert "latency" in out and len(asked) == 2


def test_history_suggestions_only_with_colour(local: Shell) -> None:
    from paxos_shell.shell.ui import build_prompt_session

    local.out.colour = False
    assert build_prompt_session(local).auto_suggest is None  # greyed text would look typed
    local.out.colour = True
    assert build_prompt_session(local).auto_suggest is not None


def test_teach_mode_says_why_an_accept_was_refused_without_inventing_a_proposer(local: Shell) -> None:
    """The higher promise is this shell's own: teach must not blame 'another proposer'."""
    run(local, "set teach on")
    run(local, "prepare 5")
    run(local, "prepare 7")
    code, out = run(local, "accept 5 A --force")
    assert code == 1  # no acceptor accepted: the round failed
    flat = " ".join(out.split())
    assert ("Acceptors 1, 2 and 3 refused: each had promised an id higher than 5, and an acceptor never accepts "
            "below its promise.") in flat
    assert "another proposer" not in flat


def test_teach_mode_never_repeats_what_the_output_said(shell: Any) -> None:
    # Was: after `state`, the verdict paragraph twice, word for word.
    for line in ("prepare 1 1 2", "accept 1 A 1", "set teach on"):
        run(shell, line)
    _, out = run(shell, "state")
    assert " ".join(out.split()).count("Any value may still be chosen") == 1


def test_counts_read_in_the_singular_and_the_ids_are_named(shell: Any) -> None:
    _, out = run(shell, "prepare 5 1")
    assert "ID: 5 (prepare id 5 to acceptor 1)" in out and "Quorum not reached: 1 promise, 2 needed." in out
    _, out = run(shell, "prepare 6 2 3")
    assert "ID: 6 (prepare id 6 to acceptors 2, 3)" in out
