"""A pool of acceptors run by paxos.py's rules, answering as the REST protocol does.

Shared by the knowledge tests: each request returns the Observation a shell
would build from the real reply (the fields docs/protocol.md puts in the
body), so the knowledge model is tested on the replies it will really see.
"""

from __future__ import annotations

from typing import Iterable, Optional

from paxos_shell.core import paxos
from paxos_shell.core.paxos import NONE, AcceptorState
from paxos_shell.knowledge.facts import Observation, Outcome, Reported, Request, Sent
from paxos_shell.knowledge.model import Knowledge


def pair(s: AcceptorState) -> Reported:
    if s.accepted_id >= 0:
        return Reported(None, s.accepted_id, s.accepted_value, True)
    return Reported()


class Pool:
    """Acceptors 1..n; `lost` acceptors act but their reply never arrives."""

    def __init__(self, n: int, knowledge: Optional[Knowledge] = None) -> None:
        self.states = {a: AcceptorState() for a in range(1, n + 1)}
        self.round = 0
        self.k = knowledge

    def _tell(self, obs: list[Observation]) -> list[Observation]:
        if self.k is not None:
            for o in obs:
                self.k.add(o)
        return obs

    def prepare(self, n: int, targets: Iterable[int] = (), lost: Iterable[int] = ()) -> list[Observation]:
        self.round += 1
        out = []
        for a in targets or self.states:
            t = paxos.on_prepare(self.states[a], n)
            self.states[a] = t.state
            if a in set(lost):
                out.append(Observation(self.round, a, Request.PREPARE, Outcome.SILENT, n))
                continue
            p = pair(t.state)
            promised = t.state.promised_id if t.granted or t.state.promised_id != NONE else None
            rep = Reported(promised, p.accepted_id, p.accepted_value, p.has_value)
            kind = Outcome.GRANTED if t.granted else Outcome.IGNORED
            out.append(Observation(self.round, a, Request.PREPARE, kind, n, None, rep))
        return self._tell(out)

    def accept(self, n: int, value: str, targets: Iterable[int] = (), lost: Iterable[int] = (),
               forced: bool = False) -> list[Observation]:
        self.round += 1
        if self.k is not None:
            self.k.add(Sent(self.round, n, value, forced))
        out = []
        for a in targets or self.states:
            t = paxos.on_accept(self.states[a], n, value)
            self.states[a] = t.state
            if a in set(lost):
                out.append(Observation(self.round, a, Request.ACCEPT, Outcome.SILENT, n, value))
                continue
            rep = Reported(None, n, value, True) if t.granted else Reported()
            kind = Outcome.GRANTED if t.granted else Outcome.IGNORED
            out.append(Observation(self.round, a, Request.ACCEPT, kind, n, value, rep))
        return self._tell(out)

    def state(self, targets: Iterable[int] = ()) -> list[Observation]:
        self.round += 1
        out = []
        for a in targets or self.states:
            s = self.states[a]
            rep = Reported(s.promised_id, s.accepted_id, s.accepted_value, True)
            out.append(Observation(self.round, a, Request.STATE, Outcome.ANSWERED, reported=rep))
        return self._tell(out)


def state_read(round_no: int, a: int, s: AcceptorState) -> Observation:
    """The answer to a state read of acceptor `a` holding `s`."""
    rep = Reported(s.promised_id, s.accepted_id, s.accepted_value, True)
    return Observation(round_no, a, Request.STATE, Outcome.ANSWERED, reported=rep)
