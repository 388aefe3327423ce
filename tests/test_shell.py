"""Shell commands in-process against real acceptors, and the REPL through prompt_toolkit's pipe input."""

from __future__ import annotations

import io
import json
import os
import stat
import threading
import time
from typing import Any, Iterator

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from paxos_shell.pool import Pool
from paxos_shell.shell.app import Shell

from .conftest import dead_url


@pytest.fixture
def shell(acceptors: Any) -> Iterator[Shell]:
    accs = acceptors(3)
    sh = Shell(Pool({a.id: a.url for a in accs}, "test pool"), timeout=5.0, stream=io.StringIO(), colour=False)
    yield sh
    sh.close()


def run(sh: Shell, line: str) -> tuple[int, str]:
    sh.out.stream = io.StringIO()
    code = sh.run_line(line)
    return code, sh.out.stream.getvalue()  # type: ignore[attr-defined]


class TestCommands:
    def test_seed_prepare_accept_state(self, shell: Shell) -> None:
        code, out = run(shell, "prepare 7 1 2")
        assert code == 0
        assert "Contacting servers: [1, 2]" in out and "ID: 7" in out
        assert "Received promise from: [1, 2]" in out and "Quorum reached" in out
        assert "Next: accept 7" in out
        code, out = run(shell, "accept 7 test-val 1 2")
        assert code == 0 and "Received accepts from: [1, 2]" in out and "Chosen: test-val at id 7" in out
        code, out = run(shell, "get-state")
        assert code == 0
        lines = out.splitlines()
        assert any(line.split()[:5] == ["1", "up", "7", "7", "test-val"] for line in lines)
        assert any(line.split()[:5] == ["3", "up", "-1", "-1", "-"] for line in lines)
        assert "Chosen: test-val (accepted at id 7 by acceptors [1, 2]" in out

    def test_propose_overridden_then_consensus(self, shell: Shell) -> None:
        run(shell, "prepare 7 1 2")
        run(shell, "accept 7 test-val 1 2")
        code, out = run(shell, "propose BAD --id 9")
        assert code == 0
        assert "Client value overridden due to prior accepted value" in out
        assert "acceptor=1, acceptedId=7, value=test-val" in out
        assert "Consensus already reached during prepare phase" in out

    def test_propose_reaches_consensus_with_own_value(self, shell: Shell) -> None:
        code, out = run(shell, "propose good-value --id 9 --contact-count 3")
        assert code == 0
        assert "Sending accept requests with value: good-value" in out
        assert "Consensus Reached" in out and "proposalId=9" in out and "value=good-value" in out

    def test_no_consensus_is_exit_1(self, shell: Shell) -> None:
        code, out = run(shell, "propose v --contact-count 1")
        assert code == 1 and "No Consensus" in out and "quorum is 2" in out

    def test_prepare_defaults_to_next_id(self, shell: Shell) -> None:
        run(shell, "prepare 41 3")
        _, out = run(shell, "prepare")
        assert "ID: 42" in out and "Contacting servers: [1, 2, 3]" in out

    def test_accept_refuses_a_contradicting_value(self, shell: Shell) -> None:
        run(shell, "accept 3 first 1 2 --force")
        run(shell, "prepare 5")
        code, out = run(shell, "accept 5 second")
        assert code == 1 and out.startswith("error: refused:") and "--force" in out and len(out.splitlines()) == 1
        code, out = run(shell, "accept")  # defaults: current id 5, required value
        assert code == 0 and "Client value: first" in out

    def test_forced_accept_warns(self, shell: Shell) -> None:
        _, out = run(shell, "accept 9 x 1 --force")
        assert "WARNING: sent with --force although it is unsafe" in out

    @pytest.mark.parametrize("line,message", [
        ("prepar 7", "unknown command 'prepar'; did you mean 'prepare'?"),
        ("prepare 7 9", "unknown acceptor 9: the pool is 1..3"),
        ("prepare 7 x", "bad acceptor id 'x'"),
        ("prepare --id -3", "bad id -3"),
        ("prepare 99999999999", "bad id 99999999999"),
        ("propose", "missing value"),
        ("accept", "missing value: no promise carries one"),
        ("propose v --contact-count 0", "bad contact count 0"),
        ("propose v --bogus 1", "unknown option --bogus"),
        ("prepare 'unterminated", "cannot parse the line"),
        ("set timeout fast", "bad timeout 'fast'"),
        ("set colour on", "unknown setting 'colour'"),
        ("history x", "bad count 'x'"),
        ("down 2", "the pool is not local"),
        ("help nothing", "unknown command 'nothing'"),
    ])
    def test_bad_input_is_one_line_and_the_session_goes_on(self, shell: Shell, line: str, message: str) -> None:
        run(shell, "prepare 7 1 2")
        code, out = run(shell, line)
        assert code == 1 and out.startswith("error: ") and message in out, out
        assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
        code, out = run(shell, "accept 7 v 1 2")
        assert code == 0 and "Chosen" in out  # the session survived, promises and all

    def test_history_and_show(self, shell: Shell) -> None:
        run(shell, "prepare 4 1 2")
        code, out = run(shell, "history 2")
        assert code == 0 and len([ln for ln in out.splitlines() if " prepare " in ln]) == 2
        code, out = run(shell, "show")
        assert "quorum" in out and "next id" in out and " 5" in out

    def test_set_changes_settings(self, shell: Shell) -> None:
        run(shell, "set timeout 0.25")
        assert shell.client.timeout == 0.25
        run(shell, "set value hello")
        code, out = run(shell, "propose hello")
        assert code == 0 and "value=hello" in out

    def test_help_is_generated_from_the_registry(self, shell: Shell) -> None:
        _, out = run(shell, "help")
        for name in ("state", "prepare", "accept", "propose", "history", "show", "set", "help", "exit"):
            assert f"  {name}" in out
        _, out = run(shell, "help accept")
        assert out.startswith("accept [ID] [VALUE]") and "Example: accept 7 test-val 1 2" in out

    def test_json_format(self, shell: Shell) -> None:
        run(shell, "set format json")
        _, out = run(shell, "prepare 7 1 2")
        data = json.loads(out)
        assert data["promisedBy"] == [1, 2] and data["quorumReached"] is True
        assert data["replies"][0]["reply"] == {"ignored": False, "promisedId": 7}
        _, out = run(shell, "state")
        assert json.loads(out)["1"] == {"promisedId": 7, "acceptedId": -1, "acceptedValue": None}
        _, out = run(shell, "nope")
        assert json.loads(out) == {"error": "unknown command 'nope'; type 'help' for the list"}

    def test_unreachable_acceptor_in_state(self, acceptors: Any) -> None:
        (a,) = acceptors(1)
        sh = Shell(Pool({1: a.url, 2: dead_url()}, "t"), fmt="json", stream=io.StringIO(), colour=False)
        _, out = run(sh, "state")
        data = json.loads(out)
        assert data["2"] == {"error": "connection refused (down)"} and data["1"]["promisedId"] == -1
        sh.out.fmt = "table"
        _, out = run(sh, "state")
        assert "down" in out and "connection refused" in out
        sh.close()

    def test_colour_marks_rows_and_no_colour_when_off(self, shell: Shell) -> None:
        shell.out.colour = True
        _, out = run(shell, "prepare 3")
        assert "\x1b[32mgranted\x1b[0m" in out
        shell.out.colour = False
        _, out = run(shell, "prepare 2")
        assert "\x1b[" not in out and "ignored" in out


def test_repl_through_pipe_input(acceptors: Any, private_home: str) -> None:
    """The real PromptSession: typed lines, Tab completion, history file mode 0600."""
    accs = acceptors(3)
    out = io.StringIO()
    sh = Shell(Pool({a.id: a.url for a in accs}, "t"), stream=out, colour=False)
    keys = ["prepare 7 1 2\r", "accept 7 test-val 1 2\r", "sta", "\t", "\r", "bogus\r",
            "\x12", "accept 7", "\r", "\r",  # Ctrl-R finds the accept in history; Enter, Enter runs it
            "\x04"]

    def typist(inp: Any) -> None:
        for k in keys:  # completion runs in the background: give it time, as a person would
            time.sleep(0.15)
            inp.send_text(k)

    with create_pipe_input() as inp:
        t = threading.Thread(target=typist, args=(inp,))
        t.start()
        with create_app_session(input=inp, output=DummyOutput()):
            code = sh.repl()
        t.join()
    text = out.getvalue()
    sh.close()
    assert "Received promise from: [1, 2]" in text
    assert text.count("Received accepts from: [1, 2]") == 2
    assert "Chosen: test-val (accepted at id 7 by acceptors [1, 2]" in text
    assert "error: unknown command 'bogus'" in text
    assert code == 1  # the worst command failed
    hist = os.path.join(private_home, "state", "paxos-shell", "history")
    assert stat.S_IMODE(os.stat(hist).st_mode) == 0o600
    with open(hist) as f:
        assert "prepare 7 1 2" in f.read()
    assert sh.prompt_text() == "paxos[3 acceptors, id 7]> "


def test_toolbar_shows_statuses_quorum_and_syntax(shell: Shell) -> None:
    from paxos_shell.shell.ui import toolbar_text

    text = "".join(t for _, t in toolbar_text(shell, "acc"))
    assert "1:unknown" in text and "quorum 2" in text and "accept [ID] [VALUE]" in text
    run(shell, "prepare 3 1 2")
    shell.pool.urls[3] = shell.client.urls[3] = "http://127.0.0.1:1"
    run(shell, "state")
    text = "".join(t for _, t in toolbar_text(shell, "get-state 1"))
    assert "1:up" in text and "3:down" in text and "state [SERVER...]" in text
    assert "syntax" not in text and "[" not in "".join(t for _, t in toolbar_text(shell, "p"))
