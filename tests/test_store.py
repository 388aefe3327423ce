"""The durable store's record, against the store itself: slots, torn writes, exact writes.

Every failed save is checked for what survives it. The directory's identity,
migration and start-up failures are in test_store_directory.py; real acceptor
processes under a file-size limit and kill -9 in test_store_crash.py.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from paxos_shell.acceptor import diskio, record
from paxos_shell.acceptor.node import AcceptorNode, PersistError
from paxos_shell.acceptor.store import STATE_FILE, Store
from paxos_shell.core import wire
from paxos_shell.core.paxos import AcceptorState

from .helpers import A, B, C, refusal, reopen, saved


def slots(directory: Path) -> list[record.Slot]:
    raw = (directory / STATE_FILE).read_bytes()
    return [record.read_slot(raw[i * record.SLOT_BYTES:(i + 1) * record.SLOT_BYTES], i) for i in (0, 1)]


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0xFF]))


class TestRecord:
    def test_round_trip_preallocated_and_never_extended(self, tmp_path: Path) -> None:
        d = tmp_path / "a"
        s = saved(d)
        size, blocks = os.stat(s.path).st_size, os.stat(s.path).st_blocks
        assert size == record.RECORD_BYTES and blocks * 512 >= size
        for st in (A, B, AcceptorState(12, 11, "c" * wire.MAX_VALUE_BYTES)):
            s.save(st)
            assert (os.stat(s.path).st_size, os.stat(s.path).st_blocks) == (size, blocks)
        s.close()
        assert reopen(d) == AcceptorState(12, 11, "c" * wire.MAX_VALUE_BYTES)

    def test_each_save_writes_the_slot_not_holding_the_newest(self, tmp_path: Path) -> None:
        saved(tmp_path, A).close()
        assert [(x.seq, x.state) for x in slots(tmp_path)] == [(0, AcceptorState()), (1, A)]
        saved(tmp_path, B).close()
        assert [(x.seq, x.state) for x in slots(tmp_path)] == [(2, B), (1, A)]

    def test_any_value_round_trips(self, tmp_path: Path) -> None:
        for value in ("", "ünï ☃ \x00\x1b[2J", "\ud800 lone surrogate"):
            s = saved(tmp_path, AcceptorState(1, 1, value))
            s.close()
            assert reopen(tmp_path).accepted_value == value

    @pytest.mark.parametrize("cut", [10, 20, 40, 600, 6000])
    def test_torn_slot_loses_to_the_previous_state(self, tmp_path: Path, cut: int) -> None:
        """A crash while writing C leaves part of C over the slot that held A; B, the last
        state saved, wins. Where the cut falls (magic, header, value) does not matter."""
        saved(tmp_path, A, B).close()
        torn = record.encode_slot(3, C)[:cut]
        with open(tmp_path / STATE_FILE, "r+b") as f:
            f.seek(record.slot_offset(3))
            f.write(torn)
        assert slots(tmp_path)[1].problem in (record.SlotProblem.CHECKSUM, record.SlotProblem.MAGIC)
        assert reopen(tmp_path) == B

    def test_both_slots_corrupt_refuses_to_start(self, tmp_path: Path) -> None:
        saved(tmp_path, A).close()
        for i in (0, 1):
            flip_byte(tmp_path / STATE_FILE, i * record.SLOT_BYTES + 30)
        refusal(tmp_path, str(tmp_path / STATE_FILE), "refusing to start", "slot 0: checksum mismatch",
                "slot 1: checksum mismatch", "--init to start empty")

    @pytest.mark.parametrize("size", [0, 100, record.RECORD_BYTES - 1])
    def test_cut_off_record_refuses_to_start(self, tmp_path: Path, size: int) -> None:
        saved(tmp_path, A).close()
        os.truncate(tmp_path / STATE_FILE, size)
        refusal(tmp_path, str(tmp_path / STATE_FILE), "is not the size of a state record", "refusing to start")

    def test_smaller_slots_of_another_version_are_rebuilt(self, tmp_path: Path) -> None:
        saved(tmp_path).close()
        (tmp_path / STATE_FILE).write_bytes(record.blank_record(7, A, record.PAGE))
        assert reopen(tmp_path) == A
        assert os.path.getsize(tmp_path / STATE_FILE) == record.RECORD_BYTES
        saved(tmp_path, B).close()
        assert reopen(tmp_path) == B


class TestExactWrites:
    def test_short_writes_are_completed(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        s = saved(tmp_path, A)
        real = os.pwrite
        calls = []

        def trickle(fd: int, data: Any, offset: int) -> int:
            calls.append(offset)
            return real(fd, bytes(data[:100]), offset)

        monkeypatch.setattr(os, "pwrite", trickle)
        s.save(B)
        monkeypatch.undo()
        s.close()
        assert len(calls) > 60  # 6,000 bytes, 100 at a time
        assert reopen(tmp_path) == B

    @pytest.mark.parametrize("failing", ["pwrite", "fdatasync"])
    def test_failed_save_raises_and_the_old_state_survives(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
    ) -> None:
        s = saved(tmp_path, A, B)
        real = os.pwrite

        def disk_full(fd: int, data: Any, offset: int) -> int:
            real(fd, bytes(data[:1000]), offset)  # part of C reaches the slot, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def io_error(fd: int) -> None:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        if failing == "pwrite":
            monkeypatch.setattr(os, "pwrite", disk_full)
        else:
            monkeypatch.setattr(diskio, "datasync", io_error)
        with pytest.raises(OSError):
            s.save(C)
        monkeypatch.undo()
        assert reopen_while_open(s) == B
        reason = "No space left on device" if failing == "pwrite" else "Input/output error"
        assert s.trouble() == f"the last save failed: {reason}"  # /health says DOWN until a save succeeds
        s.save(AcceptorState(13, 11, C.accepted_value))  # retries the same slot, never B's
        assert s.trouble() is None
        s.close()
        assert reopen(tmp_path) == AcceptorState(13, 11, C.accepted_value)

    def test_value_too_large_for_a_slot_fails_cleanly(self, tmp_path: Path) -> None:
        s = saved(tmp_path, A)
        with pytest.raises(OSError) as e:
            s.save(AcceptorState(9, 9, "x" * record.SLOT_BYTES))
        assert e.value.errno == errno.EFBIG and "a state slot holds at most" in str(e.value)
        s.close()
        assert reopen(tmp_path) == A

    def test_node_keeps_the_old_state_and_grants_nothing(self, tmp_path: Path) -> None:
        s = saved(tmp_path, A)
        node = AcceptorNode(1, s, A)
        with pytest.raises(PersistError, match="a state slot holds at most"):
            node.accept(20, "x" * record.SLOT_BYTES)
        assert node.snapshot() == wire.state_reply(A)
        assert node.prepare(6) == {"ignored": False, "promisedId": 6, "acceptedId": 3, "acceptedValue": "old"}
        s.close()
        assert reopen(tmp_path) == AcceptorState(6, 3, "old")


def reopen_while_open(s: Store) -> AcceptorState:
    """What a restart would load now, read without the lock the open store holds."""
    fd = os.open(s.path, os.O_RDONLY)
    try:
        raw = diskio.read_all(fd, record.RECORD_BYTES)
    finally:
        os.close(fd)
    state = record.newest(raw, record.SLOT_BYTES).state
    assert state is not None
    return state
