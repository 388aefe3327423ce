"""The audit catches each planted bug under its rule, with evidence, and stays quiet on sound acceptors.

Broken acceptors are tests/helpers/broken_acceptor.py started as processes, one bug each; the
sound ones are that same program with no bug and our own paxos-acceptor. Durability runs with a
real restart command (tests/helpers/restarter.py: kill -9 and start on the same data).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from paxos_shell.audit.cli import run
from paxos_shell.pool.local import healthy
from tests.helpers import free_port
from tests.helpers.broken_acceptor import Running

HELPERS = Path(__file__).resolve().parent / "helpers"
CAUGHT = {
    "promise-echo": "promise-higher",
    "prepare-ge": "ignore-lower-prepare",
    "first-accepted": "report-accepted",
    "accept-any": "accept-respects-promise",
    "accept-no-raise": "accept-records",
    "state-lags": "state-consistent",
    "strip-values": "values-exact",
    "lenient-input": "bad-input",
    "java": "negative-ids",
    "race": "linearizable",
}


def audit_json(*argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run([*argv, "--json"], out, err)
    return int(status), json.loads(out.getvalue()) if out.getvalue() else None, err.getvalue()


def verdicts(report: dict) -> dict[str, str]:
    return {r["rule"]: r["verdict"] for r in report["rules"]}


@pytest.fixture
def broken() -> Iterator[Any]:
    started: list[Running] = []

    def start(*bugs: str, state: str | None = None) -> Running:
        started.append(Running(*bugs, state=state))
        return started[-1]

    yield start
    for r in started:
        r.kill()


class Restartable:
    """An acceptor started (and restarted, by the audit) through restarter.py; its pid in a file."""

    def __init__(self, tmp: Path, *argv: str) -> None:
        self.port = free_port()
        self.pidfile = str(tmp / f"pid-{self.port}")
        self.command = [sys.executable, str(HELPERS / "restarter.py"), self.pidfile, str(self.port), "--",
                        *(a.replace("{port}", str(self.port)) for a in argv)]
        subprocess.run(self.command, check=True)
        deadline = time.monotonic() + 15
        while not healthy("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "the acceptor did not start"
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def restart(self) -> str:
        return " ".join(self.command)

    def kill(self) -> None:
        with open(self.pidfile) as f:
            pid = int(f.read())
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Any]:
    started: list[Restartable] = []

    def start(*argv: str) -> Restartable:
        started.append(Restartable(tmp_path, *argv))
        return started[-1]

    yield start
    for r in started:
        r.kill()


@pytest.mark.parametrize("bug", sorted(CAUGHT))
def test_each_planted_bug_is_caught_under_its_rule_with_evidence(broken: Any, bug: str) -> None:
    rule = CAUGHT[bug]
    status, report, _ = audit_json(broken(bug).url, "--only", rule, "--seed", "7")
    assert status == 1
    (found,) = report["rules"]
    assert (found["rule"], found["verdict"]) == (rule, "fail"), found
    assert found["why"] and found["evidence"], found
    assert all({"method", "path", "status", "body", "start", "end"} <= set(x) for x in found["evidence"])


def test_the_sound_test_acceptor_passes_every_rule(broken: Any) -> None:
    status, report, _ = audit_json(broken().url, "--seed", "3")
    assert status == 0, report
    assert set(verdicts(report).values()) == {"pass", "skipped"}
    assert {r["rule"] for r in report["rules"] if r["verdict"] == "skipped"} == {"durable-promise", "durable-accept"}


def test_an_acceptor_that_forgets_on_restart_fails_both_durability_rules(restartable: Any, tmp_path: Path) -> None:
    script = str(HELPERS / "broken_acceptor.py")
    acc = restartable(sys.executable, script, "--port", "{port}", "--state", str(tmp_path / "s.json"), "--bug",
                      "amnesia")
    status, report, _ = audit_json(acc.url, "--restart", acc.restart, "--only", "durable-promise,durable-accept")
    assert status == 1
    for r in report["rules"]:
        assert r["verdict"] == "fail" and "after restarting" in r["why"] and len(r["evidence"]) == 2, r


def test_our_acceptor_passes_every_rule_with_restarts_several_runs_in_a_row(restartable: Any,
                                                                            tmp_path: Path) -> None:
    for k in range(3):
        acc = restartable(sys.executable, "-m", "paxos_shell.acceptor", "--id", "1", "--port", "{port}",
                          "--data-dir", str(tmp_path / f"run{k}"), "--quiet")
        status, report, _ = audit_json(acc.url, "--restart", acc.restart, "--seed", str(100 + k))
        assert status == 0, [r for r in report["rules"] if r["verdict"] != "pass"]
        assert set(verdicts(report).values()) == {"pass"}
        acc.kill()


def test_the_java_servers_quirks_are_findings_not_crashes(broken: Any) -> None:
    status, report, _ = audit_json(broken("java").url, "--seed", "11")
    assert status == 1
    found = {r["rule"]: r for r in report["rules"]}
    assert found["negative-ids"]["verdict"] == "fail"
    assert "invisible" in found["negative-ids"]["why"] and "accept -1" in found["negative-ids"]["why"]
    assert [r for r, v in verdicts(report).items() if v == "fail"] == ["negative-ids"]
    assert "8,1" in found["values-exact"]["why"]  # Tomcat's 8 KiB request line, found and stated


def test_values_exact_reports_the_longest_value_as_a_fact(broken: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run([broken().url, "--only", "values-exact"], out, err) == 0
    assert "fact: the longest value it takes is 65,4" in out.getvalue()  # http.server's 64 KiB line
