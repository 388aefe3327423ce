"""The live view's snapshot (view/model.py): cards, verdict, explanation, lesson step, drops."""

from __future__ import annotations

import io
import socket
from typing import Any, Callable, Iterator

import pytest

import paxos_shell.pool.local as pool_module
from paxos_shell.pool.local import LocalPool, Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.lessons import load_lesson
from paxos_shell.shell.teach import explain
from paxos_shell.view import model
from paxos_shell.view.model import Tracker, verdict_of

from .helpers import HOST, Acceptor, run


@pytest.fixture
def own_local(monkeypatch: pytest.MonkeyPatch) -> Iterator[Shell]:
    """A shell on its own local pool, on free ports: the layout's first port is held, so the
    pool does not take 8081..8083 (which other engineers' runs use)."""
    with socket.socket() as hold:
        hold.bind((HOST, 0))
        hold.listen(1)
        monkeypatch.setattr(pool_module, "LAYOUT_BASE_PORT", hold.getsockname()[1])
        local = LocalPool(3)
    local.start()
    sh = Shell(Pool(local.urls, "local", local), timeout=5.0, stream=io.StringIO(), err=io.StringIO(),
               colour=False)
    yield sh
    sh.close()


def step(sh: Shell, t: Tracker, line: str) -> dict[str, Any]:
    code, out = run(sh, line)
    assert code == 0, out
    return t.snapshot(sh, line)


def cards(snap: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(c["id"], c["status"], c["promisedId"], c["acceptedId"], c["acceptedValue"], c["changed"])
            for c in snap["acceptors"]]


def test_cards_show_what_each_acceptor_said_and_what_the_last_command_changed(
        shell: Shell, acceptors: Callable[..., list[Acceptor]]) -> None:
    t = Tracker()
    assert cards(t.snapshot(shell, "")) == [(i, "unknown", None, None, None, []) for i in (1, 2, 3)]
    snap = step(shell, t, "prepare 1")
    assert cards(snap) == [(i, "up", 1, None, None, ["status", "promisedId"]) for i in (1, 2, 3)]
    snap = step(shell, t, "accept 1 A 1 2")
    assert cards(snap) == [(1, "up", 1, 1, "A", ["acceptedId", "acceptedValue"]),
                           (2, "up", 1, 1, "A", ["acceptedId", "acceptedValue"]),
                           (3, "up", 1, None, None, [])]
    assert [c["seq"] for c in (snap,)] == [2]


def test_a_crashed_acceptor_shows_down_and_a_hostile_value_shows_escaped(
        acceptors: Callable[..., list[Acceptor]]) -> None:
    accs = acceptors(3)
    sh = Shell(Pool({a.id: a.url for a in accs}, "test pool"), timeout=5.0, stream=io.StringIO(),
               err=io.StringIO(), colour=False)
    try:
        t = Tracker()
        step(sh, t, "prepare 1")
        step(sh, t, "accept 1 'A\x1b[2J<b>\u202e' 1 2")
        accs[2].kill()
        snap = step(sh, t, "state")
        assert cards(snap)[0][4] == "'A\\x1b[2J<b>\\u202e'"
        assert cards(snap)[2][:2] == (3, "down") and cards(snap)[2][5] == ["status"]
    finally:
        sh.close()


def test_the_verdict_comes_from_verdict_of_alone(shell: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    t = Tracker()
    snap = step(shell, t, "prepare 1")
    assert snap["verdict"] == {
        "verdict": "not chosen", "headline": "nothing chosen yet",
        "detail": ["No value is chosen yet (quorum is 2 of 3)."],  # the futures have their own line
        "futures": {"kind": "any", "text": "Any value may still be chosen: acceptors 1, 2 and 3 have accepted nothing "
                                          "and make a quorum, so a proposer with a fresh id that reaches them may "
                                          "propose any value."}}
    snap = step(shell, t, "accept 1 A 1 2")
    v = snap["verdict"]
    assert (v["verdict"], v["headline"], v["futures"]["kind"]) == ("chosen", "chosen: A", "only")
    assert v["detail"] == ["Chosen: A (accepted at id 1 by acceptors 1 and 2, quorum is 2 of 3)"]
    assert v["futures"]["text"].startswith("Only A can ever be chosen: A is chosen")
    snap = step(shell, t, "accept 9 B 2 3 --force")
    assert snap["verdict"]["verdict"] == "violation" and snap["verdict"]["headline"] == "SAFETY VIOLATION"
    assert snap["verdict"]["detail"][0] == (
        "SAFETY VIOLATION: two different values were chosen: A at id 1 by acceptors 1 and 2 and B at id 9 by "
        "acceptors 2 and 3: at most one value is ever chosen.")
    # The page says what the terminal says: the same Outlook, never recomputed.
    futures = snap["verdict"]["futures"]["text"]
    assert snap["verdict"]["detail"] == [x for x in shell.session.outlook().summary(2, 3) if x != futures]
    assert snap["verdict"] == verdict_of(shell)
    # verdict_of is the one door: replacing it changes what the page gets.
    monkeypatch.setattr(model, "verdict_of", lambda ctx: {"verdict": "unknown", "planted": True})
    assert t.snapshot(shell, "state")["verdict"] == {"verdict": "unknown", "planted": True}


def test_the_explanation_is_about_the_last_paxos_command(shell: Shell) -> None:
    t = Tracker()
    step(shell, t, "prepare 1")
    snap = step(shell, t, "accept 1 A")
    assert snap["explanation"] == {"about": "accept 1 A", "sentences": explain(shell.last)}
    assert snap["explanation"]["sentences"][0] == ("A quorum (acceptors 1, 2 and 3) accepted 'A' at id 1, so it is "
                                                   "chosen.")
    snap = step(shell, t, "proposer B")  # not a Paxos round: the explanation stays on the accept
    assert snap["explanation"]["about"] == "accept 1 A" and snap["line"] == "proposer B"
    assert snap["proposer"] == {"name": "B", "id": None, "count": 2}


def test_a_drop_fault_in_force_is_remembered_for_its_rounds(acceptors: Callable[..., list[Acceptor]]) -> None:
    accs = acceptors(3, "--faults")
    sh = Shell(Pool({a.id: a.url for a in accs}, "test pool"), timeout=0.3, stream=io.StringIO(),
               err=io.StringIO(), colour=False)
    try:
        t = Tracker()
        step(sh, t, "delay 2 1000")
        snap = step(sh, t, "prepare 1")  # acceptor 2 answers too late: a timeout
        assert 'class="msg rep timeout"' in snap["diagram"]["svg"] and "rep drop" not in snap["diagram"]["svg"]
        step(sh, t, "heal")
        snap = step(sh, t, "drop 3 replies 100")
        assert snap["acceptors"][2]["faults"] == "drop 100% replies" and snap["acceptors"][2]["changed"] == ["faults"]
        snap = step(sh, t, "prepare 2")
        svg = snap["diagram"]["svg"]
        assert svg.count('class="msg rep drop"') == 1 and svg.count('class="msg rep timeout"') == 1
        assert (snap["diagram"]["rounds"], snap["diagram"]["new"]) == (2, 1)
    finally:
        sh.close()


def test_each_lesson_step_reaches_the_listeners(own_local: Shell) -> None:
    seen: list[Any] = []
    own_local.listeners.append(lambda line: seen.append((line, model.lesson(own_local))))
    code, out = run(own_local, "lesson happy-path")
    assert code == 0, out
    lesson = load_lesson("happy-path")
    steps = [(s.command, {"name": "happy-path", "title": lesson.title, "number": k, "total": len(lesson.steps),
                          "command": s.command, "notes": s.notes}) for k, s in enumerate(lesson.steps, 1)]
    assert seen == [*steps, ("lesson happy-path", None)]


def test_volatile_acceptors_and_local_status(own_local: Shell) -> None:
    t = Tracker()
    step(own_local, t, "prepare 1")
    snap = step(own_local, t, "down 2")
    assert cards(snap)[1] == (2, "down", 1, None, None, ["status"])
    snap = step(own_local, t, "up 2 --volatile")
    card = snap["acceptors"][1]
    assert (card["status"], card["volatile"], card["changed"]) == ("up", True, ["status", "volatile"])


def test_a_new_session_starts_the_diagram_over(shell: Shell) -> None:
    t = Tracker()
    step(shell, t, "prepare 1")
    step(shell, t, "accept 1 A")
    shell.new_session()  # what a lesson going back does: round numbers start again at 1
    snap = step(shell, t, "prepare 5")
    svg = snap["diagram"]["svg"]
    assert (snap["diagram"]["rounds"], snap["diagram"]["new"]) == (1, 1)
    assert svg.count('data-round="1"') == 1 and "prepare 5" in svg and "prepare 1" not in svg
    assert 'class="round new" data-round="1"' in svg  # drawn afresh, and animated as new


def test_the_verdict_box_says_each_sentence_once(shell: Shell) -> None:
    # Was: the possible futures in the detail list and again on the "Possible futures" line.
    run(shell, "prepare 1 1 2")
    run(shell, "accept 1 A 1")
    v = Tracker().snapshot(shell, "accept 1 A 1")["verdict"]
    summary = shell.session.outlook().summary(2, 3)
    assert v["futures"]["text"] in summary  # the terminal's `state` prints it under the table...
    assert v["detail"] and v["futures"]["text"] not in v["detail"]  # ...the box only once, on its own line


def test_the_lesson_panel_gets_whole_paragraphs() -> None:
    # Was one bullet per comment line: "In its turn a proposer" / "prepares, ...".
    notes = load_lesson("dueling-proposers").steps[1].notes
    assert len(notes) == 1 and "In its turn a proposer prepares, or sends accept" in notes[0]
    assert notes[0].endswith("just before the other's accept.")
