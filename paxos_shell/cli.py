"""`paxos-shell`: parse arguments, build the pool, pick the mode, return an exit code.

Modes: a terminal gets the REPL; `-c` runs commands; a file argument runs a
script; piped stdin runs line by line. Exit code 0 when every command ran
(and every propose reached consensus), 1 when one failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Optional, Sequence

from .dirs import config_dir
from .pool import LocalPool, Pool, PoolError, PoolUsageError, layout, parse_url_option

USAGE_ERROR = 2
CONFIG_KEYS = {"server-count", "host", "base-port", "url", "timeout", "format", "local", "data-dir", "proposer-number"}


class ConfigError(Exception):
    pass


def read_config(path: str) -> dict[str, list[str]]:
    """`key = value` lines, `#` comments; `url` may repeat. Missing file: no settings."""
    settings: dict[str, list[str]] = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return settings
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    for no, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or key not in CONFIG_KEYS:
            raise ConfigError(f"{path}:{no}: expected one of {', '.join(sorted(CONFIG_KEYS))} = VALUE")
        settings.setdefault(key, []).append(value.strip())
    return settings


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paxos-shell",
        description="Drive single-decree Paxos by hand. With no pool options, starts a local pool of 3 acceptors.",
        epilog="Examples: paxos-shell | paxos-shell --server-count 3 | paxos-shell -c 'prepare 7 1 2' -c state "
               "| paxos-shell lesson.txt | echo state | paxos-shell --json",
    )
    p.add_argument("script", nargs="?", help="a file of commands to run (# starts a comment)")
    p.add_argument("-c", "--command", action="append", dest="commands", metavar="CMD",
                   help="run CMD and exit (repeatable)")
    p.add_argument("--json", action="store_true", help="each command prints one JSON object")
    g = p.add_argument_group("pool")
    g.add_argument("--server-count", type=int, help="a pool of N in the paxos-server layout (no local pool)")
    g.add_argument("--host", help="host of the paxos-server layout (default localhost)")
    g.add_argument("--base-port", type=int, help="port of acceptor 1 (default 8081); acceptor i is at P + i - 1")
    g.add_argument("--url", action="append", metavar="ID=URL",
                   help="an acceptor's URL (repeatable; these alone make the pool)")
    g.add_argument("--local", type=int, metavar="N", help="start a local pool of N acceptors (1-99, default 3)")
    g.add_argument("--data-dir", help="keep the local pool's state here (default: a temporary directory)")
    g.add_argument("--timeout", type=float, help="seconds a round waits (default 1.0)")
    g.add_argument("--proposer-number", type=int, metavar="P",
                   help="0-99: this shell picks only ids ending in P (mod 100), so two shells never collide")
    g.add_argument("--config", help="config file (default: $XDG_CONFIG_HOME/paxos-shell/config)")
    return p


def _one(cfg: dict[str, list[str]], key: str) -> Optional[str]:
    return cfg[key][-1] if key in cfg else None


def build_pool(args: argparse.Namespace, cfg: dict[str, list[str]], announce: bool) -> Pool:
    urls_opt = args.url or cfg.get("url")
    count = args.server_count if args.server_count is not None else _opt_int(_one(cfg, "server-count"), "server-count")
    if args.local is not None and (args.url or args.server_count is not None):
        raise PoolUsageError("--local cannot be combined with --url or --server-count")
    if urls_opt and args.local is None:
        urls = dict(parse_url_option(u) for u in urls_opt)
        return Pool(dict(sorted(urls.items())), f"Pool of {len(urls)} given by URL")
    if count is not None and args.local is None:
        host = args.host or _one(cfg, "host") or "localhost"
        base = args.base_port if args.base_port is not None else _opt_int(_one(cfg, "base-port"), "base-port") or 8081
        urls = layout(count, host, base)
        return Pool(urls, f"Pool of {count} in the paxos-server layout on {host}:{base}..{base + count - 1}")
    n = args.local if args.local is not None else _opt_int(_one(cfg, "local"), "local") or 3
    data = args.data_dir or _one(cfg, "data-dir")
    local = LocalPool(n, data)
    try:
        local.start(wait=False)  # main() waits for them after importing the shell
    except BaseException:
        local.close()
        raise
    where = local.data_dir if data else f"{local.data_dir} (removed at exit; --data-dir DIR keeps it)"
    ports = [m.port for m in local.members.values()]
    span = f"{ports[0]}..{ports[-1]}" if ports == list(range(ports[0], ports[0] + n)) else ", ".join(map(str, ports))
    desc = f"Local pool of {n} acceptor{'s' if n > 1 else ''} on {local.host} port{'s' if n > 1 else ''} {span}"
    if announce:
        print(f"{desc}, state in {where}. Use --local N for another size, --server-count N for an existing pool.",
              file=sys.stderr, flush=True)
    return Pool(local.urls, desc + f", state in {local.data_dir}", local)


def _opt_int(text: Optional[str], key: str) -> Optional[int]:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"config: {key} must be a whole number, got {text!r}") from None


def _on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = read_config(args.config or os.path.join(config_dir(), "config"))
        timeout = args.timeout if args.timeout is not None else float(_one(cfg, "timeout") or 1.0)
        fmt = "json" if args.json else _one(cfg, "format") or "table"
        number = args.proposer_number if args.proposer_number is not None else _opt_int(
            _one(cfg, "proposer-number"), "proposer-number")
    except (ConfigError, ValueError) as e:
        print(f"paxos-shell: {e}", file=sys.stderr)
        return USAGE_ERROR
    if not 0.05 <= timeout <= 60:
        parser.error("--timeout must be between 0.05 and 60 seconds")
    if fmt not in ("table", "plain", "json"):
        parser.error(f"format must be table, plain or json, not {fmt!r}")
    if number is not None and not 0 <= number <= 99:
        parser.error("--proposer-number must be 0 to 99")
    if args.commands and args.script:
        parser.error("give either -c commands or a script file, not both")
    script_lines = None
    if args.script:
        try:
            with open(args.script, encoding="utf-8") as f:
                script_lines = f.read().splitlines()
        except OSError as e:
            print(f"paxos-shell: cannot read {args.script}: {e.strerror}", file=sys.stderr)
            return USAGE_ERROR

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    interactive = not args.commands and script_lines is None and sys.stdin.isatty()
    try:
        pool = build_pool(args, cfg, announce=True)
    except (PoolError, ConfigError) as e:
        print(f"paxos-shell: {e}", file=sys.stderr)
        return USAGE_ERROR if isinstance(e, (ConfigError, PoolUsageError)) else 1

    try:
        from .shell.app import Shell  # imported while the local acceptors start

        if pool.local is not None:
            pool.local.wait_started()
        shell = Shell(pool, timeout, fmt, number)
    except BaseException as e:
        pool.close()
        if isinstance(e, PoolError):
            print(f"paxos-shell: {e}", file=sys.stderr)
            return 1
        raise
    try:
        if args.commands:
            return shell.run_lines(args.commands)
        if script_lines is not None:
            return shell.run_lines(script_lines, echo=True)
        if not interactive:
            return shell.run_lines(sys.stdin)
        return shell.repl()
    finally:
        shell.close()


if __name__ == "__main__":
    sys.exit(main())
