"""Handouts (shell/commands/recordcmds.py, shell/transcript.py): a Markdown transcript that
parses back, and a saved script that replays to the same state."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from paxos_shell.shell.app import Shell
from paxos_shell.shell.render import Format

from .helpers import run


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    return [(m.group(2), m.group(3)) for m in re.finditer(r"^(`{3,})(\w*)\n(.*?)\n\1$", markdown, re.M | re.S)]


def test_a_transcript_holds_each_command_and_its_output(local: Shell, tmp_path: Path) -> None:
    path = tmp_path / "class.md"
    code, out = run(local, f"record {path}")
    assert code == 0 and " ".join(out.split()).startswith(f"Recording every command and its output to {path}")
    run(local, "prepare 7 1 2")
    run(local, "accept 7 test-val 1 2")
    run(local, "bogus")
    run(local, "trace 2")
    code, out = run(local, "record off")
    assert code == 0 and " ".join(out.split()) == f"Stopped recording to {path}."
    run(local, "state")  # not recorded any more
    blocks = code_blocks(path.read_text())
    commands = [body.splitlines()[0] for lang, body in blocks if lang == "text"]
    assert commands == ["paxos[3 acceptors]> prepare 7 1 2", "paxos[3 acceptors, id 7]> accept 7 test-val 1 2",
                        "paxos[3 acceptors, id 7]> bogus", "paxos[3 acceptors, id 7]> trace 2"]
    texts = {body.splitlines()[0].split("> ", 1)[1]: body for lang, body in blocks if lang == "text"}
    assert "Received promise from: [1, 2]" in texts["prepare 7 1 2"]  # progress lines are recorded too
    assert "Contacting servers: [1, 2]" in texts["prepare 7 1 2"]
    assert "error: unknown command 'bogus'" in texts["bogus"]
    mermaid = [body for lang, body in blocks if lang == "mermaid"]
    assert len(mermaid) == 1 and mermaid[0].startswith("sequenceDiagram") and "accept 7 test-val" in mermaid[0]


def test_a_saved_session_replays_to_the_same_state(local: Shell, tmp_path: Path) -> None:
    run(local, "prepare 3 1 2")
    run(local, "accept 3 X 1")
    run(local, "propose Y --contact-count 2")
    run(local, "proposer B")
    run(local, "propose Z")
    run(local, "down 3")
    run(local, "help")  # not saved: it changes nothing
    local.out.fmt = Format.JSON  # not a command: the script stays in tables
    _, before = run(local, "state 1 2")
    path = tmp_path / "saved.txt"
    code, out = run(local, f"save {path}")
    assert code == 0 and json.loads(out)["file"] == str(path)
    script = path.read_text()
    assert script.splitlines()[5] == "reset" and "help" not in script
    assert re.search(r"^propose Y \d \d$", script, re.M)  # the random pick, made explicit
    p = subprocess.run([sys.executable, "-m", "paxos_shell", "--timeout", "5", str(path)],
                       capture_output=True, text=True, timeout=60)
    # `accept 3 X 1` did not choose X in the session, and does not in the replay: exit 1 both times
    assert "Traceback" not in p.stdout + p.stderr
    assert re.search(r"PASS expect chosen \S+", p.stdout) and "FAIL" not in p.stdout  # the outcome reached
    again = subprocess.run([sys.executable, "-m", "paxos_shell", "--timeout", "5", "--json",
                            str(path)], capture_output=True, text=True, timeout=60)
    last_state = [json.loads(ln) for ln in again.stdout.splitlines() if '"command": "state"' in ln][-1]
    want = json.loads(before)["acceptors"]
    got = last_state["acceptors"]
    for i in ("1", "2"):
        assert {k: got[i][k] for k in ("promisedId", "acceptedId", "acceptedValue")} == {
            k: want[i][k] for k in ("promisedId", "acceptedId", "acceptedValue")}


def test_a_transcript_shows_escapes_in_a_command_line_and_its_error(local: Shell, tmp_path: Path) -> None:
    path = tmp_path / "class.md"
    run(local, f"record {path}")
    run(local, "bogus\x1b[2J")
    run(local, "record off")
    text = path.read_text()
    assert "\x1b" not in text
    [body] = [body for lang, body in code_blocks(text) if lang == "text" and "bogus" in body]
    assert body.splitlines()[0] == "paxos[3 acceptors]> bogus\\x1b[2J", body
    assert "error: unknown command 'bogus\\x1b[2J'" in body, body
