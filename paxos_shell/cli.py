"""`paxos-shell`: parse arguments, build the pool, pick the mode, return an exit code.

Modes: a terminal gets the REPL; `-c` runs commands; a file argument runs a
script; piped stdin runs line by line. The config file's settings are turned
into options placed before the command line's (httpie's default_options), so
argparse does all the merging and a setting given both ways has one meaning.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Callable, NoReturn, Optional, Sequence, TypeVar

from paxos_shell import __version__
from paxos_shell.config import ConfigError, config_argv, read_config
from paxos_shell.core.errors import ExitStatus, InvocationError, UserError, exit_status
from paxos_shell.core.options import BadValue, parse_format, parse_int, parse_proposer_number, parse_timeout
from paxos_shell.core.text import span, visible
from paxos_shell.core.urls import redacted
from paxos_shell.net.clientopts import ClientOptions, parse_auth, parse_header
from paxos_shell.pool.local import LAYOUT_BASE_PORT, LocalPool, Pool, PoolUsageError, layout, parse_url_option
from paxos_shell.runtime import signals
from paxos_shell.runtime.dirs import config_dir

if TYPE_CHECKING:
    from paxos_shell.shell.app import Shell

POOL_OPTIONS = ("server_count", "url", "local")
T = TypeVar("T")


def build_parser(kind: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = kind(
        prog="paxos-shell",
        description="Drive single-decree Paxos by hand. With no pool options, starts a local pool of 3 acceptors.",
        epilog="Examples: paxos-shell | paxos-shell --server-count 3 | paxos-shell -c 'prepare 7 1 2' -c state "
               "| paxos-shell lesson.txt | echo state | paxos-shell --json",
    )
    p.add_argument("script", nargs="?", help="a file of commands to run (# starts a comment)")
    p.add_argument("-c", "--command", action="append", dest="commands", metavar="CMD",
                   help="run CMD and exit (repeatable)")
    p.add_argument("--json", action="store_true", help="each command prints one JSON object")
    p.add_argument("--format", type=_checked(parse_format), help="table (default), plain or json")
    p.add_argument("--present", action="store_true",
                   help="presenter mode for a projector: spacing, no latencies, a pause and an explanation per round")
    p.add_argument("--version", action="version", version=f"paxos-shell {__version__}")
    p.add_argument("--view", action="store_true",
                   help="start the live view of the pool in a browser first (the 'view' command)")
    p.add_argument("--watch", action="store_true",
                   help="start recording proxies in front of the acceptors first (the 'watch' command)")
    g = p.add_argument_group("pool")
    g.add_argument("--server-count", type=_whole("server count"),
                   help="a pool of N in the paxos-server layout (no local pool)")
    g.add_argument("--host", help="host of the paxos-server layout (default localhost)")
    g.add_argument("--base-port", type=_whole("base port"),
                   help=f"port of acceptor 1 (default {LAYOUT_BASE_PORT}); acceptor i is at P + i - 1; "
                        "with the local pool, where it listens")
    g.add_argument("--url", action="append", metavar="ID=URL",
                   help="an acceptor's URL (repeatable; these alone make the pool)")
    g.add_argument("--local", type=_whole("local pool size"), metavar="N",
                   help="start a local pool of N acceptors (1-99, default 3)")
    g.add_argument("--data-dir", help="keep the local pool's state here (default: a temporary directory)")
    g.add_argument("--timeout", type=_checked(parse_timeout), help="seconds a round waits (default 1.0)")
    g.add_argument("--proposer-number", type=_checked(parse_proposer_number), metavar="P",
                   help="0-99: this shell picks only ids ending in P (mod 100), so two shells never collide")
    g.add_argument("--config", help="config file (default: $XDG_CONFIG_HOME/paxos-shell/config)")
    n = p.add_argument_group("remote acceptors")
    n.add_argument("--ca-bundle", metavar="FILE", help="verify https acceptors against these CA certificates")
    n.add_argument("--insecure", action="store_true", help="do not verify certificates (said in the banner)")
    n.add_argument("--header", action="append", metavar="'NAME: VALUE'", type=_checked(_header),
                   help="send this header with every request (repeatable)")
    n.add_argument("--auth", metavar="USER:PASSWORD", type=_checked(_auth), help="HTTP Basic credentials")
    n.add_argument("--no-proxy", action="store_true",
                   help="ignore HTTP_PROXY/HTTPS_PROXY (loopback acceptors never use one)")
    return p


def _header(text: str) -> tuple[str, str]:
    try:
        return parse_header(text)
    except ValueError as e:
        raise BadValue(str(e)) from None


def _auth(text: str) -> tuple[str, str]:
    try:
        return parse_auth(text)
    except ValueError as e:
        raise BadValue(str(e)) from None


def client_options(args: argparse.Namespace) -> ClientOptions:
    """The options of the connection to the acceptors; a usage error if they do not hold together."""
    opts = ClientOptions(args.ca_bundle, args.insecure, tuple(args.header or ()), args.auth, args.no_proxy)
    try:
        opts.check()
    except ValueError as e:
        raise InvocationError(str(e)) from None
    return opts


def _whole(what: str) -> Callable[[str], int]:
    """An argparse type for a count or port: a whole number from 1 (pool/local.py checks the top)."""
    return _checked(lambda raw: parse_int(raw, what, 1))


def _checked(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from one of options.py's parsers: its sentence becomes argparse's."""
    def convert(raw: str) -> T:
        try:
            return parse(raw)
        except BadValue as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return convert


class _Strict(argparse.ArgumentParser):
    """Raises instead of exiting, so a bad config value can be reported as the config's."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line, with the config file's settings as defaults it can override."""
    parser = build_parser()
    first = parser.parse_args(argv)
    path = first.config or os.path.join(config_dir(), "config")
    try:
        user_pool = any(getattr(first, k) is not None for k in POOL_OPTIONS)
        defaults = config_argv(read_config(path), skip_pool=user_pool, given=first)
        strict = build_parser(_Strict)
        _check_combinations(strict, strict.parse_args(defaults))  # the file's own, said as the file's
    except ConfigError as e:
        parser.exit(ExitStatus.USAGE, visible(f"paxos-shell: config {path}: {e}") + "\n")
    args = parser.parse_args(defaults + list(argv))
    _check_combinations(parser, args)
    return args


def _check_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.commands and args.script:
        parser.error("give either -c commands or a script file, not both")
    if args.local is not None and (args.url or args.server_count is not None):
        parser.error("--local cannot be combined with --url or --server-count")
    if args.url and args.server_count is not None:
        parser.error("--server-count cannot be combined with --url (the URLs make the pool)")
    if args.url and (args.host is not None or args.base_port is not None):
        parser.error("--host and --base-port do not apply to --url (each URL says where its acceptor is)")
    if args.host is not None and not args.url and args.server_count is None:
        parser.error("--host goes with --server-count (the local pool listens on 127.0.0.1 only)")


def build_pool(args: argparse.Namespace, announce: bool) -> Pool:
    if args.url:
        urls: dict[int, str] = {}
        for text in args.url:
            i, url = parse_url_option(text)
            if i in urls:
                raise PoolUsageError(f"acceptor {i} is given twice (--url {i}={_shown(urls[i])} "
                                     f"and --url {i}={_shown(url)})")
            urls[i] = url
        return Pool(dict(sorted(urls.items())), f"Pool of {len(urls)} given by URL")
    if args.server_count is not None:
        host = args.host or "localhost"
        base = args.base_port if args.base_port is not None else LAYOUT_BASE_PORT
        urls = layout(args.server_count, host, base)
        return Pool(urls, f"Pool of {args.server_count} in the paxos-server layout on "
                          f"{host}:{base}..{base + args.server_count - 1}")
    return _local_pool(args, announce)


def _shown(url: str) -> str:
    """A URL the user gave, safe to print: no password, no terminal escapes."""
    return visible(redacted(url))


def _local_pool(args: argparse.Namespace, announce: bool) -> Pool:
    n = args.local if args.local is not None else 3
    local = LocalPool(n, args.data_dir, base_port=args.base_port)
    try:
        local.start(wait=False)  # main() waits for them after importing the shell
    except BaseException:
        local.close()
        raise
    ports = [m.port for m in local.members.values()]
    desc = f"Local pool of {n} acceptor{'s' if n > 1 else ''} on {local.host} port{'s' if n > 1 else ''} {span(ports)}"
    if announce:
        where = local.data_dir if args.data_dir else f"{local.data_dir} (removed at exit; --data-dir DIR keeps it)"
        taken = ""
        if ports[0] != LAYOUT_BASE_PORT and args.base_port is None:
            taken = f" (ports {span(range(LAYOUT_BASE_PORT, LAYOUT_BASE_PORT + n))} were taken)"
        banner(f"{desc}{taken}, state in {where}. Use --local N for another size, --server-count N for an "
               "existing pool.")
    return Pool(local.urls, desc + f", state in {local.data_dir}", local)


def banner(text: str) -> None:
    """A start-up line on stderr, wrapped at word boundaries to the terminal (never mid-option)."""
    from paxos_shell.core.text import wrap
    from paxos_shell.shell.render import screen_width

    print("\n".join(wrap(text, screen_width(sys.stderr))), file=sys.stderr, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    script_lines = None
    if args.script:
        try:
            with open(args.script, encoding="utf-8") as f:
                script_lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            why = getattr(e, 'strerror', None) or e
            print(visible(f"paxos-shell: cannot read {args.script}: {why}"), file=sys.stderr)
            return ExitStatus.USAGE
    signals.install()
    try:
        options = client_options(args)
        pool = build_pool(args, announce=True)
    except UserError as e:
        print(visible(f"paxos-shell: {e}"), file=sys.stderr)
        return exit_status(False, e)
    if options.insecure:
        banner("INSECURE: the certificates of https acceptors are not verified (--insecure).")
    try:
        return _run(args, pool, script_lines, options)
    except signals.Terminated as t:
        return t.status
    except BrokenPipeError:
        # `paxos-shell ... | head -1`: the reader left; end quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.ERROR


def _run(args: argparse.Namespace, pool: Pool, script_lines: Optional[list[str]], options: ClientOptions) -> int:
    try:
        from paxos_shell.shell.app import Shell  # imported while the local acceptors start
        from paxos_shell.shell.render import Format
        from paxos_shell.view import command as _view_command  # noqa: F401 - registers `view`

        if pool.local is not None:
            pool.local.wait_started()
            for warning in pool.local.recovery_warnings(pool.local.members):
                banner(visible(warning))
        fmt = Format.JSON if args.json else Format(args.format or "table")
        shell = Shell(pool, args.timeout if args.timeout is not None else 1.0, fmt, args.proposer_number,
                      options=options)
        if args.present:
            shell.out.present = shell.teach = True
    except BaseException as e:
        pool.close()
        if isinstance(e, UserError):
            print(visible(f"paxos-shell: {e}"), file=sys.stderr)
            return exit_status(False, e)
        raise
    try:
        if args.view:
            from paxos_shell.view.command import view_at_start

            repl = not args.commands and script_lines is None and sys.stdin.isatty()
            shell.tally.note(view_at_start(shell, interactive=repl), "--view: the live view did not start",
                             error=True)
        if args.watch:
            from paxos_shell.shell.commands.watchcmds import watch_at_start

            shell.tally.note(watch_at_start(shell), "--watch: the watch did not start", error=True)
        if args.commands:
            return _ended(shell.run_lines(args.commands), shell)
        if script_lines is not None:
            return _ended(shell.run_lines(script_lines, echo=True), shell)
        if not sys.stdin.isatty():
            return _ended(shell.run_lines(sys.stdin), shell)
        return shell.repl()
    finally:
        shell.close()


def _ended(status: int, shell: Shell) -> int:
    """A run's exit code, and when it is not 0, one line on stderr: which command failed and why."""
    if status:
        print(f"paxos-shell: exit {status}: {shell.tally.why()}", file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
