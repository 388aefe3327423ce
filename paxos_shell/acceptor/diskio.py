"""Exact and durable file operations for the store: every byte written, or OSError.

`os.write` may write fewer bytes than asked (a file-size limit, a full disk, a
signal) and says so only in its return value; these helpers loop until every
byte is written and raise OSError otherwise, so a caller never mistakes a cut-off
write for a whole one. They also encode which fsyncs make a change survive a
crash. They decide nothing about what is written or when; that is store.py's job.
"""

from __future__ import annotations

import errno
import os
from typing import Callable, Optional

TMP = ".tmp"
"""Suffix of the temporary file an atomic replacement writes first."""

datasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)
"""Flush a file's data (and only the metadata needed to read it back)."""


def write_all(fd: int, data: bytes, offset: Optional[int] = None) -> None:
    """Write every byte of `data` (at `offset`, or at the file position), or raise OSError."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        if offset is None:
            n = os.write(fd, view[done:])
        else:
            n = os.pwrite(fd, view[done:], offset + done)
        if n <= 0:
            raise OSError(errno.EIO, f"write made no progress after {done} of {len(view)} bytes")
        done += n


def read_all(fd: int, size: int) -> bytes:
    """The first `size` bytes of the file; OSError if it is shorter."""
    parts = []
    done = 0
    while done < size:
        chunk = os.pread(fd, size - done, done)
        if not chunk:
            raise OSError(errno.EIO, f"file ended after {done} of {size} bytes")
        parts.append(chunk)
        done += len(chunk)
    return b"".join(parts)


def replace_file(dir_fd: int, name: str, data: bytes) -> None:
    """Make `name` in the directory hold exactly `data`, atomically and durably.

    Temp file, fsync, rename over `name`, fsync of the directory: a crash at any
    instant leaves the old file or the new one, and once this returns the new one
    survives. A failure leaves the old file untouched and raises OSError.
    """
    tmp = name + TMP
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=dir_fd)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except OSError:
        os.close(fd)
        _unlink_quietly(tmp, dir_fd)
        raise
    os.close(fd)
    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    os.fsync(dir_fd)


def create_file(dir_fd: int, name: str, data: bytes) -> int:
    """Create `name` holding `data` in preallocated blocks, durably; return it open read-write.

    Built under a temporary name and renamed into place, so `name` never exists
    half-written. The blocks are reserved (posix_fallocate) and then written, so
    later writes inside the file never need a new block or change its size: a
    full disk or a file-size limit is met here, once, not at a later save.
    """
    tmp = name + TMP
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=dir_fd)
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, len(data))
        write_all(fd, data, 0)
        os.fsync(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
    except OSError:
        os.close(fd)
        _unlink_quietly(tmp, dir_fd)
        raise
    return fd


def listed_inode(directory: str, name: str) -> Optional[int]:
    """The inode `directory`'s listing gives for `name` (None: not listed; OSError if the
    directory cannot be read).

    Read from the listing, not by stat: a stat of the file between saves made each save's
    fdatasync 40 us slower on Linux 6.18 (most likely multigrain timestamps: asked-for times
    are updated by the next write); the listing costs a few (docs/performance.md#store).
    """
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name == name:
                return entry.inode()
    return None


def make_dirs(path: str) -> None:
    """Create `path` and any missing parents, each made durable by an fsync of its parent,
    so a crash cannot take away a directory that has held acknowledged state."""
    missing = []
    d = os.path.abspath(path)
    while not os.path.isdir(d) and d != os.path.dirname(d):
        missing.append(d)
        d = os.path.dirname(d)
    for d in reversed(missing):
        os.mkdir(d)
        parent = os.open(os.path.dirname(d), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(parent)
        finally:
            os.close(parent)


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass  # the original error is the one worth reporting
