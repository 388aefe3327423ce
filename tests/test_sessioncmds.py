"""history, show, set, help (shell/commands/sessioncmds.py)."""

from __future__ import annotations

import json
import re

from paxos_shell.shell.app import Shell
from paxos_shell.shell.registry import REGISTRY

from .helpers import run


def test_history_lists_the_last_requests(shell: Shell) -> None:
    run(shell, "prepare 4 1 2")
    run(shell, "accept 4 v 1")
    code, out = run(shell, "history 2")
    lines = [ln for ln in out.splitlines() if re.match(r"^\d+\s", ln)]
    # the last two replies: acceptor 2's promise (round 1), then acceptor 1's accept (round 2)
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith("1 ") and "prepare" in lines[0] and "promise 4" in lines[0]
    assert lines[1].startswith("2 ") and "value=v" in lines[1] and "accepted" in lines[1]


def test_history_json_has_every_entry(shell: Shell) -> None:
    run(shell, "prepare 4 1 2")
    run(shell, "set format json")
    _, out = run(shell, "history")
    entries = json.loads(out)["entries"]
    assert [(e["round"], e["phase"], e["server"], e["status"]) for e in entries] == [
        (1, "prepare", 1, "granted"), (1, "prepare", 2, "granted")]
    assert entries[0]["reply"] == {"ignored": False, "promisedId": 4}


def test_show_lists_the_session(shell: Shell) -> None:
    run(shell, "prepare 4 1 2")
    code, out = run(shell, "show")
    settings = dict(re.findall(r"^(quorum|id|next id|highest id seen)\s+(\S+)$", out, re.M))
    assert code == 0 and settings == {"quorum": "2", "id": "4", "next id": "5", "highest id seen": "4"}
    run(shell, "set format json")
    _, out = run(shell, "show")
    data = json.loads(out)
    assert data["command"] == "show" and data["nextId"] == 5 and data["highestIdSeen"] == 4
    assert data["quorum"] == 2 and data["urls"]["1"].startswith("http://127.0.0.1:")


def test_set_changes_settings(shell: Shell) -> None:
    run(shell, "set timeout 0.25")
    assert shell.client.timeout == 0.25
    code, out = run(shell, "set timeout 0")
    assert code == 1 and out == "error: bad timeout 0: choose 0.05 to 60 seconds\n"
    run(shell, "set value hello")
    code, out = run(shell, "propose")
    assert code == 0 and "value=hello" in out
    run(shell, "set id 12")
    assert shell.prompt_text() == "paxos[3 acceptors, id 12]> "


def test_help_is_generated_from_the_registry(shell: Shell) -> None:
    _, out = run(shell, "help")
    listed = {ln.split()[0] for ln in out.splitlines() if ln.startswith("  ") and ln.strip()}
    assert set(REGISTRY) <= listed
    _, out = run(shell, "help accept")
    assert out.startswith("accept [ID] [VALUE]") and "Example: accept 7 test-val 1 2" in out
