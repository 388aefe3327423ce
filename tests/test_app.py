"""The dispatcher and the REPL (shell/app.py, shell/ui.py): one line per error, the
session survives anything typed, and the real PromptSession through pipe input."""

from __future__ import annotations

import io
import os
import stat
import threading
from typing import Any

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from paxos_shell.core.errors import ExitStatus
from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.registry import REGISTRY

from .helpers import run, run_split


@pytest.mark.parametrize("line,message", [
    ("prepar 7", "unknown command 'prepar'; did you mean 'prepare'?"),
    ("prepare 7 9", "unknown acceptor 9: the pool is 1..3"),
    ("prepare 7 x", "bad acceptor id 'x'"),
    ("prepare --id -3", "bad id -3"),
    ("prepare 99999999999", "bad id 99999999999"),
    ("prepare " + "1" * 5000, "error: bad id: a number of 5,000 digits; choose 0 to 2147483647\n"),
    ("prepare 7 " + "2" * 5000, "error: bad acceptor id: a number of 5,000 digits; choose 1 or more\n"),
    ("prepare 7 ²", "error: bad acceptor id '²': expected a whole number\n"),
    ("lesson " + "3" * 5000, "error: bad lesson number: a number of 5,000 digits; choose 1 or more\n"),
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
def test_bad_input_is_one_line_on_stderr_and_the_session_goes_on(shell: Shell, line: str, message: str) -> None:
    run(shell, "prepare 7 1 2")
    code, out, err = run_split(shell, line)
    assert code == 1 and out == "" and err.startswith("error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, out = run(shell, "accept 7 v 1 2")
    assert code == 0 and "Chosen: v at id 7" in out  # the session survived, promises and all


@pytest.mark.parametrize("garbage", ["x", "--bogus", "1 2 3 4 5 x", "''", "-1", "999999999999", "--id", "1 x y z",
                                     "²", "9" * 5000])
def test_no_command_answers_garbage_with_an_internal_error(local: Shell, garbage: str, tmp_path: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # `record x`, `save -1` and the like write files: not into the repository
    for name in sorted(set(REGISTRY) - {"exit"}):
        code, out, err = run_split(local, f"{name} {garbage}")
        assert "internal error" not in out + err and "Traceback" not in out + err, (name, garbage, out, err)
        if code == 1 and err:
            assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), (name, garbage, err)
    code, out = run(local, "state")
    assert code == 0 and out.count(" up ") == 3  # the session and the pool survived all of it


def test_an_internal_error_is_one_line_and_logged(shell: Shell, private_home: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("planted")

    monkeypatch.setattr(shell.engine, "state", boom)
    code, _, err = run_split(shell, "state")
    log = os.path.join(private_home, "state", "paxos-shell", "crash.log")
    assert code == 1 and err == f"error: internal error: RuntimeError: planted (details in {log})\n"
    with open(log) as f:
        assert "Traceback" in f.read()


def test_exit_statuses_are_the_worst_of_the_run(shell: Shell) -> None:
    assert shell.run_lines(["prepare 3", "state"]) == ExitStatus.SUCCESS
    assert shell.run_lines(["propose v --contact-count 1", "state"]) == ExitStatus.ERROR
    assert shell.run_lines(["state"]) == ExitStatus.ERROR  # the worst so far stays


def type_into_repl(sh: Shell, keys: list[str]) -> int:
    """Feed keys to the real PromptSession; prompt_toolkit queues what the next prompt reads."""

    def typist(inp: Any) -> None:
        for k in keys:
            inp.send_text(k)

    with create_pipe_input() as inp:
        t = threading.Thread(target=typist, args=(inp,))
        t.start()
        with create_app_session(input=inp, output=DummyOutput()):
            code = sh.repl()
        t.join()
    return int(code)


def test_repl_through_pipe_input(acceptors: Any, private_home: str) -> None:
    """Typed lines, history file mode 0600, Ctrl-D; leaving the REPL is a success.
    (Ctrl-R history search is tested through a real terminal in test_e2e.py.)"""
    accs = acceptors(3)
    out = io.StringIO()
    sh = Shell(Pool({a.id: a.url for a in accs}, "t"), stream=out, err=out, colour=False)
    code = type_into_repl(sh, ["prepare 7 1 2\r", "accept 7 test-val 1 2\r", "state\r", "bogus\r", "\x04"])
    text = out.getvalue()
    sh.close()
    assert "Received promise from: [1, 2]" in text
    assert text.count("Received accepts from: [1, 2]") == 1
    assert "Chosen: test-val (accepted at id 7 by acceptors 1 and 2" in text
    assert "error: unknown command 'bogus'" in text
    assert code == 0  # Ctrl-D ends an interactive session successfully, whatever failed in it
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
    # 'p' fits prepare, propose and proposer: no single syntax to show; the knowledge model's headline ends it
    assert "".join(t for _, t in toolbar_text(shell, "p")).endswith("quorum 2  nothing chosen yet  ")


def test_toolbar_follows_faults_heal_and_volatile_restarts(local: Shell) -> None:
    from paxos_shell.shell.ui import toolbar_text

    def bar() -> str:
        return "".join(t for _, t in toolbar_text(local, ""))

    run(local, "set timeout 0.3")  # the timeout is the subject here, and only acceptor 2 is asked
    run(local, "drop 2 replies 100")
    run(local, "prepare 1 2")
    assert " 2:timeout·faults " in bar() and " 1:up " in bar()
    run(local, "heal")
    assert " 2:up " in bar() and "faults" not in bar()  # heal reached it: it is up, without faults
    run(local, "restart 3 --volatile")
    assert " 3:up·volatile " in bar()
    code, out = run(local, "up 3 --durable")
    assert code == 0 and "Acceptor 3 restarted durable" in out and "Already up" not in out
    assert " 3:up " in bar() and "volatile" not in bar()
    assert local.pool.local is not None and not local.pool.local.members[3].volatile


def test_a_crash_log_never_holds_a_secret(acceptors: Any, private_home: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from paxos_shell.net.clientopts import ClientOptions

    accs = acceptors(1)
    url = accs[0].url.replace("http://", "http://ann:s3cret-pw@")
    sh = Shell(Pool({1: url}, "t"), stream=io.StringIO(), err=io.StringIO(), colour=False,
               options=ClientOptions(auth=("bob", "hunter22")))

    def boom(*args: Any) -> None:
        raise RuntimeError(f"failed on {url} with hunter22")

    monkeypatch.setattr(sh.engine, "state", boom)
    _, _, err = run_split(sh, "state")
    sh.close()
    with open(os.path.join(private_home, "state", "paxos-shell", "crash.log")) as f:
        log = f.read()
    assert "RuntimeError" in log and "http://ann:***@" in log and "http://ann:***@" in err
    for secret in ("s3cret-pw", "hunter22"):
        assert secret not in log and secret not in err


def test_listeners_hear_of_a_command_that_failed_after_its_rounds_ran(shell: Shell,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    heard: list[tuple[str, int]] = []
    shell.listeners.append(lambda line: heard.append((line, shell.session.rounds)))
    real = shell.engine.prepare

    def prepare_then_ctrl_c(*args: Any, **kw: Any) -> Any:
        real(*args, **kw)
        raise KeyboardInterrupt  # Ctrl-C once the round has run (a duel, a propose with retries)

    monkeypatch.setattr(shell.engine, "prepare", prepare_then_ctrl_c)
    code, _, err = run_split(shell, "prepare 7 1 2")
    assert code == 1 and err == "error: interrupted\n"
    run(shell, "prepar 7")  # no command ran: nothing to hear
    run(shell, "   ")
    assert heard == [("prepare 7 1 2", 1)]  # the live view learns of the round the failed command ran
