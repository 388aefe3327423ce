"""prepare, accept and propose as steps over the client and the session.

The decisions themselves are paxos.py's and the knowledge model's; this module
feeds them what the wire said, records every round in the session, and returns
results that carry their reasons (and any rule a reply broke), so the shell
can render and explain them without re-deciding.
"""

from __future__ import annotations

import random
import time
from typing import Callable, Optional, Sequence

from paxos_shell.core import paxos
from paxos_shell.core.paxos import Safety, Verdict
from paxos_shell.core.text import counted, listing, show_value, span
from paxos_shell.core.wire import GRANTED, Round
from paxos_shell.engine.results import (
    Accepted,
    AcceptResult,
    AlreadyChosen,
    Attempt,
    Judgement,
    Prepared,
    PrepareResult,
    ProposerError,
    ProposeResult,
    Retrying,
    Started,
    StateResult,
    Step,
)
from paxos_shell.engine.session import Session
from paxos_shell.knowledge.breaks import Violation
from paxos_shell.knowledge.hints import Hint, ProposerView, accept_refusal, next_step, prepare_hint
from paxos_shell.net.client import Client


class Engine:
    """The proposer side of Paxos for one shell session."""

    def __init__(self, client: Client, session: Session, local_pool: bool = True) -> None:
        self.client = client
        self.session = session
        self.local_pool = local_pool
        """Whether this shell started the pool: what a class can do when the ids run out."""

    # -- arguments ----------------------------------------------------------

    def servers(self, ids: Optional[Sequence[int]]) -> list[int]:
        pool = sorted(self.client.urls)
        if not ids:
            return pool
        unknown = [i for i in ids if i not in self.client.urls]
        if unknown:
            raise ProposerError(
                f"unknown acceptor {unknown[0]}: the pool is {span(pool)}"
            )
        return list(dict.fromkeys(ids))

    def _check_id(self, n: int) -> int:
        if not paxos.valid_id(n):
            raise ProposerError(f"bad id {n}: proposal ids run from 0 to {paxos.MAX_ID}")
        return n

    # -- what the session and the knowledge model say ------------------------

    def view(self, local_pool: bool = True) -> ProposerView:
        """The active proposer as the hints see it."""
        p = self.session.proposer
        n = p.current_id
        return ProposerView(p.number, n, tuple(p.promise_list()), self._sent_at(n), p.client_value, p.seen,
                            local_pool)

    def _sent_at(self, n: Optional[int]) -> Optional[str]:
        """The value this shell sent at id n (by any of its proposers), the one accept_safety lets it resend."""
        sent = self.session.knowledge.values_sent(n) if n is not None else ()
        return sent[0] if sent else None

    def _judgement(self) -> Judgement:
        return Judgement(self.session.outlook, self.hint)

    def hint(self) -> Hint:
        return next_step(self.session.knowledge, self.view(self.local_pool))

    def fresh_id(self) -> int:
        """The next id this proposer may use, or a ProposerError saying the ids are used up."""
        n = self.session.next_id()
        if n is None:
            raise ProposerError(prepare_hint(self.session.knowledge, self.view(self.local_pool)).sentence())
        return n

    # -- the three requests ------------------------------------------------

    def _round(self, ask: Callable[[], Round]) -> Round:
        """A round on the network, sent in the active proposer's name; the session is let go
        meanwhile, so a watch can record foreign proposers' rounds while this one waits."""
        self.client.proposer = self.session.active
        with self.session.guard.released():
            return ask()

    def state(self, servers: Optional[Sequence[int]] = None) -> StateResult:
        targets = self.servers(servers)
        rnd = self._round(lambda: self.client.state(targets))
        breaks = self.session.record(rnd)
        return StateResult(rnd, self._judgement(), breaks)

    def prepare(self, n: Optional[int] = None, servers: Optional[Sequence[int]] = None) -> PrepareResult:
        targets = self.servers(servers)
        n = self._check_id(self.fresh_id() if n is None else n)
        rnd = self._round(lambda: self.client.prepare(n, targets))
        breaks = self.session.record(rnd)
        return self._judge_prepare(rnd, n, breaks)

    def _judge_prepare(self, rnd: Round, n: int, breaks: tuple[Violation, ...]) -> PrepareResult:
        p, k, round_no = self.session.proposer, self.session.knowledge, self.session.rounds
        aside = k.set_aside(round_no)
        # A promise is a granted reply the knowledge model did not set aside (trust.py).
        untrusted = {s.acceptor for s in aside}
        promised = [a for a in rnd.ids(GRANTED) if a not in untrusted]
        # Every promise held for n, not only this round's: accept_safety judges the same set.
        promises = [pr for pr in p.promise_list() if pr.promised_id == n]
        choice = paxos.choose_value(promises, p.client_value) if promises else None
        return PrepareResult(rnd, n, promised, self.session.quorum, choice, k.shown_chosen(round_no),
                             self._judgement(), breaks, aside)

    def accept(
        self,
        n: Optional[int] = None,
        value: Optional[str] = None,
        servers: Optional[Sequence[int]] = None,
        force: bool = False,
    ) -> AcceptResult:
        p = self.session.proposer
        targets = self.servers(servers)
        if n is None:
            if p.current_id is None:
                raise ProposerError("no current id: give one (accept ID VALUE) or run prepare first")
            n = p.current_id
        self._check_id(n)
        given = value is not None
        value = value if value is not None else self._required_value(n)
        safety = self.session.knowledge.accept_safety(n, value, p.promise_list())
        if not safety.safe and not force:
            raise ProposerError(f"refused: {self._refusal(n, safety)} (add --force to send it anyway)")
        if given and safety.safe:
            p.client_value = value
        return self._send_accept(n, value, targets, safety, force and not safety.safe)

    def _required_value(self, n: int) -> str:
        p = self.session.proposer
        sent = self._sent_at(n)
        if sent is not None:
            return sent  # an id carries one value: resend what went out at n
        choice = paxos.choose_value([pr for pr in p.promise_list() if pr.promised_id == n], p.client_value)
        if choice.value is None:
            raise ProposerError("missing value: no promise carries one and no client value is set "
                                "(accept ID VALUE, or set value VALUE)")
        return choice.value

    def _refusal(self, n: int, safety: Safety) -> str:
        """Why the accept is refused: what happened to prepare n, when that is the reason."""
        if safety.required is None and not self.session.knowledge.values_sent(n):
            said = accept_refusal(self.session.knowledge, self.view(self.local_pool), n)
            if said is not None:
                return said
        return safety.reason

    def _send_accept(self, n: int, value: str, targets: list[int], safety: Safety, forced: bool) -> AcceptResult:
        rnd = self._round(lambda: self.client.accept(n, value, targets))
        breaks = self.session.record(rnd, forced=forced)
        outcome = self.session.knowledge.outcome(n, value)
        return AcceptResult(rnd, n, value, safety, forced, outcome, self._judgement(), breaks)

    # -- the whole proposer flow --------------------------------------------

    def propose(
        self,
        value: str,
        servers: Optional[Sequence[int]] = None,
        n: Optional[int] = None,
        contact_count: Optional[int] = None,
        retry: int = 0,
        on_step: Optional[Step] = None,
        rng: Optional[random.Random] = None,
        early_stop: bool = True,
    ) -> ProposeResult:
        """Prepare, choose the value Paxos requires, accept; retry if refused.

        With early_stop, a prepare whose promises already show a quorum holding
        one accepted pair ends the proposal there (the value is known chosen);
        without it, phase 2 always runs, as a benchmark of full rounds needs.
        """
        step: Step = on_step or (lambda event: None)
        pool = self.servers(servers)
        self._check_propose(n, contact_count, retry)
        self.session.proposer.client_value = value
        self.session.note_value(value)
        result = ProposeResult(value, Verdict.NOT_CHOSEN, "")
        for attempt in range(retry + 1):
            if attempt:
                pause = paxos.backoff(attempt, rng)
                step(Retrying(attempt, pause))
                time.sleep(pause)
            targets = paxos.pick_servers(pool, contact_count, rng)
            n_try = n if attempt == 0 and n is not None else self.fresh_id()
            if self._attempt(result, targets, n_try, step, early_stop):
                break
        result.judgement = self._judgement()
        return result

    def _check_propose(self, n: Optional[int], contact_count: Optional[int], retry: int) -> None:
        if contact_count is not None and not 1 <= contact_count <= len(self.client.urls):
            raise ProposerError(f"bad contact count {contact_count}: choose 1 to {len(self.client.urls)}")
        if n is not None:
            self._check_id(n)
        if retry < 0:
            raise ProposerError("bad retry count: it must be 0 or more")

    def _attempt(self, result: ProposeResult, targets: list[int], n: int, step: Step, early_stop: bool) -> bool:
        """One prepare (and, with a quorum, one accept); True when the proposal is over."""
        step(Started(tuple(targets), n))
        prep = self.prepare(n, targets)
        att = Attempt(targets, prep)
        result.attempts.append(att)
        step(Prepared(att))
        result.proposal_id = prep.n
        if prep.round.interrupted:
            result.verdict, result.reason = Verdict.UNKNOWN, "interrupted during prepare"
            return True
        if prep.prior_chosen is not None and early_stop:
            c = prep.prior_chosen
            result.verdict, result.early = Verdict.CHOSEN, True
            result.proposal_id, result.value = c.proposal_id, c.value
            result.reason = f"{listing(c.acceptors)} already accepted id {c.proposal_id}, a quorum"
            step(AlreadyChosen(c))
            return True
        if not prep.quorum_reached:
            result.verdict = Verdict.NOT_CHOSEN
            result.reason = f"{counted(len(prep.promised), 'promise')}, quorum is {prep.quorum}"
            return False
        return self._phase2(result, att, step)

    def _phase2(self, result: ProposeResult, att: Attempt, step: Step) -> bool:
        """The accept of an attempt whose prepare reached a quorum, if the core judges it safe."""
        prep = att.prepare
        assert prep.choice is not None  # a quorum of promises always yields a choice
        chosen_value = prep.choice.value if prep.choice.value is not None else result.client_value
        safety = self.session.knowledge.accept_safety(prep.n, chosen_value, self.session.proposer.promise_list())
        if not safety.safe:
            # Never send what the core calls unsafe (a second value at an id, or a value the
            # promises forbid): this attempt ends before phase 2; a retry takes a higher id.
            att.refused = safety
            result.verdict = Verdict.NOT_CHOSEN
            result.reason = f"accept {prep.n} {show_value(chosen_value)} was not sent: {safety.reason}"
            return False
        acc = self._send_accept(prep.n, chosen_value, prep.promised, safety, False)
        att.accept = acc
        step(Accepted(att))
        result.verdict, result.reason = acc.outcome.verdict, acc.outcome.reason
        result.value = acc.value
        return acc.outcome.verdict == Verdict.CHOSEN or acc.round.interrupted
