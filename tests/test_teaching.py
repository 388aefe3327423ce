"""Teaching and debugging: lessons, trace, Mermaid, explanations, proposers, faults, check."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from typing import Any, Iterator

import pytest

from paxos_shell.check import check
from paxos_shell.pool import LocalPool, Pool
from paxos_shell.session import HistoryEntry
from paxos_shell.shell.app import Shell
from paxos_shell.shell.teachcmds import lesson_names, load_lesson
from paxos_shell.shell.trace import diagram, mermaid
from paxos_shell.wire import GRANTED, IGNORED, NO_RESPONSE, OK, Reply

from .test_shell import run

SCENARIOS = {
    "happy-path", "value-already-chosen", "override-by-unchosen-accept", "highest-accepted-wins",
    "minority-contact", "dueling-proposers", "chosen-without-knowing", "crash-recovery", "amnesia",
    "stale-id", "accept-without-prepare",
}


@pytest.fixture
def local() -> Iterator[Shell]:
    pool = LocalPool(3)
    pool.start()
    sh = Shell(Pool(pool.urls, "local", pool), timeout=5.0, stream=io.StringIO(), colour=False)
    yield sh
    sh.close()


# -- lessons --------------------------------------------------------------------


def test_every_classic_scenario_has_a_lesson_with_an_expected_outcome() -> None:
    assert set(lesson_names()) >= SCENARIOS
    for name in lesson_names():
        lesson = load_lesson(name)
        assert lesson.title and lesson.expect, name
        assert any(s.command.startswith("expect ") for s in lesson.steps), name


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_lesson_runs_and_meets_its_expectations(name: str) -> None:
    p = subprocess.run([sys.executable, "-m", "paxos_shell", "--timeout", "5", "-c", f"lesson {name}"],
                       capture_output=True, text=True, timeout=60)
    assert "Traceback" not in p.stdout + p.stderr
    assert p.returncode == 0, p.stdout[-3000:]
    assert re.search(r"Lesson passed: (\d+) of \1 expectations met", p.stdout), p.stdout[-2000:]
    assert "FAIL expect" not in p.stdout
    assert "  " in p.stdout and "# " in p.stdout  # explanations and the lesson's notes are shown


def test_lesson_list_and_unknown_lesson(local: Shell) -> None:
    code, out = run(local, "lesson")
    assert code == 0 and "amnesia" in out and "Amnesia" in out
    code, out = run(local, "lesson nope")
    assert code == 1 and out.startswith("error: unknown lesson 'nope'")


def test_failed_expectation_fails(local: Shell) -> None:
    code, out = run(local, "expect chosen Z")
    assert code == 1 and "FAIL expect chosen Z (chosen: nothing)" in out


def test_lessons_need_the_local_pool(acceptors: Any) -> None:
    accs = acceptors(3)
    sh = Shell(Pool({a.id: a.url for a in accs}, "t"), stream=io.StringIO(), colour=False)
    code, out = run(sh, "lesson happy-path")
    assert code == 1 and "need the local pool" in out
    sh.close()


def test_lesson_steps_wait_for_enter_in_the_repl(local: Shell) -> None:
    asked: list[str] = []

    def pause(step: str) -> bool:
        asked.append(step)
        return len(asked) < 3  # the user presses q at the third step

    local.pause = pause
    code, out = run(local, "lesson happy-path")
    assert asked[:2] == ["[1/5] reset", "[2/5] prepare 1"] and len(asked) == 3
    assert "Lesson stopped" in out and "> accept 1 A" not in out and code == 0


# -- trace ------------------------------------------------------------------------


def known_history() -> list[HistoryEntry]:
    def e(rnd: int, acc: int, phase: str, kind: str, body: Any, params: dict, lat: float,
          cause: Any = None, who: str = "main") -> HistoryEntry:
        return HistoryEntry(0.0, who, rnd, Reply(acc, phase, kind, body, cause, lat, params))

    return [
        e(1, 1, "prepare", GRANTED, {"ignored": False, "promisedId": 7}, {"id": 7}, 0.003),
        e(1, 2, "prepare", IGNORED, {"ignored": True, "promisedId": 9}, {"id": 7}, 0.001),
        e(1, 3, "prepare", GRANTED, {"ignored": False, "promisedId": 7, "acceptedId": 5, "acceptedValue": "x"},
          {"id": 7}, 0.002),
        e(2, 1, "accept", GRANTED, {"ignored": False, "acceptedId": 7, "acceptedValue": "x"},
          {"id": 7, "value": "x"}, 0.001),
        e(2, 3, "accept", NO_RESPONSE, None, {"id": 7, "value": "x"}, 1.0, "timeout"),
    ]


def test_trace_draws_requests_and_replies_in_arrival_order() -> None:
    lines = diagram(known_history(), [1, 2, 3], 100)
    text = "\n".join(lines)
    assert all(len(line) <= 100 for line in lines)
    assert lines[0].split() == ["main", "A1", "A2", "A3"]
    assert "round 1: main prepare" in text and "round 2: main accept" in text
    arrows = [ln for ln in lines if "-" in ln and "round" not in ln]
    assert len(arrows) == 10  # one per request and one per reply
    prep = lines[3:9]
    assert [("prepare 7" in ln) for ln in prep[:3]] == [True, True, True]
    assert all(">" in ln for ln in prep[:3])  # requests point to the acceptors
    # Replies in order of arrival: acceptor 2 (1 ms), 3 (2 ms), 1 (3 ms); pointing back.
    assert "ignored (promised 9)" in prep[3] and "promise 7 (accepted 5: x)" in prep[4] and "promise 7" in prep[5]
    assert all("<" in ln for ln in prep[3:6])
    lost = next(ln for ln in lines if "timeout" in ln)
    assert "|x-" in lost and "<" not in lost  # a cross at the proposer instead of an arrowhead


@pytest.mark.parametrize("width", [40, 60, 200])
def test_trace_fits_the_terminal_width(width: int) -> None:
    lines = diagram(known_history(), [1, 2, 3], width)
    assert lines and all(len(line) <= width for line in lines)
    assert sum(1 for ln in lines if "|" in ln) >= 10


def test_trace_only_the_last_rounds() -> None:
    text = "\n".join(diagram(known_history(), [1, 2, 3], 100, last=1))
    assert "round 2" in text and "round 1" not in text


def test_mermaid_structure() -> None:
    text = mermaid(known_history(), [1, 2, 3])
    lines = text.strip().splitlines()
    assert lines[0] == "sequenceDiagram"
    participants = [re.match(r"\s+participant (\w+) as (.+)$", ln) for ln in lines if "participant" in ln]
    assert [(m.group(1), m.group(2)) for m in participants if m] == [
        ("P_main", "proposer main"), ("A1", "acceptor 1"), ("A2", "acceptor 2"), ("A3", "acceptor 3")]
    msgs = [re.match(r"\s+(\w+)(->>|-->>|--x)(\w+): (.+)$", ln) for ln in lines if ": " in ln and "Note" not in ln]
    assert all(msgs) and len(msgs) == 10
    parsed = [(m.group(1), m.group(2), m.group(3), m.group(4)) for m in msgs if m]
    assert parsed[0] == ("P_main", "->>", "A1", "prepare 7")
    assert ("A3", "--x", "P_main", "x timeout") in parsed
    assert ("A2", "-->>", "P_main", "ignored (promised 9)") in parsed
    assert sum(1 for ln in lines if ln.strip().startswith("Note over")) == 2


def test_mermaid_escapes_what_would_break_it() -> None:
    h = known_history()
    h[3].reply.params = {"id": 7, "value": "a;b#c"}
    text = mermaid(h, [1, 2, 3])
    assert "accept 7 a#59;b#35;c" in text


def test_trace_command_and_mermaid_file(local: Shell, tmp_path: Any) -> None:
    run(local, "propose v")
    code, out = run(local, "trace 2")
    assert code == 0 and "round 1: main prepare" in out and "accept 0 v" in out
    path = tmp_path / "t.mmd"
    code, out = run(local, f"trace --mermaid {path}")
    assert code == 0 and path.read_text().startswith("sequenceDiagram")


# -- explanations and proposers ----------------------------------------------------


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
    assert code == 0 and "'first' is chosen: acceptors [1, 2] (a quorum) accepted it at id 3" in out


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
            n = int(re.search(r"ID: (\d+)", out).group(1))  # type: ignore[union-attr]
            assert n not in ids
            ids.add(n)
    assert {n % 100 for n in ids} == {0, 1, 2}
    assert local.session.proposers["A"].promises and local.session.proposers["B"].current_id is not None
    # A prepared last in each turn, so only A still holds the highest promises and can accept.
    code, out = run(local, "accept v")
    assert code == 1 and "refused: only 0 promise(s)" in out  # main's promises were all overtaken
    run(local, "proposer A")
    code, out = run(local, "accept v")
    assert code == 0, out
    local.out.fmt = "json"
    _, out = run(local, "proposer")
    data = json.loads(out)
    assert data["active"] == "A" and data["proposers"]["A"]["acceptedBy"] == [1, 2, 3]
    assert data["proposers"]["main"]["acceptedBy"] == [] and data["proposers"]["main"]["promisedBy"] == []


# -- fault injection ----------------------------------------------------------------


def test_dropped_reply_leaves_the_acceptor_changed(local: Shell) -> None:
    run(local, "set timeout 0.3")
    code, out = run(local, "drop 1 replies 100")
    assert code == 0 and "drop 100% replies" in out
    code, out = run(local, "prepare 5 1")
    assert code == 1 and "timeout" in out
    run(local, "heal")
    local.out.fmt = "json"
    _, out = run(local, "state 1")
    assert json.loads(out)["1"]["promisedId"] == 5  # it promised; only the reply was lost


def test_dropped_request_leaves_the_acceptor_unchanged(local: Shell) -> None:
    run(local, "set timeout 0.3")
    run(local, "drop 2 requests 100")
    code, out = run(local, "prepare 5 2")
    assert code == 1 and "timeout" in out
    _, out = run(local, "pool")
    assert re.search(r"^2 .*drop 100% requests", out, re.M)
    code, out = run(local, "heal 9")
    assert code == 1 and out == "error: unknown acceptor 9: the pool is 1..3\n"
    run(local, "heal 2")
    local.out.fmt = "json"
    _, out = run(local, "state 2")
    assert json.loads(out)["2"]["promisedId"] == -1


def test_delay_slows_one_acceptor(local: Shell) -> None:
    run(local, "delay 3 200")
    rnd = local.engine.prepare(1)
    lat = {r.acceptor: r.latency for r in rnd.round.replies}
    assert lat[3] >= 0.2 and lat[1] < 0.2 and rnd.reached
    run(local, "heal 3")
    assert local.engine.prepare(2).round.replies[2].latency < 0.2


def test_faults_refused_without_local_pool_and_on_plain_acceptors(acceptors: Any) -> None:
    accs = acceptors(1)
    sh = Shell(Pool({1: accs[0].url}, "t"), stream=io.StringIO(), colour=False)
    code, out = run(sh, "drop 1 replies 50")
    assert code == 1 and "needs the local pool" in out
    with pytest.raises(ValueError, match="started with --faults"):
        sh.client.admin_faults(1, "delay_ms=5")
    sh.close()


def test_fault_endpoint_is_loopback_only_and_off_by_default(acceptors: Any) -> None:
    from paxos_shell.acceptor.server import admin_allowed

    assert admin_allowed("127.0.0.1") and admin_allowed("127.3.4.5") and admin_allowed("::1")
    assert not admin_allowed("10.0.0.1") and not admin_allowed("192.168.1.2") and not admin_allowed("junk")
    (plain,) = acceptors(1)
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", plain.port, timeout=5)
    conn.request("POST", "/admin/faults?drop_replies=100")
    assert conn.getresponse().status == 404  # not started with --faults: no such endpoint
    conn.close()


def test_volatile_acceptor_says_it_is_unsafe(tmp_path: Any) -> None:
    from .conftest import Acceptor, free_port

    a = Acceptor(1, free_port(), str(tmp_path), extra=("--volatile",))
    a.start()
    a.kill()
    log = (tmp_path / "acceptor-1.log").read_text()
    assert "VOLATILE" in log and "UNSAFE" in log


# -- check ------------------------------------------------------------------------------


def test_check_is_silent_on_a_correct_run(local: Shell) -> None:
    for v in ("a", "b", "c"):
        run(local, f"propose {v} --contact-count 2")
    run(local, "restart 2")
    run(local, "propose d")
    code, out = run(local, "check")
    assert code == 0 and out.startswith("OK: no violation")


def test_check_catches_a_forced_unsafe_accept(local: Shell) -> None:
    run(local, "propose A")
    run(local, "prepare 5 2 3")
    code, out = run(local, "accept 5 B 2 3 --force")
    assert "WARNING" in out
    code, out = run(local, "check")
    assert code == 1
    assert "VIOLATION (at most one value chosen)" in out and "'A' at id 0" in out and "'B' at id 5" in out
    assert "acceptor 2: accept id=5 value='B' -> granted" in out  # the proof


def test_check_catches_a_volatile_acceptor_forgetting(local: Shell) -> None:
    run(local, "restart 1 --volatile")
    _, out = run(local, "pool")
    assert "VOLATILE" in out
    run(local, "prepare 4 1")
    run(local, "restart 1")
    run(local, "state 1")
    code, out = run(local, "check")
    assert code == 1 and "VIOLATION (ids decreased): acceptor 1 reported promisedId -1 after promisedId 4" in out


def test_reset_is_not_amnesia(local: Shell) -> None:
    run(local, "propose A")
    run(local, "reset")
    assert [local.session.statuses[i].kind for i in (1, 2, 3)] == ["up", "up", "up"]  # the toolbar stays right
    run(local, "propose B")
    code, out = run(local, "check")
    assert code == 0, out


def test_check_rules_on_planted_replies() -> None:
    def e(rnd: int, acc: int, phase: str, kind: str, body: dict, params: dict) -> HistoryEntry:
        return HistoryEntry(0.0, "main", rnd, Reply(acc, phase, kind, body, None, 0.0, params))

    bad = [
        e(1, 1, "prepare", GRANTED, {"ignored": False, "promisedId": 9}, {"id": 9}),
        e(2, 1, "prepare", GRANTED, {"ignored": False, "promisedId": 8}, {"id": 8}),  # promised below 9
        e(3, 2, "state", OK, {"promisedId": 3, "acceptedId": 5, "acceptedValue": "v"}, {}),  # accepted > promised
        e(4, 1, "accept", GRANTED, {"ignored": False, "acceptedId": 7, "acceptedValue": "w"},
          {"id": 7, "value": "w"}),  # accepted below its promise 9
        e(5, 3, "prepare", IGNORED, {"ignored": True, "promisedId": 2}, {"id": 6}),  # refused with lower promise
        e(6, 3, "accept", GRANTED, {"ignored": False, "acceptedId": 5, "acceptedValue": "x"},
          {"id": 5, "value": "x"}),  # id 5 now has values v and x
    ]
    rules = [v.rule for v in check(bad, 3)]
    assert rules.count("reply breaks the rules") == 3
    assert "acceptedId above promisedId" in rules and "one value per proposal id" in rules
    good = [
        e(1, 1, "prepare", GRANTED, {"ignored": False, "promisedId": 1}, {"id": 1}),
        e(1, 2, "prepare", IGNORED, {"ignored": True, "promisedId": 4}, {"id": 1}),
        e(2, 1, "accept", GRANTED, {"ignored": False, "acceptedId": 1, "acceptedValue": "a"}, {"id": 1, "value": "a"}),
        e(3, 1, "state", OK, {"promisedId": 1, "acceptedId": 1, "acceptedValue": "a"}, {}),
    ]
    assert check(good, 3) == []


def test_ping_and_bench(local: Shell) -> None:
    code, out = run(local, "ping --count 3")
    assert code == 0 and re.search(r"^1\s+3/3\s+[\d.]+ ms", out, re.M)
    run(local, "down 3")
    code, out = run(local, "ping 3 --count 2")
    assert code == 1 and "connection refused" in out
    run(local, "up 3")
    code, out = run(local, "bench 20")
    assert code == 0 and "consensus   20/20" in out and "proposals/s" in out
    assert len(local.session.history) < 30  # bench kept its rounds out of the history


@pytest.mark.parametrize("garbage", ["x", "--bogus", "1 2 3 4 5 x", "''", "-1", "999999999999", "--id", "1 x y z"])
def test_no_command_answers_garbage_with_an_internal_error(local: Shell, garbage: str) -> None:
    from paxos_shell.shell.registry import REGISTRY

    for name in sorted(set(REGISTRY) - {"exit"}):
        code, out = run(local, f"{name} {garbage}")
        assert "internal error" not in out and "Traceback" not in out, (name, garbage, out)
        if code == 1 and out.startswith("error:"):
            assert len(out.strip().splitlines()) == 1, (name, garbage, out)
    code, out = run(local, "state")
    assert code == 0  # the session and the pool survived all of it
