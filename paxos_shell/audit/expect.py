"""What a reply should have been, by the rules in paxos.py: pure comparisons, no I/O.

Every judgement the auditor makes about one reply goes through here, and here
only applies paxos.on_prepare / paxos.on_accept (the functions the acceptor
itself calls) to the state the acceptor should be in, then compares the reply
with that transition. There is no second copy of the acceptor rules: an equal
id, for instance, is judged by on_prepare's strict comparison, which is the
paxos-server rule of docs/protocol.md (a prepare at the promised id is ignored).
Each function returns the new expected state and, when the reply disagrees,
one sentence saying how; never raises for anything an acceptor sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from paxos_shell.core.paxos import NONE, AcceptorState, on_accept, on_prepare, possible_state
from paxos_shell.core.text import show_value
from paxos_shell.core.wire import Phase, Reply, ReplyKind

EQUAL_ID_RULE = "a prepare at the promised id itself is ignored (strictly above, the paxos-server rule)"


def _said(granted: bool) -> str:
    return "granted" if granted else "ignored"


def no_reply(what: str, reply: Optional[Reply]) -> Optional[str]:
    """Why `reply` is not a protocol reply at all, or None when it is one."""
    if reply is None:
        return f"{what} got no reply"
    if reply.kind in (ReplyKind.ERROR, ReplyKind.NO_RESPONSE):
        return f"{what} got no protocol reply: {reply.cause}"
    return None


def _pair(reply: Reply) -> str:
    if reply.accepted_id == NONE:
        return "no accepted pair"
    return f"accepted {reply.accepted_id}: {show_value(reply.accepted_value)}"


def _want_pair(state: AcceptorState) -> str:
    if state.accepted_id == NONE:
        return "no accepted pair"
    return f"accepted {state.accepted_id}: {show_value(state.accepted_value)}"


def prepare(before: AcceptorState, n: int, reply: Optional[Reply]) -> tuple[AcceptorState, Optional[str]]:
    """The state after prepare n, and how the reply breaks the rules (or None)."""
    what = f"prepare {n}"
    missing = no_reply(what, reply)
    if missing or reply is None:
        return before, missing
    t = on_prepare(before, n)
    if reply.granted != t.granted:
        why = "" if t.granted else f" ({EQUAL_ID_RULE})" if n == before.promised_id else ""
        return before, (f"{what} was {_said(reply.granted)}, but with promisedId {before.promised_id} "
                        f"the rules say {_said(t.granted)}{why}")
    if t.granted and reply.promised_id != n:
        return t.state, f"{what} was granted with promisedId {reply.promised_id}, not {n}"
    if (t.granted or reply.accepted_id != NONE) and (reply.accepted_id, reply.accepted_value) != (
            t.state.accepted_id, t.state.accepted_value if t.state.accepted_id != NONE else None):
        return t.state, f"{what} reported {_pair(reply)}; the acceptor holds {_want_pair(t.state)}"
    if not t.granted and reply.promised_id not in (NONE, before.promised_id):
        return t.state, f"{what} was ignored citing promisedId {reply.promised_id}; the promise is {before.promised_id}"
    return t.state, None


def accept(before: AcceptorState, n: int, value: str, reply: Optional[Reply]) -> tuple[AcceptorState, Optional[str]]:
    """The state after accept n value, and how the reply breaks the rules (or None)."""
    what = f"accept {n} {show_value(value)}"
    missing = no_reply(what, reply)
    if missing or reply is None:
        return before, missing
    t = on_accept(before, n, value)
    if reply.granted != t.granted:
        return before, (f"{what} was {_said(reply.granted)}, but with promisedId {before.promised_id} "
                        f"the rules say {_said(t.granted)}")
    if t.granted and (reply.accepted_id, reply.accepted_value) != (n, value):
        return t.state, f"{what} was granted reporting {_pair(reply)}"
    return t.state, None


def state_of(reply: Optional[Reply]) -> tuple[Optional[AcceptorState], Optional[str]]:
    """The state a state reply reports (None when it is no state reply), and why it is no state
    an acceptor following the rules can be in (paxos.possible_state), or None when it is one."""
    missing = no_reply("the state read", reply)
    if missing or reply is None:
        return None, missing
    value = (reply.body or {}).get("acceptedValue")
    st = AcceptorState(reply.promised_id, reply.accepted_id, value)
    try:
        possible_state(st.promised_id, st.accepted_id, st.accepted_value)
    except ValueError as e:
        shown = f"promisedId {st.promised_id}, acceptedId {st.accepted_id}, acceptedValue {show_value(value)}"
        return st, f"the state route reports an impossible state ({shown}): {e}"
    return st, None


def same_state(expected: AcceptorState, seen: AcceptorState) -> Optional[str]:
    """How the state route disagrees with the replies before it, or None."""
    if expected == seen:
        return None
    return (f"the state route says promisedId {seen.promised_id}, {_want_pair(seen)}; the replies before it "
            f"say promisedId {expected.promised_id}, {_want_pair(expected)}")


# --- across a restart --------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """One request sent before a restart, as the durability rules weigh it."""

    phase: Phase
    n: int
    value: Optional[str]
    granted: bool
    """Acknowledged: a reply granted it."""
    acted: bool
    """The acceptor may have acted on it: a protocol reply, or no reply at all (indefinite)."""


def promise_lost(after: AcceptorState, asked: Sequence[Asked]) -> Optional[tuple[int, str]]:
    """Whether the promise after a restart fell below an acknowledged prepare or accept (an accept
    promises its id too): the index of the highest acknowledged one and how, or None."""
    acked = [i for i, q in enumerate(asked) if q.granted]
    if not acked:
        return None
    top = max(acked, key=lambda i: asked[i].n)
    if after.promised_id >= asked[top].n:
        return None
    return top, f"promisedId is {after.promised_id}, below the acknowledged {asked[top].phase} {asked[top].n}"


def accept_lost(after: AcceptorState, asked: Sequence[Asked]) -> Optional[tuple[int, str]]:
    """Whether the accepted pair after a restart is neither the last acknowledged accept nor one
    sent after it that may have taken effect (an indefinite request may have, as in Jepsen): the
    index of the last acknowledged accept and how, or None."""
    accepts = [i for i, q in enumerate(asked) if q.phase == Phase.ACCEPT]
    acked = [i for i in accepts if asked[i].granted]
    if not acked:
        return None
    top = max(acked, key=lambda i: asked[i].n)
    held = (after.accepted_id, after.accepted_value)
    if held == (asked[top].n, asked[top].value):
        return None
    if any(asked[i].n > asked[top].n and (asked[i].n, asked[i].value) == held and asked[i].acted for i in accepts):
        return None
    return top, (f"the acceptor holds accepted {after.accepted_id}: {show_value(after.accepted_value)}, not the "
                 f"acknowledged accept {asked[top].n} {show_value(asked[top].value)}")
