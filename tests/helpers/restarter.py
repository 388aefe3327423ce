"""A restart command for the audit's durability tests: kill -9 the acceptor, start it again.

    python tests/helpers/restarter.py PIDFILE PORT -- COMMAND...

Kills the process whose pid PIDFILE holds with SIGKILL (if any), waits until PORT refuses
connections (its listening socket is gone), starts COMMAND detached with its output in
PIDFILE.log, and writes the new pid to PIDFILE; it returns at once (the audit waits for /health).
A test starts its acceptor with this too, and at its end kills the pid in PIDFILE.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time


def gone(port: int, wait: float = 5.0) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return
        time.sleep(0.01)


def main(argv: list[str]) -> int:
    pidfile, port, rest = argv[0], int(argv[1]), argv[argv.index("--") + 1:]
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            try:
                os.kill(int(f.read()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        gone(port)
    with open(pidfile + ".log", "ab") as log:
        proc = subprocess.Popen(rest, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(proc.pid))
    os.replace(pidfile + ".tmp", pidfile)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
