"""The view's server in its own process, and the shell's handle on it.

Its job: start `python -m paxos_shell.view` (in its own session, so the
terminal's Ctrl-C stays the shell's), give it the token on its stdin (never on
its command line, which other users of the machine can read), learn its port,
then pass it frames. Writing one frame to a pipe is all a command pays: fanning
it out to up to 200 viewers costs the server process, never the shell's
interpreter. `publish` hands the newest frame to a writer thread and returns,
so even a stuck server never blocks a command (frames it could not take are
replaced by newer ones). `close` ends the stream (EOF), then kills the process
if it has not left within STOP_TIMEOUT, and joins both threads.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import IO, Optional

from .server import DRAIN_TIMEOUT, MAX_VIEWERS, STOP_TIMEOUT, new_token

START_TIMEOUT = 15.0
"""A cold interpreter importing asyncio on a loaded machine: generous, and only paid by `view`."""
LINE_LIMIT = 512
LISTENING = "listening"
VIEWERS = "viewers"
ERROR = "error"


def frame_header(size: int) -> bytes:
    """What precedes each frame on the pipe: its length, in decimal, on one line."""
    return b"%d\n" % size


class ServerProcess:
    """Start it, publish frames to it from the shell's thread, close it."""

    def __init__(self, host: str, port: int, max_viewers: int = MAX_VIEWERS,
                 drain_timeout: float = DRAIN_TIMEOUT) -> None:
        self.host, self.port = host, port
        self.max_viewers = max_viewers
        self.drain_timeout = drain_timeout
        self.token = new_token()
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.viewers = 0
        """How many viewers the server has now, as it last reported."""
        self._latest: Optional[bytes] = None
        self._closed = False
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Spawn the server and wait until it listens; OSError with its reason if it cannot."""
        cmd = [sys.executable, "-m", "paxos_shell.view", "--host", self.host, "--port", str(self.port),
               "--max-viewers", str(self.max_viewers), "--drain-timeout", str(self.drain_timeout)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, bufsize=0, start_new_session=True, close_fds=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps({"token": self.token}).encode() + b"\n")
            word, _, rest = _first_line(self.proc.stdout, START_TIMEOUT).partition(" ")
        except (OSError, TimeoutError) as e:
            self._kill()
            raise OSError(f"the live view's server did not start ({e})") from None
        if word != LISTENING or not rest.isdigit():
            self._kill()
            raise OSError(rest if word == ERROR else "the live view's server did not start")
        self.port = int(rest)
        for name, target in (("paxos-view-writer", self._write), ("paxos-view-reader", self._read)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def publish(self, frame: bytes) -> None:
        """Leave the newest frame for the writer thread; returns at once."""
        with self._wake:
            self._latest = frame
            self._wake.notify()

    def _write(self) -> None:
        """The writer thread: the newest frame to the pipe, until close."""
        assert self.proc is not None and self.proc.stdin is not None
        pipe = self.proc.stdin
        try:
            while True:
                with self._wake:
                    while self._latest is None and not self._closed:
                        self._wake.wait()
                    frame, self._latest = self._latest, None
                    if self._closed:
                        return
                assert frame is not None
                pipe.write(frame_header(len(frame)) + frame)
        except OSError:
            return  # the server is gone: nothing more to send
        finally:
            _quietly_close(pipe)

    def _read(self) -> None:
        """The reader thread: the server's reports (how many viewers), until it ends."""
        assert self.proc is not None and self.proc.stdout is not None
        for raw in iter(lambda: self.proc.stdout.readline(LINE_LIMIT), b""):  # type: ignore[union-attr]
            word, _, rest = raw.decode("ascii", "replace").strip().partition(" ")
            if word == VIEWERS and rest.isdigit():
                self.viewers = int(rest)

    def close(self) -> None:
        """End the stream, then the process; join both threads (idempotent)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self.proc is None:
            return
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
        for t in self._threads:
            t.join(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def _kill(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdin is not None:
            _quietly_close(self.proc.stdin)


def _first_line(stream: IO[bytes], timeout: float) -> str:
    """The server's first line, read byte by byte so nothing after it is taken; TimeoutError if late."""
    deadline = time.monotonic() + timeout
    out = b""
    while not out.endswith(b"\n") and len(out) < LINE_LIMIT:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            raise TimeoutError(f"no answer within {timeout:.0f} s")
        byte = os.read(stream.fileno(), 1)
        if not byte:
            break
        out += byte
    return out.decode("ascii", "replace").strip()


def _quietly_close(pipe: IO[bytes]) -> None:
    try:
        pipe.close()
    except OSError:
        pass  # the other end left first
