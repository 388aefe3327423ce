"""Property: however proposers interleave and messages get lost, at most one value is chosen.

Two levels: the pure rules under thousands of schedules, and the real engine
against real HTTP acceptors under fewer. Both use the same paxos.py rules.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxos_shell.acceptor.node import AcceptorNode
from paxos_shell.acceptor.server import AcceptorServer
from paxos_shell.acceptor.store import Store
from paxos_shell.core import paxos
from paxos_shell.core.paxos import AcceptorState, Promise
from paxos_shell.engine.proposer import Engine
from paxos_shell.engine.results import ProposerError
from paxos_shell.engine.session import Session
from paxos_shell.net.client import Client

from .helpers import serve_in_thread

N_ACCEPTORS = 3


@dataclass
class SimProposer:
    number: int
    value: str
    n: Optional[int] = None
    promises: list[Promise] = field(default_factory=list)
    seen: int = -1


ACCEPTOR_SET = st.frozensets(st.integers(0, N_ACCEPTORS - 1), min_size=1)
# A step: (proposer index, action, acceptors sent to, acceptors whose reply is lost)
steps = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(["prepare", "accept"]), ACCEPTOR_SET,
              st.frozensets(st.integers(0, N_ACCEPTORS - 1), max_size=1)),
    min_size=1, max_size=30,
)


@settings(max_examples=1000, deadline=None)
@given(steps)
def test_pure_rules_never_choose_two_values(schedule: list[tuple[int, str, frozenset, frozenset]]) -> None:
    accs = [AcceptorState() for _ in range(N_ACCEPTORS)]
    props = [SimProposer(i, f"v{i}") for i in range(3)]
    facts: set[tuple[int, int, Optional[str]]] = set()
    for who, action, targets, lost in schedule:
        p = props[who]
        ids = sorted(targets)
        if action == "prepare":
            n = paxos.id_above([p.seen, p.n if p.n is not None else -1], p.number)
            assert n is not None  # a few dozen rounds never reach the top of the id space
            p.n = n
            p.promises = []
            for a in ids:
                t = paxos.on_prepare(accs[a], p.n)
                accs[a] = t.state
                if a in lost:
                    continue  # the reply is lost; the promise still stands at the acceptor
                p.seen = max(p.seen, t.state.promised_id)
                if t.granted:
                    p.promises.append(Promise(a, p.n, t.state.accepted_id, t.state.accepted_value))
        elif p.n is not None and len(p.promises) >= paxos.quorum(N_ACCEPTORS):
            value = paxos.choose_value(p.promises, p.value).value
            assert value is not None
            for a in ids:
                t = paxos.on_accept(accs[a], p.n, value)
                accs[a] = t.state
                if t.granted:
                    facts.add((a, p.n, value))
    chosen = paxos.chosen_values(facts, N_ACCEPTORS)
    assert len({c.value for c in chosen}) <= 1, chosen


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["prepare", "accept"]), ACCEPTOR_SET),
                min_size=1, max_size=12))
def test_real_engines_against_http_acceptors_never_choose_two_values(
    schedule: list[tuple[int, str, frozenset]],
) -> None:
    """Three shells' engines, interleaved step by step against real HTTP acceptors."""
    with tempfile.TemporaryDirectory() as tmp:
        servers = []
        for i in range(1, N_ACCEPTORS + 1):
            store = Store(f"{tmp}/a{i}")
            srv = AcceptorServer(("127.0.0.1", 0), AcceptorNode(i, store, store.open()))
            serve_in_thread(srv)
            servers.append((srv, store))
        urls = {i: f"http://127.0.0.1:{srv.server_address[1]}" for i, (srv, _) in enumerate(servers, 1)}
        engines = []
        for k in range(3):
            eng = Engine(Client(urls, timeout=2.0), Session(urls))
            eng.session.proposer.number = k
            eng.session.proposer.client_value = f"value-{k}"
            engines.append(eng)
        try:
            for who, action, targets in schedule:
                eng = engines[who]
                ids = sorted(a + 1 for a in targets)
                if action == "prepare":
                    eng.prepare(None, ids)
                else:
                    try:
                        eng.accept(None, None, ids)  # only ever what Paxos allows
                    except ProposerError:
                        pass
            final = engines[0].state()
            facts = {(r.acceptor, r.accepted_id, r.accepted_value) for e in engines for h in e.session.history
                     for r in [h.reply] if r.accepted_id >= 0}
            assert len({c.value for c in paxos.chosen_values(facts, N_ACCEPTORS)}) <= 1
            assert len({c.value for c in final.outlook.chosen}) <= 1
            assert all(not e.session.knowledge.violations() for e in engines)  # no shell saw a rule broken
        finally:
            for eng in engines:
                eng.client.close()
            for srv, store in servers:
                srv.shutdown()
                srv.server_close()
                store.close()
