"""The sequence diagram as SVG (view/svg.py) and `trace --svg` (shell/commands/teachcmds.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any, Optional

from paxos_shell.core.wire import ERROR, GRANTED, IGNORED, NO_RESPONSE, Phase, Reply
from paxos_shell.diagram.marks import MarkKind, RoundMark
from paxos_shell.diagram.style import stylesheet
from paxos_shell.diagram.svg import diagram
from paxos_shell.engine.session import HistoryEntry
from paxos_shell.shell.app import Shell
from paxos_shell.shell.render import Format

from .helpers import run

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "</text><script>alert(1)</script>\x1b[2J\u202eA"


def entry(rnd: int, acc: int, phase: str, kind: Any, body: Any, params: dict, lat: float,
          cause: Optional[str] = None, who: str = "main", reached: bool = True) -> HistoryEntry:
    return HistoryEntry(0.0, who, rnd, Reply(acc, Phase(phase), kind, body, cause, lat, params, reached=reached))


def known_history() -> list[HistoryEntry]:
    """Round 1: a prepare with one refusal; round 2: an accept with a hostile value, one timeout;
    round 3: proposer B's prepare to a refused connection and an HTTP error."""
    accepted = {"ignored": False, "acceptedId": 7, "acceptedValue": HOSTILE}
    return [
        entry(1, 1, "prepare", GRANTED, {"ignored": False, "promisedId": 7}, {"id": 7}, 0.003),
        entry(1, 2, "prepare", IGNORED, {"ignored": True, "promisedId": 9}, {"id": 7}, 0.001),
        entry(1, 3, "prepare", GRANTED, {"ignored": False, "promisedId": 7}, {"id": 7}, 0.002),
        entry(2, 1, "accept", GRANTED, accepted, {"id": 7, "value": HOSTILE}, 0.001),
        entry(2, 3, "accept", NO_RESPONSE, None, {"id": 7, "value": HOSTILE}, 1.0, "timeout"),
        entry(3, 1, "prepare", NO_RESPONSE, None, {"id": 8}, 0.001, "connection refused (down)", "B", False),
        entry(3, 2, "prepare", ERROR, None, {"id": 8}, 0.002, "HTTP 500: \x1b]0;owned\x07", "B"),
    ]


MARKS = {1: RoundMark(MarkKind.QUORUM, "quorum: 2 of 3 promised"),
         2: RoundMark(MarkKind.UNKNOWN, "quorum unknown: 1 accepted, silent acceptors may have too"),
         3: RoundMark(MarkKind.NO_QUORUM, "no quorum: 0 promised, 2 needed")}
"""What the rounds' results said (shell/marks.py): the diagram draws these, whatever the replies."""


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if cls in (g.get("class") or "").split()]


def text_of(g: ET.Element) -> str:
    return " ".join(t.text or "" for t in g.iter(f"{NS}text"))


ONLY_THE_COMMAND = "['paxos_shell.view', 'paxos_shell.view.command']"
"""The `view` command's registration (view/command.py) is all a shell that never shows the view loads."""


def test_the_diagram_is_well_formed_and_escapes_every_foreign_string() -> None:
    svg = diagram(known_history(), [1, 2, 3], MARKS)
    root = parse(svg)  # a stray '<' or control character would not parse
    assert root.tag == f"{NS}svg" and not list(root.iter(f"{NS}script")) and not list(root.iter("script"))
    labels = [text_of(g) for g in groups(root, "msg")]
    # The value reads as the shell shows it (show_value: quoted, escapes visible), never raw.
    assert any(label.startswith("accept 7 '</text><script>alert(1)</script>\\x1b[2J\\u202eA'") for label in labels)
    assert "error: HTTP 500: \\x1b]0;owned\\x07" in labels
    assert not any(ch in svg for ch in "\x1b\x07\u202e")


def test_replies_are_drawn_by_what_they_said_and_missing_ones_by_why() -> None:
    root = parse(diagram(known_history(), [1, 2, 3], MARKS, drops={}))
    kinds = [g.get("class") for g in groups(root, "rep")]
    # Arrival order inside each round: acceptor 2 (1 ms) before 3 (2 ms) before 1 (3 ms).
    assert kinds == ["msg rep ignored", "msg rep promise", "msg rep promise",
                     "msg rep accepted", "msg rep timeout",
                     "msg rep refused", "msg rep error"]
    undelivered = [g for g in groups(root, "req") if "undelivered" in (g.get("class") or "")]
    assert [text_of(g) for g in undelivered] == ["prepare 8"]  # the refused request never arrived: crossed
    assert len(list(undelivered[0].iter(f"{NS}polygon"))) == 0 and "cross" in ET.tostring(undelivered[0]).decode()


def test_a_timeout_while_a_drop_fault_is_in_force_is_drawn_as_a_drop() -> None:
    root = parse(diagram(known_history(), [1, 2, 3], MARKS, drops={2: frozenset({3})}))
    drop = [g for g in groups(root, "rep") if "drop" in (g.get("class") or "").split()]
    assert [text_of(g) for g in drop] == ["no reply: timeout (a drop fault is in force)"]
    assert not [g for g in groups(root, "rep") if "timeout" in (g.get("class") or "").split()]


def marks_drawn(svg: str) -> list[list[str]]:
    """Per round, its mark as `class:label` (none for a round without one)."""
    return [[(g.get("class") or "").split()[1] + ":" + text_of(g) for g in groups(r, "mark")]
            for r in groups(parse(svg), "round")]


def test_each_round_ends_with_the_mark_its_result_gave_never_a_count_of_its_replies() -> None:
    root = parse(diagram(known_history(), [1, 2, 3], MARKS))
    last = [[(g.get("class") or "").split()[1] for g in r if g.tag == f"{NS}g"][-1] for r in groups(root, "round")]
    assert last == ["quorum", "unknown", "noquorum"]  # each after the round's last reply
    assert marks_drawn(diagram(known_history(), [1, 2, 3], MARKS)) == [
        ["quorum:quorum: 2 of 3 promised"], ["unknown:quorum unknown: 1 accepted, silent acceptors may have too"],
        ["noquorum:no quorum: 0 promised, 2 needed"]]
    # Round 2 holds one grant of three: had the drawing counted, it would say "no quorum" here.
    chosen = {2: RoundMark(MarkKind.QUORUM, "quorum: 2 of 3 accepted")}
    assert marks_drawn(diagram(known_history(), [1, 2, 3], chosen)) == [[], ["quorum:quorum: 2 of 3 accepted"], []]


def test_an_accept_that_completes_a_quorum_begun_in_an_earlier_round_is_marked_chosen(shell: Shell) -> None:
    run(shell, "prepare 7")
    run(shell, "accept 7 A 1")
    code, out = run(shell, "accept 7 A 2")
    assert code == 0 and "Chosen: A at id 7" in out, out  # the shell's verdict: 1 and 2 accepted
    code, out = run(shell, "trace --svg -")
    assert marks_drawn(out[out.index("<svg"):]) == [
        ["quorum:quorum: 3 of 3 promised"], ["noquorum:no quorum: 1 accepted, 2 needed"],
        ["quorum:quorum: 2 of 3 accepted"]]


def test_proposers_by_name_then_acceptors_and_only_the_last_rounds() -> None:
    root = parse(diagram(known_history(), [1, 2, 3], MARKS, last=2))
    names = [t.text for t in root.iter(f"{NS}text") if "name" in (t.get("class") or "").split()]
    assert names == ["main", "B", "1", "2", "3"]
    assert [r.get("data-round") for r in groups(root, "round")] == ["2", "3"]


def test_rounds_after_the_last_snapshot_are_marked_new_with_their_steps() -> None:
    root = parse(diagram(known_history(), [1, 2, 3], MARKS, fresh_after=2))
    assert [(r.get("data-round"), r.get("class")) for r in groups(root, "round")] == [
        ("1", "round"), ("2", "round"), ("3", "round new")]
    steps = [g.get("data-step") for g in groups(groups(root, "round")[2], "msg")]
    assert steps == ["0", "1", "2", "3"]


def test_the_standalone_form_carries_the_stylesheet_and_the_same_drawing() -> None:
    css = stylesheet()
    page = diagram(known_history(), [1, 2, 3], MARKS)
    file = diagram(known_history(), [1, 2, 3], MARKS, css=css)
    assert file.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg')
    root = parse(file.split("\n", 1)[1])
    style = root.find(f"{NS}style")
    assert style is not None and style.text == css  # escaped for XML, read back intact
    # Everything but the stylesheet and its background is the page's drawing, element for element.
    drawn = [ET.tostring(e) for e in root if e.tag not in (f"{NS}style",) and e.get("class") != "bg"]
    assert drawn == [ET.tostring(e) for e in parse(page)]


def test_trace_svg_writes_a_file_or_stdout(shell: Shell, tmp_path: Any) -> None:
    shell.out.fixed_width = 400  # the sentence on one line, however long tmp_path is
    run(shell, "prepare 7 1 2")
    run(shell, "accept 7 'a b' 1 2")
    path = tmp_path / "slide.svg"
    code, out = run(shell, f"trace --svg {path}")
    assert code == 0 and out == f"Wrote the last 3 round(s) as SVG to {path}\n"
    root = parse(path.read_text().split("\n", 1)[1])
    assert [r.get("data-round") for r in groups(root, "round")] == ["1", "2"]
    code, out = run(shell, "trace 1 --svg -")
    assert code == 0 and out.startswith("<?xml") and out.endswith("</svg>\n")
    assert [r.get("data-round") for r in groups(parse(out.split("\n", 1)[1]), "round")] == ["2"]
    shell.out.fmt = Format.JSON
    code, out = run(shell, "trace --svg -")
    assert code == 0 and json.loads(out)["text"].startswith("<?xml")
    code, out = run(shell, f"trace --svg {tmp_path}/missing/x.svg")
    assert code == 1 and "cannot write" in out


def test_trace_even_as_svg_never_imports_the_view(acceptors: Any) -> None:
    url = acceptors(1)[0].url
    code = ("import sys; from paxos_shell.cli import main; "
            f"rc = main(['--url', '1={url}', '-c', 'prepare 1', '-c', 'trace', '-c', 'trace --svg -', "
            "'-c', 'help view']); "
            "print(sorted(m for m in sys.modules if m.startswith('paxos_shell.view')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip().splitlines()[-1] == ONLY_THE_COMMAND, p.stdout + p.stderr
