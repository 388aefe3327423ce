"""Durable acceptor state: a preallocated two-slot record, one fdatasync per save.

An acceptor that forgets a promise after a crash breaks Paxos safety, so `save`
returns only once the state is on stable storage, and raises OSError (the change
is then not granted) if any byte of it could not be written. Each save writes
the slot that does not hold the newest state (record.py), so a crash or a failed
write leaves the previous state intact. The directory knows it was used: a marker
written at initialisation makes a missing state file a refusal, not a silent
fresh start; a flock on the directory itself keeps a second acceptor out. Before
a save is acknowledged, the state path must still name the file written (its
inode): a state file deleted or renamed over while the acceptor runs would
otherwise take acknowledged promises with it at the next restart. Every
start-up failure is one StoreError line. This module never decides a Paxos
question and never prints; the front shows the StoreError.
"""

from __future__ import annotations

import errno
import fcntl
import os
from contextlib import contextmanager
from typing import Iterator, Optional

from paxos_shell.acceptor import diskio, record
from paxos_shell.core.paxos import AcceptorState
from paxos_shell.core.text import visible

STATE_FILE = "state.rec"
MARKER_FILE = "acceptor.json"
LEGACY_FILE = "state.json"
"""Format 1: once migrated, a tombstone that older versions refuse to start on."""
LEGACY_LOCK = "lock"
"""Format 1 locked this file; an older acceptor may still hold it."""

_LEFTOVERS = frozenset({LEGACY_LOCK, *(name + diskio.TMP for name in (STATE_FILE, MARKER_FILE, LEGACY_FILE))})
"""What a directory may hold and still count as brand-new: nothing ever acknowledged."""

_INIT_HINT = "start with --init to start empty on purpose, only if this acceptor's promises may be forgotten"


class StoreError(Exception):
    """The state cannot be trusted or kept; the acceptor must not start. One line."""


class Store:
    """Persists AcceptorState under one directory that only this acceptor uses."""

    def __init__(self, directory: str, durable: bool = True, acceptor_id: Optional[int] = None) -> None:
        self.directory = directory
        self.path = os.path.join(directory, STATE_FILE)
        self.durable = durable
        self.acceptor_id = acceptor_id
        self._dir_fd: Optional[int] = None
        self._legacy_lock_fd: Optional[int] = None
        self._fd: Optional[int] = None
        self._slot_bytes = record.SLOT_BYTES
        self._seq = 0
        self._inode: Optional[int] = None
        """The open state file's inode, as the directory lists it: what the path must still name."""
        self.recovered: Optional[str] = None
        """Set at start-up when a slot failed its check and the other was loaded (record.Loaded)."""
        self._disk_error: Optional[str] = None
        """Why the last save's write or fdatasync failed; None once one succeeds."""

    def open(self, init: bool = False) -> AcceptorState:
        """Take the directory lock, then load the state or initialise the directory.

        `init=True` starts empty on purpose, wiping any state. Raises StoreError
        with a one-line message when the state is missing, corrupt, in use or
        cannot be kept.
        """
        try:
            with self._failing(f"cannot use state directory {visible(self.directory)}"):
                self._lock()
                if not self.durable:
                    return AcceptorState()
                return self._load_or_initialise(init)
        except BaseException:
            self.close()
            raise

    def save(self, state: AcceptorState) -> None:
        """Return only once `state` would survive a crash; raise OSError if not.

        The slot written is the one not holding the newest state, and the sequence
        advances only after fdatasync returns, so a failure leaves the last saved
        state as the one a restart loads, and the next save retries the same slot.
        """
        if not self.durable:
            return
        if self._fd is None:
            raise OSError(errno.EBADF, f"state file {visible(self.path)} is not open")
        seq = self._seq + 1
        try:
            data = record.encode_slot(seq, state, self._slot_bytes)
        except record.ValueTooLarge as e:
            raise OSError(errno.EFBIG, str(e)) from None
        at = record.slot_offset(seq, self._slot_bytes)
        try:
            self._write_slot(self._fd, data, at)
            self._check_still_there()
        except OSError:
            self._void(at)
            raise
        self._seq = seq

    def _write_slot(self, fd: int, data: bytes, at: int) -> None:
        """Write and flush one slot, remembering a failure for `trouble`: no probe short of a
        write tells that the disk works again, so the failure stands until a save succeeds."""
        try:
            diskio.write_all(fd, data, at)
            diskio.datasync(fd)
        except OSError as e:
            self._disk_error = f"the last save failed: {e.strerror or e}"
            raise
        self._disk_error = None

    def trouble(self) -> Optional[str]:
        """Why a save would not be acknowledged now, or None, for /health: an acceptor that
        refuses every grant must not say UP. The state path is checked as it stands now (a file
        moved away and put back makes saves work again); a failed write as `_write_slot` says."""
        if not self.durable or self._fd is None:
            return None
        try:
            self._check_still_there()
        except OSError as e:
            return str(e)
        return self._disk_error

    def _check_still_there(self) -> None:
        """OSError unless the state path still names the file just written, against a save
        that would vanish at the next restart."""
        try:
            inode = self._entry_inode()
        except OSError as e:
            if not isinstance(e, FileNotFoundError):
                raise OSError(f"cannot check state file {visible(self.path)}: {e.strerror or e}") from None
            inode = None
        if inode is None:
            raise OSError(f"state file {visible(self.path)} was deleted or moved while the acceptor ran; "
                          "nothing more is granted (a restart would find no state)")
        if inode != self._inode:
            raise OSError(f"state file {visible(self.path)} was replaced while the acceptor ran; "
                          "nothing more is granted (a restart would load the other file's state)")

    def _entry_inode(self) -> Optional[int]:
        return diskio.listed_inode(self.directory, STATE_FILE)

    def _void(self, at: int) -> None:
        """Blank a slot whose save failed, so a restart does not load a state never granted.

        Best effort: the write may have landed whole before fdatasync failed. If
        blanking fails too, the slot may load after a crash; it holds a state the
        rules allowed and that was refused only for want of a disk, never one
        acknowledged, which is as harmless as a lost reply.
        """
        assert self._fd is not None
        try:
            diskio.write_all(self._fd, bytes(len(record.MAGIC)), at)
            diskio.datasync(self._fd)
        except OSError:
            pass

    def close(self) -> None:
        for name in ("_fd", "_legacy_lock_fd", "_dir_fd"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)

    # --- start-up --------------------------------------------------------------

    def _lock(self) -> None:
        """flock the directory itself: no file to delete lets a second acceptor in."""
        with self._failing(f"cannot open state directory {visible(self.directory)}"):
            diskio.make_dirs(self.directory)
            self._dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        if not _try_lock(self._dir_fd):
            raise StoreError(f"{visible(self.directory)} is in use by another paxos-acceptor; "
                             "one directory holds one acceptor's state")
        try:
            self._legacy_lock_fd = os.open(LEGACY_LOCK, os.O_RDONLY, dir_fd=self._dir_fd)
        except OSError:
            return  # no older version ever ran here, or its lock file is gone
        if not _try_lock(self._legacy_lock_fd):
            raise StoreError(f"{visible(self.directory)} is in use by an older paxos-acceptor "
                             f"(it holds {visible(LEGACY_LOCK)}); stop it first")

    def _load_or_initialise(self, init: bool) -> AcceptorState:
        if init:
            return self._initialise(AcceptorState())
        marker = self._read_marker()
        if self._exists(STATE_FILE):
            state = self._load_record()
            self._complete(marker)
            return state
        legacy = self._read_optional(LEGACY_FILE)
        if marker is not None or (legacy is not None and record.is_tombstone(legacy)):
            raise StoreError(
                f"state file {visible(self.path)} is missing although this directory has held acceptor "
                "state; starting empty would forget this acceptor's promises and could let two values be "
                f"chosen; restore the file, or {_INIT_HINT}")
        if legacy is not None:
            return self._initialise(self._decode_legacy(legacy))
        self._check_brand_new()
        return self._initialise(AcceptorState())

    def _initialise(self, state: AcceptorState, seq: int = 0) -> AcceptorState:
        """Write a fresh record holding `state`, then the marker and the format-1 tombstone.

        The record comes first: a crash before the marker leaves a record that the
        next start loads (and marks); a crash before the record leaves no trace.
        """
        assert self._dir_fd is not None
        with self._failing(f"cannot initialise state directory {visible(self.directory)}"):
            fd = diskio.create_file(self._dir_fd, STATE_FILE, record.blank_record(seq, state))
            self._adopt(fd, seq, record.SLOT_BYTES)
            self._write_marker()
            diskio.replace_file(self._dir_fd, LEGACY_FILE, record.tombstone(STATE_FILE))
        return state

    def _load_record(self) -> AcceptorState:
        assert self._dir_fd is not None
        with self._failing(f"cannot open state file {visible(self.path)} for writing"):
            fd = os.open(STATE_FILE, os.O_RDWR, dir_fd=self._dir_fd)
        try:
            with self._failing(f"cannot read state file {visible(self.path)}"):
                size = os.fstat(fd).st_size
                slot_bytes = record.slot_bytes_of(size)
                loaded = record.load(diskio.read_all(fd, size), slot_bytes)
        except record.RecordError as e:
            os.close(fd)
            raise self._corrupt(self.path, str(e)) from None
        except BaseException:
            os.close(fd)
            raise
        newest = loaded.slot
        assert newest.state is not None
        self.recovered = loaded.recovery()
        self._adopt(fd, newest.seq, slot_bytes)
        if slot_bytes < record.SLOT_BYTES:  # written with smaller slots: rebuild before any save
            self._initialise(newest.state, newest.seq)
        return newest.state

    def _adopt(self, fd: int, seq: int, slot_bytes: int) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._seq, self._slot_bytes = fd, seq, slot_bytes
        self._inode = self._entry_inode()

    def _complete(self, marker: Optional[record.Marker]) -> None:
        """Finish what a crash during initialisation or migration left undone."""
        assert self._dir_fd is not None
        with self._failing(f"cannot complete state directory {visible(self.directory)}"):
            if marker is None:
                self._write_marker()
            legacy = self._read_optional(LEGACY_FILE)
            if legacy is not None and not record.is_tombstone(legacy):
                diskio.replace_file(self._dir_fd, LEGACY_FILE, record.tombstone(STATE_FILE))

    # --- the marker and format 1 ---------------------------------------------

    def _read_marker(self) -> Optional[record.Marker]:
        data = self._read_optional(MARKER_FILE)
        if data is None:
            return None
        where = visible(os.path.join(self.directory, MARKER_FILE))
        try:
            marker = record.decode_marker(data)
        except ValueError as e:
            raise StoreError(f"marker file {where} is corrupt ({visible(str(e))}); refusing to start; "
                             f"remove it, and the next start rewrites it from {STATE_FILE}") from None
        if marker.format > record.FORMAT:
            raise StoreError(f"{where} says format {marker.format}, written by a newer paxos-acceptor "
                             f"(this one reads format {record.FORMAT}); refusing to start")
        if None not in (marker.acceptor_id, self.acceptor_id) and marker.acceptor_id != self.acceptor_id:
            raise StoreError(f"{where} says this directory holds acceptor {marker.acceptor_id}'s state, "
                             f"not acceptor {self.acceptor_id}'s; refusing to start")
        return marker

    def _write_marker(self) -> None:
        assert self._dir_fd is not None
        diskio.replace_file(self._dir_fd, MARKER_FILE, record.encode_marker(self.acceptor_id, STATE_FILE))

    def _decode_legacy(self, data: bytes) -> AcceptorState:
        try:
            return record.decode_legacy(data)
        except (ValueError, KeyError, TypeError) as e:
            raise self._corrupt(os.path.join(self.directory, LEGACY_FILE), visible(str(e))) from None

    def _check_brand_new(self) -> None:
        assert self._dir_fd is not None
        with self._failing(f"cannot list state directory {visible(self.directory)}"):
            others = sorted(set(os.listdir(self._dir_fd)) - _LEFTOVERS)
        if others:
            shown = ", ".join(visible(n) for n in others[:3]) + (", ..." if len(others) > 3 else "")
            raise StoreError(f"{visible(self.directory)} is not empty ({shown}) and holds no acceptor "
                             "state; refusing to initialise it; use an empty directory, or --init to start here")

    # --- helpers ---------------------------------------------------------------

    def _exists(self, name: str) -> bool:
        with self._failing(f"cannot read state directory {visible(self.directory)}"):
            try:
                os.stat(name, dir_fd=self._dir_fd)
            except FileNotFoundError:
                return False
        return True

    def _read_optional(self, name: str) -> Optional[bytes]:
        """A small file's bytes, or None when it does not exist."""
        with self._failing(f"cannot read {visible(os.path.join(self.directory, name))}"):
            try:
                fd = os.open(name, os.O_RDONLY, dir_fd=self._dir_fd)
            except FileNotFoundError:
                return None
            try:
                return diskio.read_all(fd, min(os.fstat(fd).st_size, 1 << 20))
            finally:
                os.close(fd)

    def _corrupt(self, path: str, why: str) -> StoreError:
        return StoreError(
            f"state file {visible(path)} is unreadable or corrupt ({why}); refusing to start, since "
            f"starting empty would forget this acceptor's promises; restore it from a backup, or {_INIT_HINT}")

    @contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        """Turn an OSError into a one-line StoreError: what failed and why."""
        try:
            yield
        except OSError as e:
            where = f" ({visible(str(e.filename))})" if e.filename else ""
            raise StoreError(f"{what}: {e.strerror or e}{where}") from None


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
