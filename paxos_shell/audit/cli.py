"""paxos-audit: the command line around the battery (arguments, output, exit status).

Exit status (core/errors.ExitStatus): 0 every rule passed or was skipped, 1 a
rule failed, 2 a usage error or an acceptor that could not be audited at all
(it did not answer, is not an acceptor, or holds state and --force was not
given). Every error is one line on stderr, never a traceback. Progress (which
rule runs) goes to stderr only when it is a terminal.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from typing import Callable, NoReturn, Optional, Sequence, TextIO

from paxos_shell.audit.auditor import LANES, Options
from paxos_shell.audit.battery import RULES, AuditReport, Refused, Rule, Unanswered, audit, select
from paxos_shell.audit.report import as_json, junit, table, unwritable, write_svgs
from paxos_shell.core.errors import ExitStatus, UserError
from paxos_shell.core.text import visible
from paxos_shell.core.urls import check_url

PROG = "paxos-audit"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not argparse's usage block."""
        raise UserError(f"{message} (see {PROG} --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Test acceptors of the paxos-server API against the Paxos rules, "
                "proving every failure with the exchanges that show it.")
    p.add_argument("urls", nargs="*", metavar="URL", help="the acceptors to audit (one after the other)")
    p.add_argument("--restart", metavar="CMD", help="a shell command that restarts the acceptor on its data "
                   "({url} and {id} substituted); enables the durability rules")
    p.add_argument("--json", action="store_true", help="one JSON object per acceptor (an array for several)")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML, one testcase per rule")
    p.add_argument("--only", metavar="RULE,...", help="run only these rules")
    p.add_argument("--list", action="store_true", help="list the rules and exit")
    p.add_argument("--seed", type=int, help="seed of the random cases (the report prints the one used)")
    p.add_argument("--verbose", "-v", action="store_true", help="draw each failure's evidence")
    p.add_argument("--svg", metavar="DIR", help="write one SVG per failing rule into DIR")
    p.add_argument("--force", action="store_true", help="audit an acceptor that has promised or accepted "
                   "something (its audit accepts could make a second value chosen)")
    p.add_argument("--read-only", action="store_true", help="run only the checks that send no prepare or accept")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds one request may take (default 2)")
    p.add_argument("--connections", type=int, default=LANES, help=f"connections at once (default {LANES})")
    return p


def listing() -> str:
    return "".join(f"{r.name:<24} {r.kind.value:<10} {r.about}\n" for r in RULES)


def _progress(err: TextIO) -> Callable[[str], None]:
    if not err.isatty():
        return lambda line: None

    def show(line: str) -> None:
        err.write(f"\r\x1b[K{PROG}: {line}")
        err.flush()
    return show


def _options(args: argparse.Namespace, ident: int, seed: int) -> Options:
    if not 0.05 <= args.timeout <= 60:
        raise UserError("--timeout must be between 0.05 and 60 seconds")
    if not 8 <= args.connections <= 64:
        raise UserError("--connections must be between 8 and 64")
    return Options(seed=seed, timeout=args.timeout, force=args.force, read_only=args.read_only,
                   restart=args.restart, ident=ident, lanes=args.connections)


def run(argv: Optional[Sequence[str]], out: TextIO, err: TextIO) -> ExitStatus:
    """The whole program; UserError (one line) for bad usage."""
    args = parser().parse_args(argv)
    if args.list:
        out.write(listing())
        return ExitStatus.SUCCESS
    if not args.urls:
        raise UserError(f"name at least one acceptor URL (see {PROG} --help)")
    for url in args.urls:
        try:
            check_url(url)
        except ValueError as e:
            raise UserError(str(e)) from None
    rules = select(args.only)
    for path, directory, flag in ((args.junit, False, "--junit"), (args.svg, True, "--svg")):
        why = unwritable(path, directory) if path else None
        if why:
            raise UserError(f"{flag}: cannot write {why}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    reports, status = _audit_all(args, rules, seed, err)
    _write(args, reports, out, err)
    return status


def _audit_all(args: argparse.Namespace, rules: list[Rule], seed: int,
               err: TextIO) -> tuple[list[AuditReport], ExitStatus]:
    reports: list[AuditReport] = []
    status = ExitStatus.SUCCESS
    progress = _progress(err)
    for ident, url in enumerate(args.urls, 1):
        try:
            reports.append(audit(url, _options(args, ident, seed), rules, progress))
        except (Unanswered, Refused) as e:
            status = ExitStatus.USAGE
            err.write(("\r\x1b[K" if err.isatty() else "") + f"{PROG}: {e}\n")
    if err.isatty():
        err.write("\r\x1b[K")
    if status == ExitStatus.SUCCESS and any(r.verdict.value == "fail" for r in reports):
        status = ExitStatus.ERROR
    return reports, status


def _write(args: argparse.Namespace, reports: list[AuditReport], out: TextIO, err: TextIO) -> None:
    if args.junit:
        _save(args.junit, junit(reports))
    if args.svg and reports:
        try:
            paths = write_svgs(reports, args.svg)
        except OSError as e:
            raise UserError(f"cannot write SVGs to {visible(args.svg)}: {visible(e.strerror or str(e))}") from None
        for path in paths:
            err.write(f"{PROG}: wrote {visible(path)}\n")
    if not reports:
        return
    if args.json:
        for r in reports:
            if r.forced:
                err.write(f"{PROG}: {visible(r.url)}: {r.forced}\n")
        out.write(as_json(reports, several=len(args.urls) > 1))
        if args.seed is None:
            err.write(f"{PROG}: seed {reports[0].seed}\n")
        return
    width = shutil.get_terminal_size((100, 24)).columns if out.isatty() else 100
    out.write("\n".join(table(r, width, args.verbose) for r in reports))


def _save(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise UserError(f"cannot write {visible(path)}: {visible(e.strerror or str(e))}") from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return int(run(argv, sys.stdout, sys.stderr))
    except UserError as e:
        sys.stderr.write(f"{PROG}: {e}\n")
        return int(ExitStatus.USAGE)
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return int(ExitStatus.INTERRUPTED)
