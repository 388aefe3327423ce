"""The shell's `audit`: the same battery and table as paxos-audit, on pool members by id."""

from __future__ import annotations

import json
from pathlib import Path

from paxos_shell.shell.app import Shell
from tests.helpers import run, run_split


def test_audit_on_the_local_pool_restarts_through_the_pool_and_passes(local: Shell) -> None:
    code, out = run(local, "audit 2 --only promise-higher,durable-accept --seed 5")
    assert code == 0, out
    assert "seed 5" in out and "durable-accept" in out and "FAIL" not in out
    assert "'reset' them before a" in out


def test_audit_of_a_member_holding_state_suggests_reset_first(local: Shell) -> None:
    run(local, "prepare 5 1")  # no quorum of 3: its status is 1, but acceptor 1 promised
    code, _, err = run_split(local, "audit 1 --only promise-higher")
    assert code == 1 and "'reset 1' first" in err and "--force" in err
    assert run(local, "reset 1")[0] == 0
    assert run(local, "audit 1 --only promise-higher")[0] == 0


def test_audit_json_carries_paxos_audits_schema(shell: Shell) -> None:
    code, out, _ = run_split(shell, "audit 3 --only bad-input,linearizable")
    assert code == 0
    code, out, _ = run_split(shell, "set format json")
    code, out, _ = run_split(shell, "audit 1 --read-only")
    data = json.loads(out.splitlines()[-1])
    (report,) = data["acceptors"]
    assert set(report) == {"url", "verdict", "rules"} and report["verdict"] == "pass"
    assert {r["rule"]: r["verdict"] for r in report["rules"]}["state-consistent"] == "pass"


def test_audit_names_an_unknown_rule_or_acceptor_in_one_line(shell: Shell) -> None:
    code, _, err = run_split(shell, "audit 1 --only nope")
    assert code == 1 and "unknown rule 'nope'" in err
    code, _, err = run_split(shell, "audit 9")
    assert code == 1 and "unknown acceptor 9" in err


def test_audit_names_an_svg_directory_it_cannot_write_before_it_runs(local: Shell, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    code, _, err = run_split(local, f"audit 1 --only promise-higher --svg {tmp_path}/file")
    assert code == 1 and f"--svg: cannot write {tmp_path}/file is not a directory" in err
    assert "internal error" not in err
    assert run(local, "audit 1 --only promise-higher")[0] == 0, "the refused audit changed the acceptor"
