"""Plain-words explanations of what just happened, in Paxos terms.

Each function turns a result the engine already decided into two or three
sentences: why this value, why no quorum, what is chosen now and whether it
can change (the next step is the hint the command itself prints). Nothing is re-decided here: every
claim about what is chosen or can still be chosen comes from the knowledge
model's Outlook carried by the result, and once safety is broken the first
sentence says so. "It can never change" is said only while Paxos's guarantees
hold and no acceptor keeps its state in memory only.
"""

from __future__ import annotations

from typing import Optional, Sequence

from paxos_shell.core.paxos import Verdict
from paxos_shell.core.text import counted, listing, show_value, visible
from paxos_shell.core.wire import ReplyKind
from paxos_shell.engine.results import AcceptResult, PrepareResult, ProposeResult, StateResult
from paxos_shell.knowledge.breaks import Breach, Violation
from paxos_shell.knowledge.outlook import Caution, Outlook
from paxos_shell.knowledge.proposers import ProposerRule, ProposerViolation


def _v(value: Optional[str]) -> str:
    return f"'{show_value(value)}'"


def broken(violations: Sequence[Violation]) -> str:
    """The worst violation, with how many more. Only two values chosen break safety itself;
    the others (an acceptor that forgot, two values at one id) break what guarantees it."""
    worst = next((v for v in violations if v.rule == Breach.TWO_CHOSEN), violations[0])
    head = "Safety is broken" if worst.rule == Breach.TWO_CHOSEN else "Paxos's guarantees no longer hold"
    more = f" (and {counted(len(violations) - 1, 'more violation')})" if len(violations) > 1 else ""
    return f"{head}: {worst.sentence()}{more}"


def lead(outlook: Outlook) -> list[str]:
    """The first sentence whenever a violation was seen; then the last proposer rule broken, if any."""
    out = [f"{broken(outlook.violations)}. No guarantee below holds."] if outlook.violations else []
    if outlook.proposers:
        out.append(proposer_broke(outlook.proposers))
    return out


HARM = {
    ProposerRule.ACCEPT_WITHOUT_QUORUM: "without a quorum of promises for id {n} a proposer cannot know which value "
                                        "may already be chosen, so its accept can plant a second one",
    ProposerRule.ACCEPT_WRONG_VALUE: "the promises it held for id {n} reported a value it had to carry, because that "
                                     "value may already be chosen, and it sent another",
    ProposerRule.ID_REUSED: "id {n} now carries two values, so acceptors holding different values look like one "
                            "proposal to any proposer that counts them",
}
"""Why breaking each proposer rule matters, in plain words."""


def proposer_broke(found: Sequence[ProposerViolation]) -> str:
    """The last proposer rule broken, said plainly, with how many more."""
    v = found[-1]
    more = f" (and {counted(len(found) - 1, 'more proposer violation')}: see 'check')" if len(found) > 1 else ""
    who = "This shell's proposer" if v.own else "Proposer"
    return (f"{who} {visible(v.proposer)} broke a proposer's rule ({v.rule}){more}: "
            f"{HARM[v.rule].format(n=v.proposal_id)}.")


def since(then: Outlook, now: Outlook) -> list[str]:
    """What broke after a command was run, for an explanation of it given later."""
    new = [v for v in now.violations if v not in then.violations]
    if not new:
        return []
    said = broken(new).replace("Safety is", "safety is", 1)
    return [f"Since then, {said}. What follows is what that command showed."]


def _unguarded(outlook: Outlook, carried: Optional[str]) -> str:
    """Why carrying the highest reported value no longer protects a chosen one (guarantees broken)."""
    why = ("an accept was forced against Paxos" if any(c.kind == Caution.FORCED for c in outlook.caveats)
           else "Paxos's guarantees no longer hold here")
    other = next((c for c in outlook.chosen if c.value != carried), None)
    if other is None:
        return f"{why}, so a value chosen earlier need not be that one"
    return (f"{why}, and {_v(other.value)} is already chosen ({listing(other.acceptors)} accepted it at id "
            f"{other.proposal_id})")


def permanence(outlook: Outlook) -> str:
    """Whether a chosen value can change, as far as the knowledge model can promise."""
    if not outlook.guaranteed:
        return "Paxos's guarantees no longer hold here, so even a chosen value is not safe from a second one."
    who = outlook.at_risk()
    if who:
        one = len(who) == 1
        return (f"It stays chosen only while {listing(who)} {'does' if one else 'do'} not restart: "
                f"{'it keeps its' if one else 'they keep their'} state in memory only, and would forget.")
    never = ("It can never change: any later proposer's prepare reaches one of these acceptors, learns the value, "
             "and must propose it again.")
    volatile = sorted({a for c in outlook.caveats if c.kind == Caution.VOLATILE for a in c.acceptors})
    if not volatile:
        return never
    keeps = "keeps its" if len(volatile) == 1 else "keep their"
    return (f"{never} {listing(volatile).capitalize()} {keeps} state in memory only, but a quorum that keeps its "
            "state on disk accepted this value.")


def prepare(res: PrepareResult) -> list[str]:
    out = lead(res.outlook)
    got, need = len(res.promised), res.quorum
    out += _set_aside(res)
    if res.prior_chosen is not None:
        c = res.prior_chosen
        out.append(f"{_capital(listing(c.acceptors))} report that they accepted {_v(c.value)} at id {c.proposal_id}: "
                   "that is a quorum, so the value is already chosen.")
        out.append(permanence(res.outlook))
        return out
    if not res.quorum_reached:
        out.append(f"Only {got} of the {counted(need, 'promise')} needed arrived, so this proposer may not send "
                   "accept: without a quorum it cannot know which value might already be chosen.")
        said = "; ".join(_no_promise(res))
        if said:
            out.append(f"{said[:1].upper()}{said[1:]}.")
        return out
    out.append(f"A quorum ({counted(got, 'promise')}, {need} needed) promised id {res.n}: none of them will "
               f"accept a lower id from now on{_until_restart(res)}.")
    ch = res.choice
    if ch is not None and ch.forced_by is not None:
        reported = (f"Acceptor {ch.forced_by.acceptor} reported {_v(ch.value)} accepted at id "
                    f"{ch.forced_by.accepted_id}, the highest among the promises")
        if res.outlook.guaranteed:
            out.append(f"{reported}; a value chosen below id {res.n} could only be that one, so Paxos obliges "
                       "this proposer to carry it instead of its own.")
        else:
            but = _unguarded(res.outlook, ch.value)
            out.append(f"{reported}, so Paxos obliges this proposer to carry it; but {but}.")
    else:
        out.append(f"No promise carried an accepted value, so no value can have been chosen below id {res.n} "
                   "and this proposer may send its own.")
    return out


def _forced_caveat(res: AcceptResult) -> bool:
    """Whether the knowledge model still holds this forced accept against the guarantees."""
    return any(c.kind == Caution.FORCED and c.sent is not None and (c.sent.proposal_id, c.sent.value) ==
               (res.n, res.value) for c in res.outlook.caveats)


def _until_restart(res: PrepareResult) -> str:
    """The promisers that keep their promise in memory only: they hold it only until they restart."""
    volatile = sorted({a for c in res.outlook.caveats if c.kind == Caution.VOLATILE for a in c.acceptors}
                      & set(res.promised))
    if not volatile:
        return ""
    one = len(volatile) == 1
    return (f", {listing(volatile)} only until {'it restarts' if one else 'they restart'} "
            f"({'it keeps its promise' if one else 'they keep their promises'} in memory only)")


def _set_aside(res: PrepareResult) -> list[str]:
    """The replies the knowledge model set aside for a broken rule: why they count for nothing."""
    if not res.set_aside:
        return []
    who = listing(s.acceptor for s in res.set_aside)
    if len(res.set_aside) == 1:
        return [f"The reply of {who} broke the rules, so it is not a promise: it counts towards no quorum, decides "
                "no value and moves no id."]
    return [f"The replies of {who} broke the rules, so they are not promises: they count towards no quorum, "
            "decide no value and move no id."]


def _capital(sentence: str) -> str:
    return f"{sentence[:1].upper()}{sentence[1:]}"


def _no_promise(res: PrepareResult) -> list[str]:
    """Why each acceptor that did not promise did not: its own promise, an error, or silence."""
    replies = res.round.replies
    said = []
    refusals = {r.acceptor: r.promised_id for r in replies if r.kind == ReplyKind.IGNORED}
    if refusals:
        they = "they" if len(refusals) > 1 else "it"
        ids, held = list(refusals), set(refusals.values())
        each = ", ".join(f"acceptor {a}: {p if p >= 0 else 'none'}" for a, p in refusals.items())
        if any(s.acceptor in refusals for s in res.set_aside):  # a rule broken (flagged above): what they said
            said.append(f"{listing(ids)} refused, reporting these promises: {each}")
        elif len(held) == 1:
            said.append(f"{listing(ids)} refused because {they} had promised id {min(held)} already")
        else:
            said.append(f"{listing(ids)} refused because {they} had promised ids at or above {res.n} already ({each})")
    errors = [r.acceptor for r in replies if r.kind == ReplyKind.ERROR]
    if errors:
        said.append(f"{listing(errors)} answered with an error, which changes nothing")
    silent = [r.acceptor for r in replies if r.kind == ReplyKind.NO_RESPONSE]
    if silent:
        said.append(f"{listing(silent)} did not answer")
    return said


def accept(res: AcceptResult) -> list[str]:
    out = lead(res.outlook)
    if res.forced:
        forced = f"This accept was forced against Paxos ({res.safety.reason})"
        if _forced_caveat(res):
            out.append(f"{forced}: Paxos no longer guarantees that only one value can be chosen.")
        else:  # the knowledge model found it harmless (see Knowledge.caveats)
            out.append(f"{forced}, but every acceptor was known to have promised less than id {res.n} and a quorum "
                       "accepted it: the pool is as a correct proposal would leave it.")
    got = list(res.outcome.accepted_by)
    if res.outcome.verdict == Verdict.CHOSEN:
        out.append(f"A quorum ({listing(got)}) accepted {_v(res.value)} at id {res.n}, so it is chosen.")
        out.append(permanence(res.outlook))
    elif res.outcome.verdict == Verdict.UNKNOWN:
        # The model's own count: the silences and accepts of earlier rounds at this id count too.
        out.append(f"{res.outcome.reason[:1].upper()}{res.outcome.reason[1:]}.")
        out.append("Whether it is chosen stays unknown until the silent acceptors answer again (a state read, or a "
                   "prepare that reaches them).")
    else:
        refused = [r.acceptor for r in res.round.replies if r.kind == ReplyKind.IGNORED]
        out.append(f"{res.outcome.reason[:1].upper()}{res.outcome.reason[1:]}, so this round chose nothing.")
        if refused:
            # Not "to another proposer": this shell's own later prepare may hold the higher promise.
            out.append(f"{_capital(listing(refused))} refused: each had promised an id higher than {res.n}, and an "
                       "acceptor never accepts below its promise.")
    return out


def propose(res: ProposeResult) -> list[str]:
    outlook = res.outlook
    if outlook is None:
        return []
    out = lead(outlook)
    last = res.attempts[-1] if res.attempts else None
    if last is not None:
        ch = last.prepare.choice
        if ch is not None and ch.overridden and ch.forced_by is not None:
            out.append(f"The client value {_v(res.client_value)} was replaced by {_v(ch.value)}, the value of the "
                       f"highest accepted id among the promises: it may already be chosen.")
    if len(res.attempts) > 1:
        # Not "refused": an attempt also ends when acceptors are down or silent.
        out.append(f"The first {counted(len(res.attempts) - 1, 'attempt')} ended without a value chosen; before "
                   "each retry this proposer waited a random pause, which is what stops two proposers from "
                   "overtaking each other forever.")
    if res.ok:
        out.append(f"{_v(res.value)} is chosen at id {res.proposal_id}. {permanence(outlook)}")
    elif res.verdict == Verdict.UNKNOWN:
        out.append("Some accepts went unanswered: the value may be chosen without this proposer knowing.")
    else:
        out.append(f"No consensus: {res.reason}. Paxos stays safe by doing nothing rather than guessing.")
    return out


def state(res: StateResult) -> list[str]:
    return lead(res.outlook) + res.outlook.sentences()[len(res.outlook.violations):]


def explain(result: object) -> list[str]:
    """The explanation of a prepare, accept, propose or state result."""
    if isinstance(result, PrepareResult):
        return prepare(result)
    if isinstance(result, AcceptResult):
        return accept(result)
    if isinstance(result, ProposeResult):
        return propose(result)
    if isinstance(result, StateResult):
        return state(result)
    return []
