"""The shell's own local pool: crash and recovery lessons, and no acceptor outliving its shell.

Acceptor processes are found by the process ids the shell reports (`pool`),
never by name.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from typing import Any

import pexpect
import pytest

from paxos_shell.acceptor.store import STATE_FILE
from paxos_shell.pool.local import LocalPool, PoolError

from .helpers import line, spawn, wait_gone


def pool_pids(child: pexpect.spawn) -> dict[int, int]:
    out = line(child, "pool", "faults")
    rows = re.findall(r"^(\d+)\s+http://127\.0\.0\.1:\d+\s+(\d+)\s+up", out, re.M)
    return {int(i): int(pid) for i, pid in rows}


def test_crash_and_recovery_lesson(tmp_path: Any) -> None:
    child = spawn("--timeout", "5")
    try:
        pids = pool_pids(child)
        assert sorted(pids) == [1, 2, 3]
        line(child, "prepare 7", "Received promise from: [1, 2, 3]")
        line(child, "accept 7 test-val", "Received accepts from: [1, 2, 3]")
        line(child, "down 2", "Acceptor 2 down (killed)")
        assert wait_gone([pids[2]]) == []
        # 1 and 3 are still a quorum, and both report the chosen value in their promises.
        line(child, "propose next-value", "Received promise from: [1, 3]",
             "Consensus already reached during prepare phase", "value=test-val")
        line(child, "down 3", "Acceptor 3 down")
        out = line(child, "propose other", "No Consensus")
        assert "1 promise, quorum is 2" in out
        line(child, "up 2 3", "Acceptors 2, 3 up")
        out = line(child, "state", "Chosen: test-val")
        # Each kept exactly what it acknowledged: 2 missed id 8, 3 missed id 9.
        assert re.search(r"^2\s+up\s+7\s+7\s+test-val", out, re.M), out
        assert re.search(r"^3\s+up\s+8\s+7\s+test-val", out, re.M), out
        line(child, "restart 1", "Acceptor 1 restarted")
        out = line(child, "state 1", "test-val")
        assert re.search(r"^1\s+up\s+9\s+7\s+test-val", out, re.M), out
        line(child, "reset", "Acceptors 1, 2, 3 reset (state wiped)")
        out = line(child, "state", "No value is chosen yet")
        assert len(re.findall(r"^\d\s+up\s+-1\s+-1\s+-", out, re.M)) == 3
        line(child, "up 1", "Already up: 1")
        new = pool_pids(child)
        child.send("exit\r")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0  # leaving the REPL is a success, though 'propose other' failed
        assert wait_gone(list(new.values()) + list(pids.values())) == []
    finally:
        if child.isalive():
            child.kill(9)


@pytest.mark.parametrize("how", ["ctrl-d", "sigterm", "sighup", "sigkill"])
def test_no_acceptor_outlives_the_repl(how: str) -> None:
    child = spawn()
    pids = pool_pids(child)
    assert len(pids) == 3
    data_dir = re.search(r"state in (\S+)", line(child, "show", "Acceptors:")).group(1)  # type: ignore[union-attr]  # show names it
    assert os.path.isdir(data_dir)
    if how == "ctrl-d":
        child.sendcontrol("d")
    else:
        os.kill(child.pid, {"sigterm": signal.SIGTERM, "sighup": signal.SIGHUP, "sigkill": signal.SIGKILL}[how])
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in child.before
    assert wait_gone(list(pids.values())) == [], f"acceptors left behind after {how}"
    if how != "sigkill":  # a killed shell cannot clean up its temporary directory
        assert not os.path.exists(data_dir)
        assert child.exitstatus == {"ctrl-d": 0, "sigterm": 143, "sighup": 129}[how]


def test_a_signal_as_the_prompt_starts_ends_the_shell_cleanly() -> None:
    """The prompt loads its history in its event loop once drawn; a SIGTERM that landed there
    printed a traceback and waited for Enter. A long history keeps the loader busy for the
    signal to land in it: the shell must end each time, with 143 and nothing else."""
    history = os.path.join(os.environ["XDG_STATE_HOME"], "paxos-shell", "history")
    os.makedirs(os.path.dirname(history), exist_ok=True)
    with open(history, "w") as f:
        f.writelines(f"\n# 2026-01-01 00:00:{i % 60:02}\n+propose v{i}\n" for i in range(100_000))
    for _ in range(3):
        child = spawn()
        try:
            os.kill(child.pid, signal.SIGTERM)
            child.expect(pexpect.EOF, timeout=10)
            child.close()
            assert "Traceback" not in child.before and "Press ENTER" not in child.before
            assert child.exitstatus == 143
        finally:
            if child.isalive():
                child.kill(signal.SIGKILL)


def test_dash_c_and_script_modes_leave_nothing_behind(tmp_path: Any) -> None:
    p = subprocess.run([sys.executable, "-m", "paxos_shell", "--timeout", "5", "--json", "-c", "pool",
                        "-c", "propose v"], capture_output=True, text=True, timeout=30)
    objs = [json.loads(ln) for ln in p.stdout.splitlines()]
    assert p.returncode == 0 and objs[1]["consensus"] is True
    pids = [a["pid"] for a in objs[0]["acceptors"].values()]
    assert len(pids) == 3 and all(pids)
    assert wait_gone(pids) == []
    assert "Local pool of 3 acceptors" in p.stderr and "--data-dir" in p.stderr


def test_local_size_and_kept_data_dir(tmp_path: Any) -> None:
    data = str(tmp_path / "pool")
    cmd = [sys.executable, "-m", "paxos_shell", "--local", "5", "--data-dir", data, "--json", "--timeout", "5"]
    p = subprocess.run([*cmd, "-c", "propose kept"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    assert json.loads(p.stdout)["attempts"][0]["servers"] == [1, 2, 3, 4, 5]
    assert os.path.exists(os.path.join(data, "acceptor-5", STATE_FILE))
    p = subprocess.run([*cmd, "-c", "state"], capture_output=True, text=True, timeout=30)
    assert json.loads(p.stdout)["acceptors"]["5"]["acceptedValue"] == "kept"  # the next lesson starts where it stopped


def test_broadcast_works_on_the_local_pool() -> None:
    pool = LocalPool(3)
    try:
        pool.start()
        import http.client

        conn = http.client.HTTPConnection(pool.host, pool.members[2].port, timeout=5)
        conn.request("GET", "/api/broadcast/paxos/state")
        body = json.loads(conn.getresponse().read())
        conn.close()
        assert sorted(body) == ["1", "2", "3"]
    finally:
        pool.close()
    assert all(m.pid is None for m in pool.members.values())


def test_acceptor_that_cannot_start_is_named_with_its_log(tmp_path: Any) -> None:
    data = tmp_path / "pool"
    os.makedirs(data / "acceptor-2")
    (data / "acceptor-2" / "state.json").write_text("garbage")
    pool = LocalPool(3, str(data))
    try:
        with pytest.raises(PoolError, match=r"acceptor 2 failed to start .*corrupt.*acceptor-2\.log"):
            pool.start()
    finally:
        pool.close()
    p = subprocess.run([sys.executable, "-m", "paxos_shell", "--data-dir", str(data), "-c", "state"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "acceptor 2 failed to start" in p.stderr and "Traceback" not in p.stderr


def test_pool_commands_need_a_local_pool(acceptors: Any) -> None:
    accs = acceptors(1)
    p = subprocess.run([sys.executable, "-m", "paxos_shell", "--url", f"1={accs[0].url}",
                        "-c", "pool", "-c", "down 1"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert accs[0].url in p.stdout and "the pool is not local" in p.stderr


def flip_bit(path: str, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x01]))


RECOVERED = ("WARNING: acceptor 1 started from an older state: slot 0 failed its check (checksum mismatch (a torn "
             "or damaged write)) and was set aside; loaded slot 1, sequence 1: promisedId=5 acceptedId=-1 (if slot "
             "0 held a later acknowledged state, this acceptor has forgotten it)")


def test_a_slot_set_aside_at_start_up_is_said_by_the_shell(tmp_path: Any) -> None:
    # Was: the acceptor said it in its log and /health, and the shell that started it said nothing.
    data = str(tmp_path / "pool")
    cmd = [sys.executable, "-m", "paxos_shell", "--local", "1", "--data-dir", data, "--timeout", "5"]
    subprocess.run([*cmd, "-c", "prepare 5", "-c", "prepare 7"], capture_output=True, timeout=30, check=True)
    flip_bit(os.path.join(data, "acceptor-1", STATE_FILE), 30)  # inside slot 0, the newest
    p = subprocess.run([*cmd, "-c", "state"], capture_output=True, text=True, timeout=30)
    assert RECOVERED in " ".join(p.stderr.split())


def test_a_slot_set_aside_when_an_acceptor_comes_back_is_said(tmp_path: Any) -> None:
    import io

    from paxos_shell.pool.local import Pool
    from paxos_shell.shell.app import Shell

    from .helpers import run

    pool = LocalPool(1, str(tmp_path / "pool"))
    pool.start()
    sh = Shell(Pool(pool.urls, "local", pool), timeout=5.0, stream=io.StringIO(), err=io.StringIO(), colour=False)
    try:
        for command in ("prepare 5", "prepare 7", "down 1"):
            run(sh, command)
        flip_bit(os.path.join(pool.state_dir(1), STATE_FILE), 30)
        _, out = run(sh, "up 1")
        assert RECOVERED in " ".join(out.split())
    finally:
        sh.close()
