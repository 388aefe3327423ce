"""The state directory knows it was used: marker, lock, migration, start-up failures.

Every refusal is checked for what an operator reads: one line, naming the file
it is about, and what to do.
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

from paxos_shell.acceptor import record
from paxos_shell.acceptor.store import LEGACY_FILE, LEGACY_LOCK, MARKER_FILE, STATE_FILE, Store, StoreError
from paxos_shell.core.paxos import AcceptorState

from .helpers import A, B, refusal, reopen, saved


def format_1(state: AcceptorState) -> bytes:
    """state.json as the acceptor wrote it before the two-slot record (format 1)."""
    return json.dumps({"promisedId": state.promised_id, "acceptedId": state.accepted_id,
                       "acceptedValue": state.accepted_value}).encode("utf-8")


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
        (tmp_path / LEGACY_FILE).write_bytes(format_1(A))
        (tmp_path / LEGACY_LOCK).write_bytes(b"")
        assert reopen(tmp_path) == A
        tomb = (tmp_path / LEGACY_FILE).read_bytes()
        with pytest.raises(KeyError, match="promisedId"):  # what format 1 reads there: it refuses to start
            record.decode_legacy(tomb)
        saved(tmp_path, B).close()
        assert reopen(tmp_path) == B

    def test_crash_before_the_tombstone_is_finished_at_the_next_start(self, tmp_path: Path) -> None:
        saved(tmp_path, A).close()
        (tmp_path / LEGACY_FILE).write_bytes(format_1(AcceptorState(1)))  # stale format 1
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
