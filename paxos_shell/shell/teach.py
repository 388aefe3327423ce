"""Plain-words explanations of what just happened, in Paxos terms.

Each function turns a result the engine already decided into two or three
sentences: why this value, why no quorum, what is chosen now and why it can
never change, and what the next step is. Nothing is re-decided here.
"""

from __future__ import annotations

from typing import Optional

from ..paxos import Verdict
from ..proposer import AcceptResult, PrepareResult, ProposeResult, StateResult
from ..text import show_value
from ..wire import IGNORED, NO_RESPONSE


def _v(value: Optional[str]) -> str:
    return f"'{show_value(value)}'"


def prepare(res: PrepareResult) -> list[str]:
    got, need = len(res.promised), res.quorum
    silent = [r.acceptor for r in res.round.replies if r.kind == NO_RESPONSE]
    refused = [r for r in res.round.replies if r.kind == IGNORED]
    if res.prior_chosen is not None:
        c = res.prior_chosen
        return [
            f"Acceptors {list(c.acceptors)} report that they accepted {_v(c.value)} at id {c.proposal_id}: "
            "that is a quorum, so the value is already chosen.",
            "A chosen value can never change: every later prepare reaches at least one of those acceptors, "
            "learns the value, and must propose it again.",
        ]
    if not res.reached:
        out = [f"Only {got} of the {need} promises needed arrived, so this proposer may not send accept: "
               "without a quorum it cannot know which value might already be chosen."]
        if refused and res.higher is not None:
            out.append(f"Acceptor{'s' if len(refused) > 1 else ''} {[r.acceptor for r in refused]} refused "
                       f"because {'they' if len(refused) > 1 else 'it'} had promised id {res.higher} already.")
        elif silent:
            out.append(f"Acceptor{'s' if len(silent) > 1 else ''} {silent} did not answer.")
        out.append(f"Next: prepare a higher id ({res.next_id}) when a quorum can be reached.")
        return out
    out = [f"A quorum ({got} promises, {need} needed) promised id {res.n}: none of them will accept a lower id "
           "from now on."]
    ch = res.choice
    if ch is not None and ch.forced_by is not None:
        out.append(f"Acceptor {ch.forced_by.acceptor} reported {_v(ch.value)} accepted at id "
                   f"{ch.forced_by.accepted_id}, the highest among the promises; a value chosen below id {res.n} "
                   "could only be that one, so Paxos obliges this proposer to carry it instead of its own.")
        out.append(f"Next: accept {res.n} {show_value(ch.value)}.")
    else:
        out.append(f"No promise carried an accepted value, so no value can be chosen below id {res.n} "
                   "and the proposer is free to propose its own.")
        out.append(f"Next: accept {res.n} with a value.")
    return out


def accept(res: AcceptResult) -> list[str]:
    out = []
    if res.forced and not res.safety.safe:
        out.append(f"This accept was forced against Paxos ({res.safety.reason}): "
                   "it can overwrite a value that is already chosen.")
    got = list(res.outcome.accepted_by)
    if res.outcome.verdict == Verdict.CHOSEN:
        out.append(f"A quorum {got} accepted {_v(res.value)} at id {res.n}, so it is chosen.")
        out.append("It can never change: any later proposer's prepare reaches one of these acceptors, "
                   "learns the value, and must propose it again.")
    elif res.outcome.verdict == Verdict.UNKNOWN:
        out.append(f"Only {len(got)} accept(s) came back, but some acceptors did not answer: they may have "
                   "accepted and lost only their reply.")
        out.append("The value may be chosen without this proposer knowing; a new prepare (or state) will tell.")
    else:
        refused = [r.acceptor for r in res.round.replies if r.kind == IGNORED]
        out.append(f"Only {len(got)} acceptor(s) accepted: {res.outcome.reason}, so this round chose nothing.")
        if refused:
            out.append(f"Acceptors {refused} refused because they promised a higher id to another proposer.")
        out.append("Next: prepare a higher id and try again.")
    return out


def propose(res: ProposeResult) -> list[str]:
    last = res.attempts[-1] if res.attempts else None
    out = []
    if last is not None:
        ch = last.prepare.choice
        if ch is not None and ch.overridden and ch.forced_by is not None:
            out.append(f"The client value {_v(res.client_value)} was replaced by {_v(ch.value)}, the value of the "
                       f"highest accepted id among the promises: it may already be chosen.")
    if len(res.attempts) > 1:
        out.append(f"The first {len(res.attempts) - 1} attempt(s) were refused; each retry waited a random "
                   "pause, which is what stops two proposers from overtaking each other forever.")
    if res.ok:
        out.append(f"{_v(res.value)} is chosen at id {res.proposal_id}; from now on every proposal carries it.")
    elif res.verdict == Verdict.UNKNOWN:
        out.append("Some accepts went unanswered: the value may be chosen without this proposer knowing.")
    else:
        out.append(f"No consensus: {res.reason}. Paxos stays safe by doing nothing rather than guessing.")
    return out


def state(res: StateResult) -> list[str]:
    if not res.chosen:
        return ["No value has been accepted by a quorum at one id, so nothing is chosen yet: "
                "any value may still win."]
    c = res.chosen[-1]
    return [f"{_v(c.value)} is chosen: acceptors {list(c.acceptors)} (a quorum) accepted it at id {c.proposal_id}.",
            "Acceptors may later accept higher ids, but only ever with this same value."]


def explain(result: object) -> list[str]:
    if isinstance(result, PrepareResult):
        return prepare(result)
    if isinstance(result, AcceptResult):
        return accept(result)
    if isinstance(result, ProposeResult):
        return propose(result)
    if isinstance(result, StateResult):
        return state(result)
    return []
