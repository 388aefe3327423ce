"""The battery: every rule by name, and one audit of one acceptor from preflight to findings.

The rule names are part of the interface (`--only`, `--list`, JSON, JUnit); a
rule's checks may grow, its name stays. An audit first reads the state (an
acceptor that does not answer it, or answers something else, ends the audit
with one line), refuses an acceptor that has promised or accepted anything
unless forced (an audit's own accepts could make a second value chosen in a
live pool), then runs the rules in order, negative-ids first (its sharpest
check needs a fresh acceptor). It never prints: progress goes to a callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from paxos_shell.audit.auditor import Auditor, Broken, Kind, Options, Skip, SkipReason, Verdict
from paxos_shell.audit.concurrent import linearizable
from paxos_shell.audit.durable import durable_accept, durable_promise
from paxos_shell.audit.edges import bad_input, negative_ids, values_exact
from paxos_shell.audit.exchange import Exchange
from paxos_shell.audit.expect import state_of
from paxos_shell.audit.rules import (
    accept_records,
    accept_respects_promise,
    ignore_lower_prepare,
    promise_higher,
    report_accepted,
    state_consistent,
)
from paxos_shell.core.errors import UserError
from paxos_shell.core.paxos import AcceptorState
from paxos_shell.core.text import visible
from paxos_shell.core.urls import redacted
from paxos_shell.core.wire import STATE, Phase, ReplyKind


@dataclass(frozen=True)
class Rule:
    name: str
    kind: Kind
    about: str
    check: Callable[[Auditor], str]
    writes: bool = True
    """Sends prepares or accepts (so it does not run with --read-only)."""


P, D = Kind.PAXOS, Kind.DURABILITY
RULES: tuple[Rule, ...] = (
    Rule("promise-higher", P, "a prepare above every id seen is granted, with that id", promise_higher),
    Rule("ignore-lower-prepare", P, "a prepare below the promise, or equal to it (the paxos-server rule), is "
         "ignored and changes nothing", ignore_lower_prepare),
    Rule("report-accepted", P, "a granted promise reports the most recent accepted id and value",
         report_accepted),
    Rule("accept-respects-promise", P, "an accept below the promise is ignored and changes nothing",
         accept_respects_promise),
    Rule("accept-records", P, "an accept at or above the promise is granted, stored, and raises the promise",
         accept_records),
    Rule("state-consistent", P, "the state route agrees with every reply; acceptedId <= promisedId; a value "
         "exactly when something was accepted", state_consistent, writes=False),
    Rule("values-exact", P, "values come back byte for byte; the longest value taken is reported",
         values_exact),
    Rule("bad-input", P, "bad ids, missing parameters, unknown routes, wrong methods: a 4xx, no change",
         bad_input, writes=False),
    Rule("negative-ids", P, "a negative id gets a 4xx, or is handled so that no rule breaks", negative_ids),
    Rule("linearizable", P, "8 connections at once on shared ids: the history is one acceptor's, one "
         "request at a time (Wing-Gong search)", linearizable),
    Rule("durable-promise", D, "after a restart (quiet, or under load) every acknowledged promise holds",
         durable_promise),
    Rule("durable-accept", D, "after a restart (quiet, or under load) every acknowledged accept holds",
         durable_accept),
)
NAMES = tuple(r.name for r in RULES)


class Unanswered(UserError):
    """The acceptor did not answer the state route with a protocol reply: the audit cannot start."""


class Refused(UserError):
    """The acceptor has promised or accepted something, and the audit was not forced."""


@dataclass(frozen=True)
class Finding:
    rule: Rule
    verdict: Verdict
    why: str
    evidence: tuple[Exchange, ...] = ()
    window: tuple[Exchange, ...] = ()
    skipped: Optional[SkipReason] = None
    """Why it was skipped, for what acts on it; `why` says it to people."""


@dataclass
class AuditReport:
    url: str
    seed: int
    findings: list[Finding] = field(default_factory=list)
    forced: Optional[str] = None
    facts: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return Verdict.FAIL if any(f.verdict == Verdict.FAIL for f in self.findings) else Verdict.PASS


def select(only: Optional[str]) -> list[Rule]:
    """The rules `--only` names, comma-separated (all without it); UserError naming any unknown
    one, or saying that an --only of commas alone names none (never taken for "all")."""
    if only is None:
        return list(RULES)
    names = [n.strip() for n in only.split(",") if n.strip()]
    if not names:
        raise UserError(f"--only names no rule; the rules: {', '.join(NAMES)}")
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise UserError(f"unknown rule {visible(unknown[0])!r}; the rules: {', '.join(NAMES)}")
    return [r for r in RULES if r.name in names]


def preflight(a: Auditor) -> AcceptorState:
    """The state before the audit; Unanswered in one line when there is no protocol reply."""
    x = a.send("GET", STATE, phase=Phase.STATE)
    if x.reply is None or x.reply.kind in (ReplyKind.ERROR, ReplyKind.NO_RESPONSE):
        cause = (x.reply.cause if x.reply is not None else None) or x.cause or "no reply"
        raise Unanswered(f"{visible(redacted(a.url))}: {cause}")
    st, _ = state_of(x.reply)
    return st or AcceptorState()


def audit(url: str, options: Options, rules: Sequence[Rule], progress: Callable[[str], None] = lambda s: None,
          ) -> AuditReport:
    """Audit one acceptor with `rules`; Unanswered or Refused (one line) when it cannot start."""
    a = Auditor(url, options)
    report = AuditReport(redacted(url), options.seed)
    try:
        st = preflight(a)
        if st != AcceptorState() and not options.read_only and any(r.writes for r in rules):
            report.forced = _unsafe(url, st, options.force)
        a.see(st)
        order = sorted(rules, key=lambda r: r.name != "negative-ids")
        done = {}
        for i, rule in enumerate(order, 1):
            progress(f"[{i}/{len(order)}] {rule.name}")
            done[rule.name] = run_rule(a, rule)
        report.findings = [done[r.name] for r in rules]
        report.facts = a.facts
    finally:
        a.close()
    return report


def _unsafe(url: str, st: AcceptorState, force: bool) -> str:
    held = f"promisedId {st.promised_id}, acceptedId {st.accepted_id}" if st.promised_id >= -1 else "a state"
    if not force:
        raise Refused(f"{visible(redacted(url))} has {held}: an audit sends its own accepts and could make a second "
                      "value chosen in a live pool; audit a fresh acceptor (reset it), or use --read-only, "
                      "or --force")
    return f"forced: the acceptor held {held} before the audit"


def run_rule(a: Auditor, rule: Rule) -> Finding:
    """One rule's finding: pass with what held, fail with its evidence, or skipped with why."""
    a.trail = []
    if rule.writes and a.options.read_only:
        return Finding(rule, Verdict.SKIPPED, "sends prepares and accepts: not run with --read-only",
                       skipped=SkipReason.READ_ONLY)
    try:
        return Finding(rule, Verdict.PASS, rule.check(a))
    except Broken as e:
        return Finding(rule, Verdict.FAIL, e.why, e.evidence or tuple(a.trail[-3:]), e.window)
    except Skip as e:
        return Finding(rule, Verdict.SKIPPED, str(e), skipped=e.reason)
    except Exception as e:  # a bug of the auditor's own must not hide the other rules' findings
        return Finding(rule, Verdict.FAIL, f"the auditor could not judge this rule: {type(e).__name__}: "
                       f"{visible(str(e))[:200]}", tuple(a.trail[-3:]))
