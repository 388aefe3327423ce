"""The next sensible request for a proposer, and why: never one the shell knows will fail.

Its job: from the knowledge model and one proposer's own view (its number,
current id, the promises it holds, what it sent), say what to do next: accept
with the value Paxos requires when a quorum promised the current id and can
still accept it; otherwise prepare an id above every promise known; at the top
of the id space, say that the ids are exhausted and what a class can do. Pure:
no I/O; the shell prints the hint.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Optional

from paxos_shell.core.paxos import NONE, Promise, Verdict, choose_value, id_above, last_id
from paxos_shell.core.text import listing, show_value
from paxos_shell.core.vocab import Word
from paxos_shell.knowledge.model import Knowledge
from paxos_shell.knowledge.possible import Known


class Step(Word):
    ACCEPT = "accept"
    PREPARE = "prepare"
    DONE = "done"
    EXHAUSTED = "ids exhausted"


@dataclass(frozen=True)
class ProposerView:
    """What one proposer holds: the shell's session converts its Proposer into this."""

    number: Optional[int] = None
    current_id: Optional[int] = None
    promises: tuple[Promise, ...] = ()
    sent_value: Optional[str] = None
    """The value this shell already sent at current_id (by any proposer), if any: an id carries one value."""
    client_value: Optional[str] = None
    seen: int = NONE
    local_pool: bool = True


@dataclass(frozen=True)
class Hint:
    """The next step: `command` in the shell's syntax (None when there is none), and why."""

    step: Step
    command: Optional[str]
    reason: str
    proposal_id: Optional[int] = None
    value: Optional[str] = None
    unsafe: bool = False
    """The accept Paxos's rule gives is refused: another value is chosen, so it could choose a second
    (after a forced accept, or an acceptor that forgot): the rule's value must not be offered."""

    def sentence(self) -> str:
        if self.command is None:
            return f"{self.reason[:1].upper()}{self.reason[1:]}."
        return f"Next: {self.command} ({self.reason})"


VALUE_PLACEHOLDER = "VALUE"
"""Stands for a value the user picks, as in the usage lines (accept ID VALUE)."""


def next_step(k: Knowledge, view: ProposerView) -> Hint:
    """The next request for this proposer that the shell does not already know will fail."""
    return _accept_or_done(k, view) or prepare_hint(k, view)


def _accept_or_done(k: Knowledge, view: ProposerView) -> Optional[Hint]:
    n = view.current_id
    if n is None:
        return None
    held = [p for p in view.promises if p.promised_id == n]
    if len(held) < k.quorum:
        return None
    if view.sent_value is not None:
        outcome = k.outcome(n, view.sent_value)
        if outcome.verdict == Verdict.CHOSEN:
            return Hint(Step.DONE, None, f"{outcome.reason}, so {show_value(view.sent_value)} is chosen: nothing is "
                                         "left to do for this proposal", n, view.sent_value)
    able = [p.acceptor for p in held if k.promise_floor(p.acceptor) <= n]
    if len(able) < k.quorum:
        return None
    if view.sent_value is not None:
        value: Optional[str] = view.sent_value
        why = f"id {n} already carries {show_value(value)}; send it to the acceptors that lack it"
    else:
        choice = choose_value(held, view.client_value)
        value = choice.value
        why = _why_value(choice.forced_by, value)
    shown = argument(value) if value is not None else VALUE_PLACEHOLDER
    unsafe = _unsafe(k, n, value, shown)
    if unsafe is not None or (value is not None and not k.accept_safety(n, value, held).safe):
        return unsafe  # None: the accept is unsafe, a prepare comes next
    return Hint(Step.ACCEPT, f"accept {n} {shown}", f"{listing(able)} promised id {n}, a quorum; {why}", n, value)


def _unsafe(k: Knowledge, n: int, value: Optional[str], shown: str) -> Optional[Hint]:
    """No accept once another value is chosen: whatever the promises say (a forced accept, an
    acceptor that forgot), accept n `value` could then choose a second value."""
    other = k.chosen_other(value)  # answered from the model's cache of chosen values
    if other is None:
        return None
    return Hint(Step.DONE, None, f"{other.sentence()}, so accept {n} {shown} could choose a second value: no "
                                 "accept is safe to suggest", n, other.value, unsafe=True)


def argument(value: str) -> str:
    """A value as one argument of a command line: quoted as the shell's parser
    (shlex) reads it, or shown with visible escapes when it cannot be typed."""
    shown = show_value(value)
    return shown if shown != value else shlex.quote(value)


def _why_value(forced_by: Optional[Promise], value: Optional[str]) -> str:
    if forced_by is not None:
        return (f"acceptor {forced_by.acceptor} reported {show_value(forced_by.accepted_value)} accepted at id "
                f"{forced_by.accepted_id}, the highest among the promises, so Paxos requires it")
    if value is None:
        return "no promise carries an accepted value, so this proposer may send a value of its choice: choose one"
    return "no promise carries an accepted value, so this proposer may send its own value"


def prepare_hint(k: Knowledge, view: ProposerView) -> Hint:
    """The prepare to send next (or, at the top of the id space, why there is none)."""
    floors = {a: k.promise_floor(a) for a in k.pool}
    promised = max(floors.values(), default=NONE)
    holders = tuple(a for a, f in floors.items() if f == promised and f >= 0)
    top = max(promised, view.seen, view.current_id if view.current_id is not None else NONE)
    nxt = id_above([top], view.number)
    if nxt is None:
        return Hint(Step.EXHAUSTED, None, _exhausted(top, holders if top == promised else (), view), top)
    # A refused accept or a silence shows only a lower bound: 'or more' unless a reply reported it.
    exact = all(_reported(k, a, promised) for a in holders)
    known = f"{listing(holders)} promised {promised}{'' if exact else ' or more'}" if holders else \
        "no promise is known yet"
    if top > promised:  # the proposer's own ids, or ids it saw, run ahead of the promises it knows
        why = f"above id {top}, the highest this proposer used or saw; {known}"
    else:
        why = f"above every promise known: {known}" if holders else known
    refused = _refused(k, view)
    return Hint(Step.PREPARE, f"prepare {nxt}", f"{refused}{why}", nxt)


def _reported(k: Knowledge, a: int, promise: int) -> bool:
    """Whether acceptor a's last known state is exactly this promise (not only a lower bound)."""
    st = k.state_of(a)
    return isinstance(st, Known) and st.promised == promise


def _refused(k: Knowledge, view: ProposerView) -> str:
    n = view.current_id
    if n is None:
        return ""
    held = [p for p in view.promises if p.promised_id == n]
    if len(held) >= k.quorum:
        higher = [p.acceptor for p in held if k.promise_floor(p.acceptor) > n]
        return f"{listing(higher)} promised a higher id since promising {n}, so accept {n} can no longer win; "
    refusals = k.refusals(n)
    if refusals:
        return f"prepare {n} was refused by {listing(o.acceptor for o in refusals)}; "
    return ""


def _exhausted(top: int, holders: tuple[int, ...], view: ProposerView) -> str:
    owned = "" if view.number is None else \
        f" for proposer number {view.number:02d}, whose ids end at {last_id(view.number)}"
    who = f"{listing(holders)} promised {top}" if holders else f"ids up to {top} are used"
    remedy = ("reset the local pool ('reset') to start a new Paxos instance" if view.local_pool else
              "this remote pool cannot go on: only fresh acceptors can, since no id is left above their promises")
    return f"proposal ids are exhausted: {who} and no higher id is left{owned}; {remedy}"


def accept_refusal(k: Knowledge, view: ProposerView, n: int) -> Optional[str]:
    """Why an accept at n cannot be sent as Paxos requires (None when it can), in words
    that say what happened to prepare n rather than asking to run it again."""
    held = [p for p in view.promises if p.promised_id == n]
    if len(held) >= k.quorum:
        return None
    then = prepare_hint(k, view)
    instead = f"{then.command} first" if then.command else then.reason
    refusals = k.refusals(n)
    if refusals:
        return f"prepare {n} was refused: {'; '.join(o.said() for o in refusals)}; {instead}"
    if held:
        return f"only {listing(p.acceptor for p in held)} promised id {n}, and a quorum is {k.quorum}; {instead}"
    ahead = [a for a in k.pool if k.promise_floor(a) >= n]
    if len(k.pool) - len(ahead) < k.quorum:
        return (f"no acceptor promised id {n} to this proposer, and {listing(ahead)} already promised {n} or more; "
                f"{instead}")
    return f"no acceptor promised id {n} to this proposer: run 'prepare {n}' first"
