"""The sequential Paxos rules of the battery, one function per rule, named as the issue names them.

Each rule reads the acceptor's state, takes ids above everything it has seen
(so rules never depend on what earlier ones left), drives a short sequence of
prepares and accepts on one connection, and lets the Auditor judge every reply
with the rules in paxos.py. A rule returns one line saying what passed, or
raises Broken with the exchanges that prove the failure. Values are tagged with
the rule and the seed, so a report names exactly what was sent.
"""

from __future__ import annotations

from paxos_shell.audit.auditor import Auditor
from paxos_shell.audit.expect import EQUAL_ID_RULE


def tag(a: Auditor, rule: str, k: int) -> str:
    """A value that says which rule sent it: `audit-<rule>-<seed>-<k>`."""
    return f"audit-{rule}-{a.options.seed}-{k}"


def promise_higher(a: Auditor) -> str:
    """A prepare above every id seen is granted with that id, and the state says so."""
    st = a.state()
    n = a.ids(1000)
    st = a.prepare(st, n)
    a.check_state(st)
    m = n + a.rng.randrange(100, 900)
    st = a.prepare(st, m)
    a.check_state(st)
    return f"prepare {n}, then {m} (a gap), were granted with their ids"


def ignore_lower_prepare(a: Auditor) -> str:
    """A prepare below the promise, or equal to it, is ignored and changes nothing."""
    st = a.state()
    base = a.ids(100)
    n = base + 60
    st = a.prepare(st, n)
    low = n - a.rng.randrange(1, 50)
    st = a.prepare(st, low)
    st = a.prepare(st, n)
    a.check_state(st)
    st = a.accept(st, n, tag(a, "ignore-lower-prepare", 1))
    st = a.prepare(st, low + 1)
    a.check_state(st)
    return f"prepare {low} (lower) and {n} (equal: {EQUAL_ID_RULE}) were ignored; nothing changed"


def report_accepted(a: Auditor) -> str:
    """A granted promise reports the most recent accepted pair, after several accepts."""
    st = a.state()
    b = a.ids(100)
    st = a.accept(st, b + 10, tag(a, "report-accepted", 1))
    st = a.accept(st, b + 20, tag(a, "report-accepted", 2))
    st = a.prepare(st, b + 30)
    st = a.accept(st, b + 30, tag(a, "report-accepted", 3))
    st = a.prepare(st, b + 40)
    st = a.prepare(st, b + 50)
    a.check_state(st)
    return "after accepts at three ids, each later promise reported the most recent one"


def accept_respects_promise(a: Auditor) -> str:
    """An accept below the promise is ignored and changes nothing."""
    st = a.state()
    b = a.ids(100)
    st = a.accept(st, b + 10, tag(a, "accept-respects-promise", 1))
    st = a.prepare(st, b + 50)
    st = a.accept(st, b + 49, tag(a, "accept-respects-promise", 2))
    st = a.accept(st, b + 11, tag(a, "accept-respects-promise", 3))
    a.check_state(st)
    return f"accepts at {b + 49} and {b + 11}, below promise {b + 50}, were ignored; nothing changed"


def accept_records(a: Auditor) -> str:
    """An accept at or above the promise is granted, stored, and raises the promise."""
    st = a.state()
    b = a.ids(100)
    st = a.prepare(st, b + 10)
    st = a.accept(st, b + 10, tag(a, "accept-records", 1))
    a.check_state(st)
    st = a.accept(st, b + 20, tag(a, "accept-records", 2))
    a.check_state(st)
    st = a.prepare(st, b + 20)
    return f"accept at the promise ({b + 10}) and above it ({b + 20}) were stored; the second raised the promise"


def state_consistent(a: Auditor) -> str:
    """The state route agrees with every reply before it, and is a possible state."""
    st = a.state(strict=True)
    if a.options.read_only:
        return (f"read-only: the state (promisedId {st.promised_id}, acceptedId {st.accepted_id}) "
                "is a possible one")
    b = a.ids(40)
    for k in range(24):
        n = b + a.rng.randrange(0, 30)
        if a.rng.random() < 0.5:
            st = a.prepare(st, n)
        else:
            st = a.accept(st, n, tag(a, "state-consistent", k))
        a.check_state(st, strict=True)
    return "24 random prepares and accepts, each followed by a state read that agreed with it"
