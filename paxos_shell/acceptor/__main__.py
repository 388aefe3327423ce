"""`paxos-acceptor`: serve one acceptor of a pool in the paxos-server layout."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Optional, Sequence

from ..dirs import data_dir
from .faults import Faults
from .node import AcceptorNode
from .server import AcceptorServer
from .store import Store, StoreError

LAYOUT_BASE = 8080
"""paxos-server layout: acceptor i listens on port 8080 + i."""


def _peer(text: str) -> tuple[int, str]:
    key, sep, url = text.partition("=")
    if not sep or not key.isdigit() or not url.startswith("http"):
        raise argparse.ArgumentTypeError(f"expected ID=URL, got {text!r}")
    return int(key), url.rstrip("/")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="paxos-acceptor",
        description="A durable Paxos acceptor speaking the paxos-server REST API.",
    )
    p.add_argument("--id", type=int, required=True, help="this acceptor's id, 1..N")
    p.add_argument("--count", type=int, default=None, help="pool size N (finds peers on ports 8080+j)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=None, help="port (default 8080 + id)")
    p.add_argument("--data-dir", default=None, help="state directory root (default $PAXOS_DATA_DIR or XDG data dir)")
    p.add_argument("--peer", type=_peer, action="append", default=[], metavar="ID=URL",
                   help="a peer's base URL for the broadcast endpoints (repeatable; replaces the layout)")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    p.add_argument("--volatile", action="store_true", help="UNSAFE: keep state in memory only (for the amnesia lesson)")
    p.add_argument("--faults", action="store_true", help="enable the loopback-only fault injection endpoint")
    p.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.id < 1:
        p.error("--id must be 1 or more")
    if args.count is not None and not args.id <= args.count:
        p.error("--id must be within 1..--count")
    return args


def _watch_parent(pid: int) -> None:
    """Exit when the process that started us is gone, even by SIGKILL."""
    while os.getppid() == pid:
        time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    host = args.host
    port = args.port if args.port is not None else LAYOUT_BASE + args.id
    if args.peer:
        peers = dict(args.peer)
    else:
        count = args.count or args.id
        peers = {j: f"http://{host}:{LAYOUT_BASE + j}" for j in range(1, count + 1) if j != args.id}

    root = args.data_dir or data_dir()
    store = Store(os.path.join(root, f"acceptor-{args.id}"), durable=not args.volatile)
    try:
        state = store.open()
    except StoreError as e:
        print(f"paxos-acceptor {args.id}: {e}", file=sys.stderr)
        return 1

    def log(line: str) -> None:
        sys.stderr.write(f"[acceptor {args.id}] {line}\n")
        sys.stderr.flush()

    node = AcceptorNode(args.id, store, state)
    try:
        server = AcceptorServer((host, port), node, peers, Faults() if args.faults else None,
                                None if args.quiet else log)
    except OSError as e:
        print(f"paxos-acceptor {args.id}: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        store.close()
        return 1

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    mode = ("VOLATILE: state in memory only, UNSAFE - a restart forgets every promise"
            if args.volatile else f"state in {store.directory}")
    print(
        f"paxos-acceptor {args.id} listening on http://{host}:{server.server_address[1]}, {mode}, "
        f"promisedId={state.promised_id} acceptedId={state.accepted_id}",
        file=sys.stderr, flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
