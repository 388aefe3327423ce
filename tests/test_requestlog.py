"""The acceptor's log: a failing write never costs a reply, lines stay escaped, files stay bounded.

In-process for what one line does; real acceptor processes for a log on /dev/full (a
full disk), for --log-file's rotation, and for the local pool's acceptor-N.log. Every
load is bounded in count; loopback only; every process is stopped by its test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from paxos_shell.acceptor.requestlog import RequestLog
from paxos_shell.pool.local import LocalPool

from .helpers import HOST, Acceptor, free_port
from .helpers.pipeline import HEALTH
from .helpers.rawhttp import get_json, read_until_closed


def test_a_failed_write_loses_that_line_only_and_the_next_line_says_so(tmp_path: Path) -> None:
    full = os.open("/dev/full", os.O_WRONLY)
    log = RequestLog("[acceptor 1] ", full)
    log("127.0.0.1 POST /api/paxos/prepare?id=1 200 granted 0.40ms")  # no exception: the reply stands
    log("127.0.0.1 POST /api/paxos/prepare?id=2 200 granted 0.41ms")
    os.close(full)
    good = tmp_path / "log"
    log.fd = os.open(good, os.O_WRONLY | os.O_CREAT)
    log("127.0.0.1 GET /health 200 0.10ms")
    os.close(log.fd)
    assert good.read_text() == ("[acceptor 1] 2 log lines lost: No space left on device\n"
                                "[acceptor 1] 127.0.0.1 GET /health 200 0.10ms\n")


def test_every_line_is_escaped_whatever_the_caller_passed(tmp_path: Path) -> None:
    path = tmp_path / "log"
    log = RequestLog("[acceptor 1] ", os.open(path, os.O_WRONLY | os.O_CREAT))
    log("127.0.0.1 GET /\x1b]0;pwned\x07\u202e 404 0.10ms")
    os.close(log.fd)
    assert path.read_text() == "[acceptor 1] 127.0.0.1 GET /\\x1b]0;pwned\\x07\\u202e 404 0.10ms\n"


def test_a_log_file_is_rotated_once_full_and_one_old_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "acceptor-1.log"
    log = RequestLog("[acceptor 1] ", os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND), str(path), 1000)
    for n in range(200):
        log(f"127.0.0.1 POST /api/paxos/prepare?id={n} 200 granted")
    os.close(log.fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acceptor-1.log", "acceptor-1.log.1"]
    current, rotated = path.read_text(), Path(f"{path}.1").read_text()
    assert len(rotated) < 1000 + 60 and len(current) < 1000 + 60
    assert current.endswith("id=199 200 granted\n") and rotated.endswith("\n")


def pipelined(port: int, count: int, request: bytes = HEALTH) -> bytes:
    """`count` requests on one connection, then a half-close; every reply read back."""
    with socket.create_connection((HOST, port), timeout=30) as s:
        s.sendall(request * count)
        s.shutdown(socket.SHUT_WR)
        return read_until_closed(s)


@pytest.mark.parametrize("where", ["stderr", "--log-file"])
def test_an_acceptor_logging_to_a_full_disk_answers_every_request(tmp_path: Path, where: str) -> None:
    """/dev/full fails every write with ENOSPC: once the first failed log line dropped the
    pipelined replies behind it (and the banner's killed the acceptor at start-up)."""
    port = free_port()
    extra = ["--log-file", "/dev/full"] if where == "--log-file" else []
    with open("/dev/full", "wb") as full:
        proc = subprocess.Popen([sys.executable, "-m", "paxos_shell.acceptor", "--id", "1", "--port", str(port),
                                 "--data-dir", str(tmp_path), *extra], stdout=full, stderr=full,
                                stdin=subprocess.DEVNULL)
    try:
        Acceptor(1, port, str(tmp_path), proc).wait_healthy()
        assert get_json(port, "GET", "/health") == (200, "UP acceptor 1\n")
        replies = pipelined(port, 300, b"POST /api/paxos/prepare?id=7 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert replies.count(b"HTTP/1.1 200 ") == 300
        assert get_json(port, "GET", "/api/paxos/state")[1]["promisedId"] == 7
    finally:
        proc.kill()
        proc.wait()


def test_an_acceptor_whose_log_nobody_reads_answers_every_request(tmp_path: Path) -> None:
    """stderr a pipe nobody reads (a pager left waiting, `| tee` to a stalled disk; a terminal
    paused with Ctrl-S is the same): once the pipe was full, the next line's write blocked the
    event loop and the acceptor answered nothing more, to anyone."""
    port = free_port()
    reader, writer = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "paxos_shell.acceptor", "--id", "1", "--port", str(port),
                             "--data-dir", str(tmp_path)], stdout=writer, stderr=writer, stdin=subprocess.DEVNULL)
    os.close(writer)
    try:
        Acceptor(1, port, str(tmp_path), proc).wait_healthy()
        assert pipelined(port, 3000).count(b"HTTP/1.1 200 ") == 3000  # about 200 KB of log lines
        assert get_json(port, "GET", "/health") == (200, "UP acceptor 1\n")
        os.set_blocking(reader, False)
        while True:  # the reader catches up...
            try:
                if not os.read(reader, 1 << 16):
                    break
            except BlockingIOError:
                break
        get_json(port, "GET", "/health")  # ...and the next line says what it missed
        os.set_blocking(reader, True)
        said = os.read(reader, 1 << 16).decode()
        assert "log lines lost: the log's reader is not keeping up\n" in said
    finally:
        proc.kill()
        proc.wait()
        os.close(reader)


def test_the_local_pools_log_stays_under_a_mebibyte_per_acceptor(tmp_path: Path) -> None:
    """16,000 requests log about 1.1 MB: acceptor-1.log is rotated to acceptor-1.log.1 at
    512 KiB, and the two together hold at most 1 MiB; the newest line is in acceptor-1.log."""
    pool = LocalPool(1, data_dir=str(tmp_path))
    try:
        pool.start()
        port = pool.members[1].port
        for _ in range(4):
            assert pipelined(port, 4000).count(b"HTTP/1.1 200 ") == 4000
        pipelined(port, 1, b"GET /health\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n")  # refused: a 400
    finally:
        pool.close()
    log, rotated = Path(pool.log_path(1)), Path(pool.log_path(1) + ".1")
    assert log.stat().st_size + rotated.stat().st_size <= 1024 * 1024
    assert rotated.stat().st_size >= 512 * 1024
    assert " - - 400 " in log.read_text() and "\x1b" not in log.read_text()
