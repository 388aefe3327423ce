"""SIGTERM and SIGHUP (signals.py): a shell under nohup keeps ignoring SIGHUP, only the first
signal counts, and a signal that lands as a prompt returns ends the shell before its line runs."""

from __future__ import annotations

import io
import os
import signal
from typing import Any

import pexpect
import pytest

from paxos_shell.pool.local import Pool
from paxos_shell.runtime import signals
from paxos_shell.shell import ui
from paxos_shell.shell.app import Shell

from .helpers import dead_url, line, spawn


def test_a_shell_started_under_nohup_survives_sighup() -> None:
    child = spawn(preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        os.kill(child.pid, signal.SIGHUP)  # ignored, so discarded by the kernel as it is sent
        line(child, "prepare 7 1 2", "Received promise from: [1, 2]")
        child.send("exit\r")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before  # a SIGHUP handled would have ended it with 129
    finally:
        if child.isalive():
            os.kill(child.pid, signal.SIGKILL)


def test_a_second_signal_does_not_interrupt_the_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signals, "_pending", [])
    with pytest.raises(SystemExit) as first:
        signals._on_signal(signal.SIGTERM, None)
    assert first.value.code == 143
    signals._on_signal(signal.SIGTERM, None)  # during the `finally` blocks: must return, not raise
    signals._on_signal(signal.SIGHUP, None)
    with pytest.raises(SystemExit) as later:
        signals.check()
    assert later.value.code == 143  # the first signal decides the exit status


class SignalledPrompt:
    """A prompt that returns a line just as a SIGTERM arrives (the handler records it)."""

    def prompt(self, message: Any) -> str:
        signals._pending.append(signal.SIGTERM)
        return "bogus"


def test_a_signal_as_the_prompt_returns_ends_the_shell_before_the_line_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signals, "_pending", [])
    monkeypatch.setattr(ui, "build_prompt_session", lambda shell: SignalledPrompt())
    monkeypatch.setattr(ui, "make_pause", lambda shell: None)
    out, err = io.StringIO(), io.StringIO()
    sh = Shell(Pool({1: dead_url()}, "one dead acceptor"), stream=out, err=err, colour=False)
    try:
        with pytest.raises(SystemExit) as ended:
            sh.repl()
    finally:
        sh.close()
    assert ended.value.code == 143
    assert err.getvalue() == ""  # 'bogus' never ran: no "unknown command"
