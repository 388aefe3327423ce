"""How the knowledge model's answers appear in a command's output, and in its JSON.

Where the instance stands (violations first, then what is chosen and what can
still be), the rules a round's replies broke, and the line that opens every
output once safety is broken. The words are the knowledge model's own; this
module only places them in a Result.
"""

from __future__ import annotations

from typing import Any

from paxos_shell.core.text import counted, visible
from paxos_shell.knowledge.breaks import Violation, pool_wide
from paxos_shell.knowledge.outlook import Outlook, Standing
from paxos_shell.shell.context import Context
from paxos_shell.shell.results import Result, Style


def standing(ctx: Context, outlook: Outlook, out: Result) -> None:
    """Where the instance stands, in the knowledge model's words (violations first), and its JSON."""
    for i, line in enumerate(outlook.summary(ctx.session.quorum, ctx.session.pool_size)):
        bad = line.startswith(("SAFETY VIOLATION", "PROPOSER VIOLATION"))
        out.say(line, Style.BAD if bad else Style.GOOD if i == 0 and
                outlook.standing == Standing.CHOSEN else Style.PLAIN)
    out.data.update(outlook_json(outlook))


def outlook_json(outlook: Outlook) -> dict[str, Any]:
    return {
        "standing": str(outlook.standing), "headline": outlook.headline(),
        "chosen": [{"proposalId": c.proposal_id, "value": c.value, "acceptors": list(c.acceptors)}
                   for c in outlook.chosen],
        "chosenUnlisted": outlook.unlisted, "violationsUnlisted": outlook.more_violations,
        "futures": {"kind": str(outlook.futures.kind), "values": list(outlook.futures.values),
                    "unknown": list(outlook.futures.unknown), "sentence": outlook.futures.sentence()},
        "violations": [v.sentence() for v in outlook.violations],
        "caveats": [c.sentence() for c in outlook.shown_caveats()],
        "proposerViolations": [{"rule": str(p.rule), "proposer": visible(p.proposer), "id": p.proposal_id,
                                "sentence": p.sentence()} for p in outlook.proposers],
    }


def broken_here(breaks: tuple[Violation, ...], out: Result) -> None:
    """Rules a reply of this round broke, flagged on the spot, one line each."""
    for v in breaks:
        label = "SAFETY VIOLATION" if pool_wide(v.rule) else "RULE BROKEN"
        out.say(f"{label}: {v.sentence()}.", Style.BAD)
    out.data["rulesBroken"] = [v.sentence() for v in breaks]


def lead_with_violations(outlook: Outlook, breaks: tuple[Violation, ...], out: Result) -> None:
    """Once safety is broken, a round's output opens with it, never with a guarantee."""
    earlier = [v for v in outlook.violations if v not in breaks]
    if earlier:
        more = f" (and {counted(len(earlier) - 1, 'more violation')}: see 'check')" if len(earlier) > 1 else ""
        out.say(f"SAFETY VIOLATION: {earlier[0].sentence()}{more}.", Style.BAD)

