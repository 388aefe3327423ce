"""Why the client uses http.client: per-request cost against requests.Session, same acceptor, same run.

Run: python bench/transport_bench.py   (needs `pip install requests` for the comparison)
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time

from common import HOST, acceptors, fmt, summary


def main(n: int = 2000) -> None:
    try:
        import requests
    except ImportError:
        print("requests is not installed: nothing to compare against")
        return
    with acceptors(1) as procs:
        port = procs[0][0]
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        sess = requests.Session()

        def stdlib() -> None:
            conn.request("GET", "/api/paxos/state")
            conn.getresponse().read()

        def reqs() -> None:
            sess.get(f"http://{HOST}:{port}/api/paxos/state", timeout=5).json()

        for name, fn in (("http.client", stdlib), ("requests.Session", reqs)):
            for _ in range(200):
                fn()
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            print(f"GET state over keep-alive, {name:17s} {fmt(summary(times))}")
    for mod in ("http.client", "requests"):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {mod}"], check=True)
        print(f"python -c 'import {mod}': {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
