"""End to end: the real `paxos-shell` process against real acceptor processes.

The REPL runs in a pseudo-terminal through pexpect, as a person would use it;
the other modes run as a script would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Iterator

import pexpect
import pytest

from .helpers import PROMPT, dead_url, line, spawn


def url_args(accs: list[Any]) -> list[str]:
    return [arg for a in accs for arg in ("--url", f"{a.id}={a.url}")]


def shell_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "paxos_shell", *args]


def run_shell(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    if "--timeout" not in args:
        args = (*args, "--timeout", "5")  # generous: an fsync stall under load is not what is tested
    return subprocess.run(shell_cmd(*args), input=stdin, capture_output=True, text=True, timeout=60)


@pytest.fixture
def repl(acceptors: Any) -> Iterator[pexpect.spawn]:
    accs = acceptors(3)
    child = spawn(*url_args(accs), "--timeout", "5")
    yield child
    if child.isalive():
        child.kill(9)
    child.close()


class TestRepl:
    def test_seed_examples_in_the_repl(self, repl: pexpect.spawn) -> None:
        line(repl, "prepare 7 1 2", "Received promise from: [1, 2]")
        line(repl, "accept 7 test-val 1 2", "Received accepts from: [1, 2]")
        line(repl, "propose BAD", "Client value overridden due to prior accepted value",
             "Consensus already reached during prepare phase")
        line(repl, "state", "Chosen: test-val")
        repl.sendcontrol("d")
        repl.expect(pexpect.EOF)
        repl.close()
        assert repl.exitstatus == 0

    def test_propose_own_value_reaches_consensus(self, repl: pexpect.spawn) -> None:
        line(repl, "propose good-value --contact-count 3", "Consensus Reached", "value=good-value")

    def test_tab_completes_commands_and_server_ids(self, repl: pexpect.spawn) -> None:
        repl.send("prep")
        repl.send("\t")
        repl.expect("prepare")
        repl.send(" 7 ")
        repl.send("\t")
        repl.expect("127.0.0.1")  # the menu shows each acceptor's URL as meta text
        repl.send("\x1b")  # leave the menu
        repl.sendcontrol("u")  # kill the line
        line(repl, "prepare 7 1 2", "Received promise from: [1, 2]")

    def test_prompt_shows_the_current_id(self, repl: pexpect.spawn) -> None:
        repl.send("prepare 12\r")
        repl.expect(r"paxos\[3 acceptors, id 12\]> ")

    def test_ctrl_c_clears_the_line_and_keeps_the_session(self, repl: pexpect.spawn) -> None:
        line(repl, "prepare 5 1 2", "Received promise")
        repl.send("accept 5 never-sent")
        repl.sendcontrol("c")
        repl.expect(PROMPT)
        line(repl, "state", "No value is chosen yet")  # had the accept run, 1 and 2 would have chosen it

    def test_bad_input_is_one_line(self, repl: pexpect.spawn) -> None:
        out = line(repl, "prepare seven", "error: bad id 'seven'")
        assert "Traceback" not in out
        line(repl, "acept 3 x", "did you mean 'accept'?")

    def test_exit_command(self, repl: pexpect.spawn) -> None:
        repl.send("exit" + "\r")
        repl.expect(pexpect.EOF)
        repl.close()
        assert repl.exitstatus == 0


def test_ctrl_c_interrupts_a_round_in_flight(acceptors: Any, blackhole: Any) -> None:
    accs = acceptors(2)
    hole = blackhole()
    child = spawn(*url_args(accs), "--url", f"3={hole.url}", "--timeout", "30")
    try:
        child.send("prepare 4" + "\r")
        child.expect_exact("ID: 4")
        hole.wait_for_connection()  # the round is in flight: the blackhole holds its request
        for a in accs:  # and both real acceptors have answered it
            a.wait_for_log("/api/paxos/prepare?id=4 200")
        child.sendcontrol("c")
        # Well before the 30 s timeout (pexpect gives up at 15 s): Ctrl-C returns the round.
        child.expect_exact("Received promise from: [1, 2]", timeout=15)
        assert "interrupted" in child.before
        child.expect(PROMPT)
        line(child, "state 1", "up")
        child.send("exit\r")
        child.expect(pexpect.EOF, timeout=15)  # the abandoned request does not hold the exit for 30 s
    finally:
        child.kill(9)
        child.close()


class TestModes:
    def test_dash_c_runs_each_command_and_exits(self, acceptors: Any) -> None:
        accs = acceptors(3)
        p = run_shell(*url_args(accs), "-c", "prepare 7 1 2", "-c", "accept 7 test-val 1 2", "-c", "state")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "Received promise from: [1, 2]" in p.stdout and "Chosen: test-val" in p.stdout
        assert "\x1b[" not in p.stdout  # not a terminal: no colour

    def test_failures_do_not_stop_the_list_and_set_exit_1(self, acceptors: Any) -> None:
        accs = acceptors(3)
        p = run_shell(*url_args(accs), "-c", "bogus", "-c", "propose v --contact-count 1", "-c", "state")
        assert p.returncode == 1
        assert "error: unknown command 'bogus'" in p.stderr and "unknown command" not in p.stdout
        assert "No Consensus" in p.stdout and "promisedId" in p.stdout

    def test_script_file_with_comments(self, acceptors: Any, tmp_path: Any) -> None:
        accs = acceptors(3)
        script = tmp_path / "lesson.txt"
        script.write_text("# a lesson\nprepare 7 1 2   # phase 1\n\naccept 7 test-val 1 2\nstate\n")
        p = run_shell(*url_args(accs), str(script))
        assert p.returncode == 0, p.stdout
        assert "> prepare 7 1 2" in p.stdout and "Chosen: test-val" in p.stdout

    def test_piped_stdin_has_no_prompt(self, acceptors: Any) -> None:
        accs = acceptors(3)
        p = run_shell(*url_args(accs), stdin="prepare 3\nstate\n")
        assert p.returncode == 0 and "paxos[" not in p.stdout and "Received promise from: [1, 2, 3]" in p.stdout

    def test_json_output_parses_back(self, acceptors: Any) -> None:
        accs = acceptors(3)
        dead = dead_url()
        p = run_shell(*url_args(accs), "--url", f"4={dead}", "--json",
                      "-c", "prepare 7", "-c", "accept 7 v", "-c", "state", "-c", "propose w")
        objs = [json.loads(ln) for ln in p.stdout.splitlines()]
        assert len(objs) == 4
        assert objs[0]["promisedBy"] == [1, 2, 3] and objs[0]["quorum"] == 3
        assert objs[1]["outcome"] == "chosen"
        state = objs[2]["acceptors"]
        assert {k: state["1"][k] for k in ("status", "promisedId", "acceptedId", "acceptedValue")} == {
            "status": "up", "promisedId": 7, "acceptedId": 7, "acceptedValue": "v"}
        assert state["4"] == {"status": "down", "error": "connection refused (down)"}
        assert objs[3]["consensus"] is True and objs[3]["value"] == "v"

    def test_usage_errors_exit_2(self) -> None:
        assert run_shell("--server-count", "x").returncode == 2
        assert run_shell("--url", "nonsense", "-c", "state").returncode == 2
        assert run_shell("/no/such/script.txt", "--server-count", "1").returncode == 2
        p = run_shell("--timeout", "0", "--server-count", "1")
        assert p.returncode == 2 and "timeout" in p.stderr

    def test_server_count_layout_against_dead_ports(self) -> None:
        p = run_shell("--server-count", "2", "--base-port", "1", "--host", "127.0.0.1", "-c", "state")
        assert p.returncode == 1 and "127.0.0.1:1" not in p.stderr
        assert "connection refused" in p.stdout

    def test_config_file_names_the_pool(self, acceptors: Any, private_home: str) -> None:
        accs = acceptors(3)
        cfg_dir = os.path.join(private_home, "config", "paxos-shell")
        os.makedirs(cfg_dir)
        with open(os.path.join(cfg_dir, "config"), "w") as f:
            f.write("# my pool\n" + "".join(f"url = {a.id}={a.url}\n" for a in accs) + "timeout = 0.5\n")
        p = subprocess.run(shell_cmd("--json", "-c", "show"), capture_output=True, text=True, timeout=60)
        data = json.loads(p.stdout)
        assert data["acceptors"] == 3 and data["timeout"] == 0.5 and data["urls"]["1"] == accs[0].url


def test_lesson_runner_in_a_real_terminal() -> None:
    """Enter, a command between steps, skip, back and quit, typed at the step prompt."""
    child = spawn("--timeout", "5")
    try:
        child.send("lesson 1\r")
        child.expect_exact("next:")
        child.expect_exact("[1/5] reset")
        child.send("\r")
        child.expect_exact("Acceptors 1, 2, 3 reset (state wiped).")
        child.expect_exact("[2/5] prepare 1")
        child.send("\r")
        child.expect_exact("Received promise from: [1, 2, 3]")
        child.expect_exact("[3/5] accept 1 A")
        child.send("state\r")  # a look around: runs, and the lesson stays at step 3
        child.expect_exact("No value is chosen yet")
        child.expect_exact("[3/5] accept 1 A")
        child.send("s\r")
        child.expect_exact("Skipped step 3.")
        child.expect_exact("[4/5] state")
        child.send("b\r")
        child.expect_exact("Back to step 3: the pool was reset, steps 1 to 2 replayed.")
        child.expect_exact("[3/5] accept 1 A")
        child.send("\r")
        child.expect_exact("Chosen: A at id 1")
        child.expect_exact("[4/5] state")
        child.send("q\r")
        child.expect_exact("Lesson stopped: 0 of 0 expectations met.")
        child.expect(PROMPT)
        child.send("exit\r")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.kill(9)
        child.close()


def test_ctrl_r_searches_the_history(repl: pexpect.spawn) -> None:
    line(repl, "prepare 7 1 2", "Received promise from: [1, 2]")
    line(repl, "accept 7 test-val 1 2", "Received accepts from: [1, 2]")
    line(repl, "state", "Chosen: test-val")
    repl.sendcontrol("r")
    repl.expect_exact("reverse-i-search")
    repl.send("accept 7")
    repl.expect_exact(" test-val 1 2")  # the rest of the match, drawn from the history after the typed part
    repl.send("\r")
    repl.send("\r")
    repl.expect_exact("Received accepts from: [1, 2]")
    repl.expect(PROMPT)


def test_one_ctrl_c_stops_a_long_bench_with_the_figures_so_far(repl: pexpect.spawn) -> None:
    # The bar is redrawn every COUNT/50 proposals: at 5,000 its first draw comes after 100
    # (at 100,000 it came after 2,000, some seconds in); the whole bench would take many more.
    repl.send("bench 5000\r")
    repl.expect_exact("/5000")  # the progress bar: proposals are running
    repl.sendcontrol("c")
    repl.expect(r"proposals\s+(\d+) \(interrupted\)", timeout=15)
    done = int(repl.match.group(1))
    assert 0 < done < 5000
    repl.expect(r"both phases ran\s+(\d+)/(\d+)")
    assert repl.match.group(1) == repl.match.group(2)  # every proposal counted ran both phases
    repl.expect(PROMPT)


def test_a_bidi_override_never_reaches_the_terminal_through_completion(repl: pexpect.spawn) -> None:
    # The value, offered in the menu after `accept 7000 `, and then taken into the line: shown
    # as \u202e both times, never as the character that would make the line read backwards.
    line(repl, "accept 7000 'ABC\u202eDEF' 1 --force", "Received accepts from: [1]")
    repl.send("accept 7000 ")
    repl.expect_exact("\x1b[?25h")
    repl.send("\t")
    repl.expect_exact("ABC\\u202eDEF")  # the menu
    repl.send("\t")  # take it into the line
    repl.expect_exact("\\u202eDEF'")
    repl.send("\x15\r")  # Ctrl-U: the line is not run
    # Keys are read in order: once `help exit` has answered, the cleared line is behind us (a
    # prompt already on screen could match before Ctrl-U was read, and Ctrl-D would then delete).
    line(repl, "help exit", "exit")
    repl.sendcontrol("d")
    repl.expect(pexpect.EOF)
    assert "\u202e" not in repl.before
