"""`paxos-acceptor`: serve one acceptor of a pool in the paxos-server layout.

Works out the acceptor's port and its peers (the layout, a base port, its own port,
or explicit --peer URLs), opens its store, binds its socket (or takes one a parent
bound, --listen-fd) and serves until SIGTERM or Ctrl-C. Everything it says goes
through its RequestLog (stderr, or --log-file, rotated), which never raises. Every
start-up failure is one line on stderr (or the log file): exit 2 for a wrong
command line, 1 for anything else; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import ssl
import sys
import threading
import time
from typing import NoReturn, Optional, Sequence

from paxos_shell import __version__
from paxos_shell.acceptor.broadcast import PEER_TIMEOUT
from paxos_shell.acceptor.faults import Faults
from paxos_shell.acceptor.limits import HEAD_TIMEOUT, MAX_CONNECTIONS, Limits, fd_budget, raise_nofile
from paxos_shell.acceptor.node import AcceptorNode
from paxos_shell.acceptor.requestlog import LOG_MAX_BYTES, RequestLog
from paxos_shell.acceptor.server import AcceptorServer, tls_context
from paxos_shell.acceptor.store import Store, StoreError
from paxos_shell.core.text import visible
from paxos_shell.pool.layout import BASE_PORT, listening_socket, parse_id_url, port_of
from paxos_shell.runtime.dirs import data_dir

PROG = "paxos-acceptor"


class StartupError(Exception):
    """Why the acceptor cannot start, in one line."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the usage block: the message says what to change."""
        self.exit(2, f"{PROG}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return int(text)


def _peer(text: str) -> tuple[int, str]:
    try:
        return parse_id_url(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> Parser:
    p = Parser(prog=PROG, description="A durable Paxos acceptor speaking the paxos-server REST API.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    p.add_argument("--id", type=int, required=True, help="this acceptor's id, 1..N")
    p.add_argument("--count", type=int, default=None, help="pool size N (default: this id)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=_port, default=None,
                   help="port (default: the layout's, 8080 + id; 0 picks a free port and prints it)")
    p.add_argument("--base-port", type=_port, default=None, metavar="P",
                   help="pool layout: acceptor j on port P + j - 1 (this one included, unless --port)")
    p.add_argument("--peer", type=_peer, action="append", default=[], metavar="ID=URL",
                   help="a peer's base URL for the broadcast endpoints (repeatable; replaces the layout)")
    p.add_argument("--peer-timeout", type=_seconds, default=None, metavar="S",
                   help=f"seconds a broadcast waits for each peer (default {PEER_TIMEOUT:g})")
    p.add_argument("--listen-fd", type=int, default=None, metavar="N",
                   help="serve on listening socket N inherited from the parent (instead of --host/--port)")
    p.add_argument("--data-dir", default=None, help="state directory root (default $PAXOS_DATA_DIR or XDG data dir)")
    p.add_argument("--init", action="store_true", help="start empty on purpose, in a new or wiped state directory")
    p.add_argument("--volatile", action="store_true", help="UNSAFE: keep state in memory only (for the amnesia lesson)")
    p.add_argument("--tls-cert", default=None, metavar="FILE", help="serve HTTPS with this certificate chain (PEM)")
    p.add_argument("--tls-key", default=None, metavar="FILE", help="the private key for --tls-cert (PEM)")
    p.add_argument("--max-connections", type=_count, default=None, metavar="N",
                   help=f"client connections held at most (default {MAX_CONNECTIONS}, or fewer if the "
                        "file limit is lower)")
    p.add_argument("--head-timeout", type=_seconds, default=None, metavar="S",
                   help=f"seconds a client has to send a whole request (default {HEAD_TIMEOUT:g})")
    p.add_argument("--faults", action="store_true", help="enable the loopback-only fault injection endpoint")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    p.add_argument("--log-file", default=None, metavar="FILE",
                   help="append stdout and stderr to FILE, rotated to FILE.1 at --log-max-bytes")
    p.add_argument("--log-max-bytes", type=_count, default=LOG_MAX_BYTES, metavar="N",
                   help=f"size at which --log-file is rotated (default {LOG_MAX_BYTES}: at most twice that kept)")
    p.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    return p


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = build_parser()
    args = p.parse_args(argv)
    if args.id < 1:
        p.error("--id must be 1 or more")
    if args.count is not None and not args.id <= args.count:
        p.error("--id must be within 1..--count")
    if args.listen_fd is not None and args.port is not None:
        p.error("--listen-fd and --port both name the socket: give one")
    if (args.tls_cert is None) != (args.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    try:
        args.peers = peers_of(args, own_port(args))
    except ValueError as e:
        p.error(str(e))
    return args


def own_port(args: argparse.Namespace) -> Optional[int]:
    """The port to bind: --port, else the base port's slot, else the layout's (None: inherited)."""
    if args.listen_fd is not None:
        return None
    if args.port is not None:
        return int(args.port)
    return port_of(args.id, args.base_port if args.base_port is not None else BASE_PORT)


def peers_of(args: argparse.Namespace, port: Optional[int]) -> dict[int, str]:
    """Explicit --peer URLs, else the pool laid out from --base-port, else from this acceptor's
    own port (own port - id + j); with port 0 or an inherited socket there is no layout."""
    if args.peer:
        return dict(args.peer)
    count = args.count or args.id
    if args.base_port is not None:
        base = args.base_port
    elif port:
        base = port - args.id + 1
    else:
        return {}
    if not 1 <= base or base + count - 1 > 65535:
        raise ValueError(f"a pool of {count} from port {base} does not fit in 1..65535; give --base-port or --peer")
    scheme = "https" if args.tls_cert else "http"
    host = _reachable(args.host)
    return {j: f"{scheme}://{host}:{port_of(j, base)}" for j in range(1, count + 1) if j != args.id}


def _reachable(host: str) -> str:
    """Where peers on this machine are reached when we bind `host` (a wildcard is not an address)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _watch_parent(pid: int) -> None:
    """Exit when the process that started us is gone, even by SIGKILL."""
    while os.getppid() == pid:
        time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGTERM)


def _listener(args: argparse.Namespace, port: Optional[int]) -> socket.socket:
    if args.listen_fd is not None:
        try:
            sock = socket.socket(fileno=args.listen_fd)
        except OSError as e:
            raise StartupError(f"--listen-fd {args.listen_fd} is not a socket: {e.strerror or e}") from None
        if sock.type != socket.SOCK_STREAM or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0:
            raise StartupError(f"--listen-fd {args.listen_fd} is not a listening TCP socket")
        return sock
    assert port is not None
    try:
        return listening_socket(args.host, port)
    except (OSError, OverflowError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise StartupError(f"cannot listen on {args.host}:{port}: {reason}") from None


def _limits(args: argparse.Namespace) -> Limits:
    budget = fd_budget(raise_nofile(), args.max_connections or MAX_CONNECTIONS)
    return Limits(max_connections=budget.connections, peer_calls=budget.peer_calls,
                  head_timeout=args.head_timeout or HEAD_TIMEOUT)


def _open_store(args: argparse.Namespace) -> tuple[Store, AcceptorNode]:
    root = args.data_dir or data_dir()
    store = Store(os.path.join(root, f"acceptor-{args.id}"), durable=not args.volatile, acceptor_id=args.id)
    try:
        state = store.open(init=True) if args.init else store.open()
    except StoreError as e:  # open() turned any OSError into one and closed the store
        raise StartupError(str(e)) from None
    return store, AcceptorNode(args.id, store, state)


def start(args: argparse.Namespace, log: RequestLog) -> tuple[AcceptorServer, Store]:
    """Everything up to serving: the store, the socket, TLS and limits; StartupError if not."""
    tls = None
    if args.tls_cert:
        try:
            tls = tls_context(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            raise StartupError(f"cannot use --tls-cert/--tls-key: {getattr(e, 'strerror', None) or e}") from None
    store, node = _open_store(args)
    try:
        sock = _listener(args, own_port(args))
        server = AcceptorServer(None, node, args.peers, Faults() if args.faults else None,
                                None if args.quiet else log, sock=sock,
                                tls=tls, limits=_limits(args), peer_timeout=args.peer_timeout or PEER_TIMEOUT)
    except BaseException:
        store.close()
        raise
    return server, store


def open_log(args: argparse.Namespace) -> RequestLog:
    """stderr, or --log-file as stdout and stderr; StartupError if that file cannot be opened."""
    prefix = f"[acceptor {args.id}] "
    if args.log_file is None:
        return RequestLog(prefix)
    try:
        return RequestLog.to_file(prefix, args.log_file, args.log_max_bytes)
    except OSError as e:
        raise StartupError(f"cannot open --log-file {visible(args.log_file)}: {e.strerror or e}") from None


def banner(args: argparse.Namespace, server: AcceptorServer, store: Store) -> str:
    host, port = server.server_address
    scheme = "https" if server.tls is not None else "http"
    where = f"[{host}]" if ":" in host else host
    state = server.node.snapshot()
    mode = ("VOLATILE: state in memory only, UNSAFE - a restart forgets every promise"
            if args.volatile else f"state in {store.directory}")
    return (f"{PROG} {args.id} listening on {scheme}://{where}:{port}, {mode}, "
            f"promisedId={state['promisedId']} acceptedId={state['acceptedId']}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    serving: list[AcceptorServer] = []
    stopped: list[int] = []

    def stop(signum: int, frame: object) -> None:
        """SIGTERM or Ctrl-C before the event loop takes them over: a clean exit, no traceback."""
        stopped.append(signum)
        for server in serving:
            server.request_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    try:
        log = open_log(args)
        server, store = start(args, log)
    except StartupError as e:
        RequestLog("").say(f"{PROG} {args.id}: {e}")
        return 1
    serving.append(server)
    if stopped:
        server.request_stop()
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    if store.recovered:
        log.say(f"{PROG} {args.id}: state file {visible(store.path)}: {store.recovered}")
    log.say(banner(args, server, store))
    try:
        server.serve_forever(stop_signals=(signal.SIGTERM, signal.SIGINT))
    finally:
        server.server_close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
