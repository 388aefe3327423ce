"""`python -m paxos_shell.view`: the live view's server process, started by the shell (process.py).

Its job: read the token (the first line of stdin, JSON), serve on the host and
port given, say `listening PORT` (or `error REASON`) on stdout, then publish each
frame that arrives on stdin (a length line, then the bytes) until stdin ends,
which is when the shell closes the view or exits, and report `viewers N` on
stdout whenever the number of viewers changes. It has no other input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import BinaryIO, Optional

from paxos_shell.view import assets
from paxos_shell.view.process import ERROR, LINE_LIMIT, LISTENING, VIEWERS
from paxos_shell.view.server import DRAIN_TIMEOUT, MAX_VIEWERS, ViewServer

NICENESS = 10
"""The server yields the processor to the shell and its acceptors: on a busy machine the page may
lag a little, the teacher's commands never."""
MAX_FRAME = 64 * 1024 * 1024
"""A frame is a snapshot (kilobytes); anything this large is not one of ours."""


def read_frame(stream: BinaryIO) -> Optional[bytes]:
    """The next frame, or None at the end of the stream (or on anything malformed)."""
    line = stream.readline(LINE_LIMIT)
    if not line.strip().isdigit() or int(line) > MAX_FRAME:
        return None
    size = int(line)
    data = stream.read(size)
    return data if len(data) == size else None


def say(line: str) -> None:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # the shell has gone; stdin's end will stop this process


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m paxos_shell.view", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--max-viewers", type=int, default=MAX_VIEWERS)
    p.add_argument("--drain-timeout", type=float, default=DRAIN_TIMEOUT)
    args = p.parse_args(argv)
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):
        pass  # no nice here: the server runs at the shell's priority
    stdin = sys.stdin.buffer
    try:
        token = str(json.loads(stdin.readline(LINE_LIMIT))["token"])
    except (ValueError, KeyError, TypeError):
        say(f"{ERROR} no token on stdin")
        return 2
    server = ViewServer(args.host, args.port, assets.load(), args.max_viewers, token, args.drain_timeout,
                        on_viewers=lambda n: say(f"{VIEWERS} {n}"))
    try:
        server.start()
    except OSError as e:
        say(f"{ERROR} {e.strerror or e}")
        return 1
    say(f"{LISTENING} {server.port}")
    try:
        frame = read_frame(stdin)
        while frame is not None:
            server.publish(frame)
            frame = read_frame(stdin)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
