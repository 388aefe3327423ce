"""The view's server in its own process, and the shell's handle on it.

Its job: start `python -m paxos_shell.view` (in its own session, so the
terminal's Ctrl-C stays the shell's), give it the token on its stdin (never on
its command line, which other users of the machine can read), learn its port,
then pass it frames. One write to a pipe is all a command pays: fanning a frame
out to up to 200 viewers costs the server process, never the shell's
interpreter. The pipe is non-blocking and large (PIPE_SIZE), so `publish`
never waits; when it is full (a huge frame, or a server that fell behind), a
flusher thread finishes the frame and then sends only the newest one published
meanwhile. `close` ends the stream (EOF), then kills the process if it has not
left within STOP_TIMEOUT.
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

from paxos_shell.runtime import signals
from paxos_shell.view.server import DRAIN_TIMEOUT, MAX_VIEWERS, STOP_TIMEOUT, new_token

FLUSH_WAIT = 0.5
"""How long the flusher waits for room in the pipe before looking again (and at `close`)."""
PIPE_SIZE = 1024 * 1024
"""Linux's default limit for an unprivileged pipe: some 130 snapshots of a pool of three."""
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
        self._lock = threading.Lock()
        self._flush = threading.Condition(self._lock)
        self._backlog: Optional[bytes] = None
        """What the pipe did not take (the rest of a frame): the flusher's, sent before anything else."""
        self._newest: Optional[bytes] = None
        """The newest frame published while there was a backlog; older ones are dropped."""
        self._closing = False
        self._reader: Optional[threading.Thread] = None
        self._flusher: Optional[threading.Thread] = None

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
        _enlarge(self.proc.stdin)
        os.set_blocking(self.proc.stdin.fileno(), False)
        self._reader = threading.Thread(target=self._read, name="paxos-view-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def publish(self, frame: bytes) -> None:
        """Write the frame to the server's pipe if it takes it now; else leave it to the flusher."""
        data = frame_header(len(frame)) + frame
        with self._lock:
            if self._closing or self.proc is None or self.proc.stdin is None:
                return
            if self._backlog is not None:  # the flusher owns the pipe: it sends the newest frame next
                self._newest = data
                return
            left = self._write(data)
            if left:
                self._backlog, self._newest = left, None
                self._flush.notify()
                self._start_flusher()

    def _write(self, data: bytes) -> bytes:
        """The part of `data` the pipe did not take, without waiting."""
        assert self.proc is not None and self.proc.stdin is not None
        try:
            n = os.write(self.proc.stdin.fileno(), data)
        except BlockingIOError:
            return data
        except OSError:
            return b""  # the server is gone; `alive` says so
        return data[n:]

    def _start_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flushing, name="paxos-view-flusher", daemon=True)
            self._flusher.start()

    def _flushing(self) -> None:
        """The flusher thread, woken only when the pipe was full: the rest of a frame, then the newest."""
        signals.main_thread_only()
        assert self.proc is not None and self.proc.stdin is not None
        fd = self.proc.stdin.fileno()
        with self._lock:
            while not self._closing:
                if self._backlog is None:
                    self._flush.wait()
                    continue
                data = self._backlog
                self._lock.release()
                try:
                    select.select([], [fd], [], FLUSH_WAIT)  # until the server has read some
                finally:
                    self._lock.acquire()
                left = self._write(data) if not self._closing else b""
                self._backlog = left or self._newest
                if not left:
                    self._newest = None

    def _read(self) -> None:
        """The reader thread: the server's reports (how many viewers), until it ends."""
        signals.main_thread_only()
        assert self.proc is not None and self.proc.stdout is not None
        for raw in iter(lambda: self.proc.stdout.readline(LINE_LIMIT), b""):  # type: ignore[union-attr]  # asserted above
            word, _, rest = raw.decode("ascii", "replace").strip().partition(" ")
            if word == VIEWERS and rest.isdigit():
                self.viewers = int(rest)

    def close(self) -> None:
        """End the stream (the server leaves at its end), then the process; join the threads."""
        with self._lock:
            self._closing = True
            self._flush.notify()
        if self._flusher is not None:
            self._flusher.join(STOP_TIMEOUT)
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            _quietly_close(self.proc.stdin)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT)
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


def _enlarge(pipe: IO[bytes]) -> None:
    """Ask for a larger pipe buffer (Linux); the default 64 KiB also works, with more skipping."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (ImportError, OSError):
        pass


def _quietly_close(pipe: IO[bytes]) -> None:
    try:
        pipe.close()
    except OSError:
        pass  # the other end left first
