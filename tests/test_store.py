"""The durable store, against the store itself: exact writes, torn slots, the directory's identity.

Every refusal is checked for what an operator reads (one line, the file it is
about); every failed save for what survives it. Real acceptor processes under a
file-size limit and kill -9 are in test_store_crash.py.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pwd
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest

from paxos_shell import wire
from paxos_shell.acceptor import diskio, record
from paxos_shell.acceptor.node import AcceptorNode, PersistError
from paxos_shell.acceptor.store import LEGACY_FILE, LEGACY_LOCK, MARKER_FILE, STATE_FILE, Store, StoreError
from paxos_shell.paxos import AcceptorState

A = AcceptorState(5, 3, "old")
B = AcceptorState(9, 9, "b" * 6000)
C = AcceptorState(11, 11, "c" * 6000)


def refusal(directory: Path, *parts: str, init: bool = False, **kw: Any) -> str:
    """Store.open's StoreError text, checked to be one line that contains each of `parts`."""
    with pytest.raises(StoreError) as e:
        Store(str(directory), **kw).open(init=init)
    text = str(e.value)
    assert "\n" not in text and "\r" not in text
    for part in parts:
        assert part in text
    return text


def reopen(directory: Path) -> AcceptorState:
    s = Store(str(directory))
    try:
        return s.open()
    finally:
        s.close()


def saved(directory: Path, *states: AcceptorState) -> Store:
    """An open store that has saved `states` in order."""
    s = Store(str(directory))
    s.open()
    for st in states:
        s.save(st)
    return s


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
        s.save(AcceptorState(13, 11, C.accepted_value))  # retries the same slot, never B's
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


class TestDirectory:
    def test_fresh_directory_is_initialised_and_marked(self, tmp_path: Path) -> None:
        d = tmp_path / "x" / "acceptor-1"
        s = Store(str(d), acceptor_id=1)
        assert s.open() == AcceptorState()
        s.close()
        assert sorted(os.listdir(d)) == [MARKER_FILE, LEGACY_FILE, STATE_FILE]
        assert json.loads((d / MARKER_FILE).read_text()) == {"format": 2, "acceptorId": 1, "stateFile": STATE_FILE}

    def test_missing_state_file_refuses_and_init_starts_empty(self, tmp_path: Path) -> None:
        saved(tmp_path, A).close()
        os.remove(tmp_path / STATE_FILE)
        refusal(tmp_path, str(tmp_path / STATE_FILE), "is missing", "forget this acceptor's promises",
                "--init to start empty")
        os.remove(tmp_path / MARKER_FILE)  # the tombstone of format 1 still says the directory was used
        refusal(tmp_path, str(tmp_path / STATE_FILE), "is missing")
        s = Store(str(tmp_path))
        assert s.open(init=True) == AcceptorState()
        s.save(A)
        s.close()
        assert reopen(tmp_path) == A

    def test_init_wipes_state_on_purpose(self, tmp_path: Path) -> None:
        saved(tmp_path, A, B).close()
        s = Store(str(tmp_path))
        assert s.open(init=True) == AcceptorState()
        s.close()
        assert reopen(tmp_path) == AcceptorState()

    def test_lost_marker_is_rewritten_from_the_record(self, tmp_path: Path) -> None:
        """A crash between the record and the marker at initialisation: the record stands."""
        saved(tmp_path, A).close()
        os.remove(tmp_path / MARKER_FILE)
        assert reopen(tmp_path) == A
        assert (tmp_path / MARKER_FILE).exists()

    def test_directory_of_another_acceptor_refuses(self, tmp_path: Path) -> None:
        s = Store(str(tmp_path), acceptor_id=2)
        s.open()
        s.close()
        refusal(tmp_path, "holds acceptor 2's state, not acceptor 1's", acceptor_id=1)

    @pytest.mark.parametrize("content", [b"", b"{", b'{"format": "x"}', b'{"format": 2, "acceptorId": true}'])
    def test_corrupt_marker_refuses(self, tmp_path: Path, content: bytes) -> None:
        saved(tmp_path, A).close()
        (tmp_path / MARKER_FILE).write_bytes(content)
        refusal(tmp_path, str(tmp_path / MARKER_FILE), "is corrupt", "remove it")
        os.remove(tmp_path / MARKER_FILE)
        assert reopen(tmp_path) == A
        assert record.decode_marker((tmp_path / MARKER_FILE).read_bytes()).format == record.FORMAT

    def test_newer_format_refuses(self, tmp_path: Path) -> None:
        saved(tmp_path).close()
        (tmp_path / MARKER_FILE).write_text('{"format": 3, "acceptorId": null}')
        refusal(tmp_path, "format 3, written by a newer paxos-acceptor")

    def test_foreign_directory_is_not_initialised(self, tmp_path: Path) -> None:
        (tmp_path / "notes.txt").write_text("mine")
        refusal(tmp_path, str(tmp_path), "is not empty (notes.txt)", "refusing to initialise")
        assert sorted(os.listdir(tmp_path)) == ["notes.txt"]

    def test_one_directory_one_acceptor_even_without_a_lock_file(self, tmp_path: Path) -> None:
        a = saved(tmp_path, A)
        assert LEGACY_LOCK not in os.listdir(tmp_path)  # nothing to delete: the lock is the directory's
        refusal(tmp_path, str(tmp_path), "is in use by another paxos-acceptor")
        refusal(tmp_path, "is in use", durable=False)
        a.close()
        assert reopen(tmp_path) == A

    def test_an_older_acceptor_holding_its_lock_file_keeps_us_out(self, tmp_path: Path) -> None:
        (tmp_path / LEGACY_FILE).write_text(json.dumps({"promisedId": 4, "acceptedId": -1, "acceptedValue": None}))
        fd = os.open(tmp_path / LEGACY_LOCK, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            refusal(tmp_path, "in use by an older paxos-acceptor")
        finally:
            os.close(fd)
        assert reopen(tmp_path) == AcceptorState(4)

    def test_volatile_store_writes_nothing_but_takes_the_lock(self, tmp_path: Path) -> None:
        s = Store(str(tmp_path / "v"), durable=False)
        assert s.open() == AcceptorState()
        s.save(A)
        assert os.listdir(tmp_path / "v") == []
        refusal(tmp_path / "v", "is in use")
        s.close()


class TestMigration:
    def test_format_1_state_is_migrated_and_tombstoned(self, tmp_path: Path) -> None:
        (tmp_path / LEGACY_FILE).write_bytes(record.encode_legacy(A))
        (tmp_path / LEGACY_LOCK).write_bytes(b"")
        assert reopen(tmp_path) == A
        tomb = (tmp_path / LEGACY_FILE).read_bytes()
        with pytest.raises(KeyError, match="promisedId"):  # what format 1 reads there: it refuses to start
            record.decode_legacy(tomb)
        saved(tmp_path, B).close()
        assert reopen(tmp_path) == B

    def test_crash_before_the_tombstone_is_finished_at_the_next_start(self, tmp_path: Path) -> None:
        saved(tmp_path, A).close()
        (tmp_path / LEGACY_FILE).write_bytes(record.encode_legacy(AcceptorState(1)))  # stale format 1
        assert reopen(tmp_path) == A
        assert record.is_tombstone((tmp_path / LEGACY_FILE).read_bytes())

    @pytest.mark.parametrize("content", [
        b"", b"{", b"[]", b"\xff\xfe",
        b'{"promisedId": "x", "acceptedId": -1, "acceptedValue": null}',
        b'{"promisedId": 1, "acceptedId": 5, "acceptedValue": "v"}',
    ])
    def test_corrupt_format_1_refuses_to_start(self, tmp_path: Path, content: bytes) -> None:
        (tmp_path / LEGACY_FILE).write_bytes(content)
        refusal(tmp_path, str(tmp_path / LEGACY_FILE), "refusing to start")
        assert (tmp_path / LEGACY_FILE).read_bytes() == content and not (tmp_path / STATE_FILE).exists()


FAILING_CALLS: dict[str, Callable[[pytest.MonkeyPatch, int], None]] = {
    "mkdir": lambda mp, code: mp.setattr(os, "mkdir", fail_with(code)),
    "fallocate": lambda mp, code: mp.setattr(os, "posix_fallocate", fail_with(code)),
    "write": lambda mp, code: mp.setattr(os, "pwrite", fail_with(code)),
}


def fail_with(code: int) -> Callable[..., Any]:
    def fail(*args: Any, **kw: Any) -> Any:
        raise OSError(code, os.strerror(code))
    return fail


class TestStartupFailures:
    @pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC, errno.EFBIG])
    @pytest.mark.parametrize("call", sorted(FAILING_CALLS))
    def test_initialisation_failure_is_one_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, call: str
    ) -> None:
        d = tmp_path / "new"
        FAILING_CALLS[call](monkeypatch, code)
        refusal(d, str(d), os.strerror(code))
        monkeypatch.undo()
        assert reopen(d) == AcceptorState()  # nothing half-made stands in the way

    def test_read_only_directory_is_one_line(self) -> None:
        """chmod 0o555 on a fresh directory. Root ignores directory permissions, so as root the
        store is opened in a forked child that has become `nobody`, in a directory under /tmp
        that `nobody` can reach (pytest's tmp_path is private to root)."""
        root = Path(tempfile.mkdtemp(prefix="paxos-ro-"))
        d = root / "acceptor-1"
        try:
            root.chmod(0o755)
            d.mkdir()
            d.chmod(0o555)
            text = open_in_child(d, drop_root=os.geteuid() == 0)
            assert text.startswith("StoreError: ") and "\n" not in text, text
            assert f"cannot initialise state directory {d}" in text and os.strerror(errno.EACCES) in text
            assert os.listdir(d) == []
        finally:
            d.chmod(0o755)
            shutil.rmtree(root)


def open_in_child(directory: Path, drop_root: bool) -> str:
    """What Store.open raised in a forked child (as `nobody` if `drop_root`): 'StoreError: <text>'."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        try:
            os.close(r)
            if drop_root:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            try:
                Store(str(directory)).open()
                result = "opened"
            except StoreError as e:
                result = f"StoreError: {e}"
            os.write(w, result.encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    return out
