"""The shell's `audit [ID...]`: the auditor (audit/) on pool members, with paxos-audit's output.

Same battery, same table and evidence as `paxos-audit`; with `--json` output each
acceptor's report is the command's data in paxos-audit's schema. On the shell's own
local pool the durability rules restart the member through the pool (kill -9, then up)
when no --restart is given, and an acceptor that holds state is refused with a
suggestion to `reset ID` first. The shell's own knowledge of the pool is not told what
the audit sent: after an audit, `reset` the member before a lesson.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Callable, Optional

from paxos_shell.core.errors import UserError
from paxos_shell.core.options import parse_int
from paxos_shell.core.text import visible
from paxos_shell.pool.local import LocalPool
from paxos_shell.shell.context import Context
from paxos_shell.shell.registry import ArgKind, Args, Group, UsageError, command
from paxos_shell.shell.results import Result, Style, Text

if TYPE_CHECKING:
    from paxos_shell.audit.auditor import Options
    from paxos_shell.audit.battery import AuditReport

K = ArgKind


@command(
    "audit", "audit [ID...] [--only RULE,...] [--restart CMD] [--read-only] [--force] [--seed N] [--verbose] "
    "[--svg DIR]",
    "test acceptors against the Paxos rules, with the exchanges that prove each failure",
    "Drives each acceptor named (default: all) through the battery of paxos-audit: promises, accepts, "
    "the state route, exact values, bad input, negative ids, 8 connections at once (linearizability) "
    "and, with a restart, durability. An audit sends accepts of its own: an acceptor that has promised "
    "or accepted anything is refused unless --force (on the local pool, 'reset ID' first). "
    "--read-only runs only the checks that send no prepare or accept.",
    "audit 1 --verbose",
    flags={"--only": K.TEXT, "--restart": K.TEXT, "--read-only": K.FLAG, "--force": K.FLAG, "--seed": K.NUMBER,
           "--verbose": K.FLAG, "--svg": K.PATH, "--server-ids": K.SERVERS},
    positional=(K.SERVERS,), group=Group.TEACH, saved=False,
)
def cmd_audit(ctx: Context, args: Args) -> Result:
    from paxos_shell.audit.battery import Refused, Unanswered, audit, select  # requests: at first use only
    from paxos_shell.audit.report import unwritable

    ids = ctx.engine.servers(args.acceptor_ids())
    only = args.text("--only")
    try:
        rules = select(only)
    except UserError as e:
        raise UsageError(str(e)) from None
    svg = args.text("--svg")
    why = unwritable(svg, directory=True) if svg else None
    if why:
        raise UsageError(f"--svg: cannot write {why}")
    seed = parse_int(args.text("--seed"), "seed", 0) if args.text("--seed") else random.randrange(1, 1_000_000)
    reports: list[AuditReport] = []
    for i in ids:
        ctx.client.forget(i)
        try:
            reports.append(audit(ctx.pool.urls[i], _options(ctx, args, i, seed), rules))
        except Refused as e:
            hint = f"; on the local pool, 'reset {i}' first" if ctx.pool.local is not None else ""
            raise UserError(f"acceptor {i}: {e}{hint}") from None
        except Unanswered as e:
            raise UserError(f"acceptor {i}: {e}") from None
    return _result(ctx, args, reports)


def _options(ctx: Context, args: Args, i: int, seed: int) -> Options:
    from paxos_shell.audit.auditor import Options

    return Options(seed=seed, timeout=max(2.0, ctx.client.timeout), force=args.switch("--force"),
                   read_only=args.switch("--read-only"), restart=args.text("--restart"), ident=i,
                   restarter=_pool_restart(ctx.pool.local, i) if not args.text("--restart") else None)


def _pool_restart(local: Optional[LocalPool], i: int) -> Optional[Callable[[], None]]:
    """kill -9 and start again, through the shell's own pool (None for a pool it did not start)."""
    if local is None:
        return None

    def restart() -> None:
        local.down([i])
        local.up([i])
    return restart


def _result(ctx: Context, args: Args, reports: list[AuditReport]) -> Result:
    from paxos_shell.audit.report import record, table, write_svgs

    failed = any(r.verdict.value == "fail" for r in reports)
    out = Result("audit", ok=not failed, data={"acceptors": [record(r) for r in reports]})
    for r in reports:
        for line in table(r, ctx.out.width, args.switch("--verbose")).splitlines():
            out.blocks.append(Text(line, Style.BAD if " FAIL " in line[:40] else Style.PLAIN, wrap=False))
    svg = args.text("--svg")
    if svg:
        try:
            for path in write_svgs(reports, svg):
                out.say(f"wrote {visible(path)}")
        except OSError as e:
            out.say(f"cannot write SVGs to {visible(svg)}: {visible(e.strerror or str(e))}", Style.BAD)
    if ctx.pool.local is not None:
        out.say("The audit changed these acceptors behind the shell's back: 'reset' them before a lesson.",
                Style.WARN)
    return out
