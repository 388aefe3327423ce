"""Sequence diagrams: the terminal trace and Mermaid (shell/trace.py, the trace command)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from paxos_shell.core.wire import GRANTED, IGNORED, NO_RESPONSE, Phase, Reply
from paxos_shell.diagram.trace import diagram, mermaid
from paxos_shell.engine.session import HistoryEntry
from paxos_shell.shell.app import Shell

from .helpers import run


def known_history() -> list[HistoryEntry]:
    def e(rnd: int, acc: int, phase: str, kind: Any, body: Any, params: dict, lat: float,
          cause: Any = None, who: str = "main") -> HistoryEntry:
        return HistoryEntry(0.0, who, rnd, Reply(acc, Phase(phase), kind, body, cause, lat, params))

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
    assert lines[0].split() == ["P:main", "A1", "A2", "A3"]
    assert "round 1: P:main prepare" in text and "round 2: P:main accept" in text
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
    assert code == 0 and "round 1: P:main prepare" in out and "accept 0 v" in out
    path = tmp_path / "t.mmd"
    code, out = run(local, f"trace --mermaid {path}")
    assert code == 0 and path.read_text().startswith("sequenceDiagram")




def test_trace_marks_what_the_shell_did_to_acceptors(local: Shell) -> None:
    run(local, "prepare 7")
    run(local, "down 2")
    run(local, "up 2")
    run(local, "drop 3 replies 100")
    run(local, "reset")
    run(local, "prepare 0 1")
    code, out = run(local, "trace 5")
    lines = out.splitlines()
    titles = [ln.strip("~ ").split() for ln in lines if ln.startswith("~~")]
    assert titles[:4] == [["down", "A2"], ["up", "A2"], ["A3", "faults:", "drop", "100%", "replies"],
                          ["reset", "A1", "A2", "A3"]]
    down_row = lines[next(i for i, ln in enumerate(lines) if ln.startswith("~~ down")) + 1]
    columns = {name: lines[0].index(name) + len(name) // 2 for name in ("A1", "A2", "A3")}
    assert down_row[columns["A2"]] == "X" and down_row[columns["A1"]] == "|"  # on A2's lifeline only
    # the refused-looking prepare 0 comes after the reset, so it is no mystery
    assert out.index("~~ reset") < out.index("prepare 0")
    code, out = run(local, "trace 5 --mermaid -")
    assert code == 0 and "    Note over A2: down A2" in out and "    Note over A1,A3: reset A1 A2 A3" in out


def test_proposers_named_like_acceptors_stay_distinct(local: Shell) -> None:
    run(local, "proposer A")
    run(local, "prepare 1")
    run(local, "proposer B")
    run(local, "prepare")
    _, out = run(local, "trace")
    assert out.splitlines()[0].split() == ["P:A", "P:B", "A1", "A2", "A3"]
