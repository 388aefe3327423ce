"""A real acceptor whose state file is tampered with: deleted or renamed over while it runs,
or with a flipped bit in its newest slot when it starts.

What a user sees is asserted word for word: the 500 that grants nothing, the /health that
says DOWN and why meanwhile, the start-up line on stderr and the `recovered:` line of /health.
Loopback only; every process is killed by its test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from paxos_shell.acceptor.store import STATE_FILE

from .helpers.rawhttp import AcceptorProcess, get_json, state

ARGS = ("--id", "1", "--port", "0", "--quiet")
PERSIST = "could not persist state: "


def error_500(path: str, message: str) -> tuple[int, dict]:
    return 500, {"status": 500, "error": "Internal Server Error", "message": message, "path": path}


def state_file(data: Path) -> Path:
    return data / "acceptor-1" / STATE_FILE


def test_a_state_file_deleted_while_running_grants_nothing_more(tmp_path: Path) -> None:
    with AcceptorProcess(str(tmp_path), *ARGS) as acc:
        assert get_json(acc.port, "POST", "/api/paxos/prepare?id=5")[1] == {"ignored": False, "promisedId": 5}
        state_file(tmp_path).unlink()
        said = (f"could not persist state: state file {state_file(tmp_path)} was deleted or moved while the "
                "acceptor ran; nothing more is granted (a restart would find no state)")
        assert get_json(acc.port, "POST", "/api/paxos/prepare?id=7") == error_500("/api/paxos/prepare", said)
        assert get_json(acc.port, "POST", "/api/paxos/accept?id=9&value=v") == error_500("/api/paxos/accept", said)
        assert state(acc.port) == {"promisedId": 5, "acceptedId": -1, "acceptedValue": None}
        assert get_json(acc.port, "POST", "/api/paxos/prepare?id=3")[1] == {"ignored": True, "promisedId": 5}
        assert get_json(acc.port, "GET", "/health") == (503, f"DOWN acceptor 1\nreason: {said[len(PERSIST):]}\n")


def test_health_is_down_while_the_state_file_is_moved_away_and_up_once_it_is_back(tmp_path: Path) -> None:
    """No request is needed for /health to see the file gone or back: it checks the path itself."""
    with AcceptorProcess(str(tmp_path), *ARGS) as acc:
        assert get_json(acc.port, "GET", "/health") == (200, "UP acceptor 1\n")
        away = tmp_path / "away.rec"
        os.rename(state_file(tmp_path), away)
        assert get_json(acc.port, "GET", "/health") == (503, (
            f"DOWN acceptor 1\nreason: state file {state_file(tmp_path)} was deleted or moved while the acceptor "
            "ran; nothing more is granted (a restart would find no state)\n"))
        os.rename(away, state_file(tmp_path))
        assert get_json(acc.port, "GET", "/health") == (200, "UP acceptor 1\n")
        assert get_json(acc.port, "POST", "/api/paxos/prepare?id=7") == (200, {"ignored": False, "promisedId": 7})


def test_a_state_file_renamed_over_while_running_grants_nothing_and_loses_nothing(tmp_path: Path) -> None:
    """A copy taken after the last grant is renamed over the file: the acceptor refuses from then
    on, and a restart loads the copy, which holds every state ever acknowledged."""
    with AcceptorProcess(str(tmp_path), *ARGS) as acc:
        get_json(acc.port, "POST", "/api/paxos/accept?id=5&value=A")
        copy = tmp_path / "copy.rec"
        shutil.copy(state_file(tmp_path), copy)
        os.replace(copy, state_file(tmp_path))
        said = (f"could not persist state: state file {state_file(tmp_path)} was replaced while the acceptor "
                "ran; nothing more is granted (a restart would load the other file's state)")
        assert get_json(acc.port, "POST", "/api/paxos/prepare?id=7") == error_500("/api/paxos/prepare", said)
        assert state(acc.port) == {"promisedId": 5, "acceptedId": 5, "acceptedValue": "A"}
        assert get_json(acc.port, "GET", "/health") == (503, f"DOWN acceptor 1\nreason: {said[len(PERSIST):]}\n")
    with AcceptorProcess(str(tmp_path), *ARGS) as acc:
        assert state(acc.port) == {"promisedId": 5, "acceptedId": 5, "acceptedValue": "A"}
        assert get_json(acc.port, "POST", "/api/paxos/prepare?id=7")[1] == {
            "ignored": False, "promisedId": 7, "acceptedId": 5, "acceptedValue": "A"}


def flip_bit(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x01]))


def test_a_flipped_bit_in_the_newest_slot_is_said_on_stderr_and_in_health(tmp_path: Path) -> None:
    with AcceptorProcess(str(tmp_path), *ARGS) as acc:
        get_json(acc.port, "POST", "/api/paxos/prepare?id=5")  # sequence 1, slot 1
        get_json(acc.port, "POST", "/api/paxos/prepare?id=7")  # sequence 2, slot 0: the newest
    flip_bit(state_file(tmp_path), 30)  # inside slot 0's acceptedId
    said = ("slot 0 failed its check (checksum mismatch (a torn or damaged write)) and was set aside; loaded "
            "slot 1, sequence 1: promisedId=5 acceptedId=-1 (if slot 0 held a later acknowledged state, this "
            "acceptor has forgotten it)")
    with AcceptorProcess(str(tmp_path), *ARGS) as acc:
        assert f"paxos-acceptor 1: state file {state_file(tmp_path)}: {said}\n" in acc.log()
        assert get_json(acc.port, "GET", "/health") == (200, f"UP acceptor 1\nrecovered: {said}\n")
        assert state(acc.port)["promisedId"] == 5
        get_json(acc.port, "POST", "/api/paxos/prepare?id=8")  # rewrites slot 0
    with AcceptorProcess(str(tmp_path), *ARGS) as acc:  # both slots sound again: nothing to say
        assert get_json(acc.port, "GET", "/health") == (200, "UP acceptor 1\n")
        assert "failed its check" not in acc.log()
