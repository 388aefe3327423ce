"""The rules at the edges of the API: exact values, bad input, negative ids.

values-exact sends values that break naive parsers (spaces, `+ & = % # ?`,
quotes, newline, tab, accents, CJK, emoji, right-to-left text) and then finds,
by a bounded binary search, the longest value the acceptor takes: a fact for
the report, not a failure; only a value taken and then returned changed fails.
bad-input and negative-ids send what no proposer should, and require a 4xx (or,
for a negative id, a handling under which no rule breaks) and no change of
state. The judgement of every protocol reply is still expect.py's.
"""

from __future__ import annotations

from typing import Optional

from paxos_shell.audit import expect
from paxos_shell.audit.auditor import Auditor, Broken
from paxos_shell.audit.exchange import Exchange
from paxos_shell.audit.rules import tag
from paxos_shell.core.paxos import MAX_ID, AcceptorState
from paxos_shell.core.text import show_value
from paxos_shell.core.wire import ACCEPT, PREPARE, STATE, Phase, ReplyKind

ODD_VALUES = (
    "", " ", "two words", "  padded  ", "+ & = % # ?", "a+b=c&d=e", "100%", "%20%zz%", "#fragment?query",
    'double "quotes"', "single 'quotes'", "line\nbreak", "tab\there", "crlf\r\nend", "back\\slash",
    "café naïve Ünïcödé", "日本語の値", "값 한국어", "emoji 🎉👍🏽", "עברית RTL", "العربية", "\u202eoverride",
)
LONGEST_PROBE = 256 * 1024
"""The longest value tried: an acceptor that takes this is reported as taking at least that much."""


def _is_4xx(x: Exchange) -> bool:
    return x.status is not None and 400 <= x.status < 500


def values_exact(a: Auditor) -> str:
    """Every odd value comes back byte for byte (reply, state, later promise); then the limit."""
    st = a.state()
    for value in ODD_VALUES:
        st = _round_trip(a, st, value)
    longest = _longest(a, st)
    fact = (f"takes values of at least {LONGEST_PROBE:,} bytes" if longest >= LONGEST_PROBE
            else f"the longest value it takes is {longest:,} ASCII bytes")
    a.facts.append(fact)
    return f"{len(ODD_VALUES)} odd values came back exactly; {fact}"


def _round_trip(a: Auditor, st: AcceptorState, value: str) -> AcceptorState:
    """Accept value at a fresh id; the reply, the state and the next promise must carry it exactly."""
    n = a.ids(4)
    st = a.accept(st, n, value)
    st = a.check_state(st)
    return a.prepare(st, n + 1)


def _taken(a: Auditor, st: AcceptorState, size: int) -> tuple[AcceptorState, bool]:
    """Whether a value of `size` ASCII bytes is taken; a value taken must come back exact."""
    n = a.ids(2)
    value = (tag(a, "values-exact", size) + "-") * (size // 20 + 1)
    value = value[:size]
    x = a.accept_raw(n, value)
    if x.reply is None or x.reply.kind in (ReplyKind.ERROR, ReplyKind.NO_RESPONSE):
        return st, False
    after, why = expect.accept(st, n, value, x.reply)
    if why:
        raise Broken(f"a {size:,}-byte value: {why}", [x])
    a.see(after)
    return a.check_state(after, [x]), True


def _longest(a: Auditor, st: AcceptorState) -> int:
    """Binary search (bounded: about 20 probes) for the longest ASCII value taken."""
    lo, hi = 0, LONGEST_PROBE + 1
    st, ok = _taken(a, st, LONGEST_PROBE)
    if ok:
        return LONGEST_PROBE
    while hi - lo > 1:
        mid = (lo + hi) // 2
        st, ok = _taken(a, st, mid)
        lo, hi = (mid, hi) if ok else (lo, mid)
    big = "é" * max(1, lo // 7)  # six bytes percent-encoded each: well within the limit found
    _round_trip(a, a.state(), big)
    return lo


BAD = (
    # method, path, params ("{n}": an id above the promise), what it is, sends a prepare or accept
    ("POST", PREPARE, None, "a prepare with no id", True),
    ("POST", PREPARE, {"id": "abc"}, "a prepare with id 'abc'", True),
    ("POST", PREPARE, {"id": "{n}.5"}, "a prepare with a fractional id", True),
    ("POST", PREPARE, {"id": ""}, "a prepare with an empty id", True),
    ("POST", PREPARE, {"id": str(MAX_ID + 1)}, f"a prepare with id {MAX_ID + 1} (above a 32-bit int)", True),
    ("POST", ACCEPT, {"id": "{n}"}, "an accept with no value", True),
    ("POST", ACCEPT, {"value": "v"}, "an accept with no id", True),
    ("POST", ACCEPT, {"id": "x{n}", "value": "v"}, "an accept with a non-numeric id", True),
    ("GET", "/api/paxos/no-such-route", None, "an unknown route", False),
    ("GET", PREPARE, {"id": "{n}"}, "a GET on the prepare route", True),
    ("GET", ACCEPT, {"id": "{n}", "value": "v"}, "a GET on the accept route", True),
    ("POST", STATE, None, "a POST on the state route", False),
    ("DELETE", STATE, None, "a DELETE on the state route", False),
)


def bad_input(a: Auditor) -> str:
    """Each bad request gets a 4xx and leaves the state as it was."""
    st = a.state()
    n = a.ids(10)
    tried = 0
    for method, path, params, what, writes in BAD:
        if writes and a.options.read_only:
            continue
        filled = {k: v.replace("{n}", str(n)) for k, v in params.items()} if params else None
        x = a.send(method, path, filled)
        if not _is_4xx(x):
            got = f"status {x.status}" if x.status is not None else f"no reply ({x.cause})"
            raise Broken(f"{what} got {got}, not a 4xx", [x])
        a.check_state(st, [x])
        tried += 1
    return f"{tried} bad requests each got a 4xx and changed nothing"


def negative_ids(a: Auditor) -> str:
    """A negative id is refused with a 4xx, or handled so that no rule breaks."""
    st = a.state()
    fresh = st == AcceptorState()
    for n in (-1, -7, -(2 ** 31)):
        x = a.prepare_raw(n)
        if not _is_4xx(x):
            st = a.see(_judged(expect.prepare(st, n, x.reply), x))
    x = a.accept_raw(-1, tag(a, "negative-ids", 1))
    if _is_4xx(x):
        a.check_state(st, [x])
        return "prepare and accept with negative ids got a 4xx and changed nothing"
    if fresh and x.reply is not None and x.reply.granted:
        _invisible(a, x)
    _judged(expect.accept(st, -1, tag(a, "negative-ids", 1), x.reply), x)
    return "negative ids were answered as the rules say (ignored), and changed nothing"


def _judged(result: tuple[AcceptorState, Optional[str]], x: Exchange) -> AcceptorState:
    after, why = result
    if why:
        raise Broken(why, [x])
    return after


def _invisible(a: Auditor, x: Exchange) -> None:
    """accept -1 granted on a fresh acceptor: the value sits at no proposal id, and no later prepare
    reports it (as the Java paxos-server does). Broken, with the accept, the state and a prepare."""
    s = a.send("GET", STATE, phase=Phase.STATE)
    p = a.prepare_raw(0)
    seen = p.reply.accepted_value if p.reply is not None else None
    value = show_value(tag(a, "negative-ids", 1))
    hidden = "no later prepare reports it" if seen is None else f"prepare 0 reported {show_value(seen)}"
    raise Broken(f"accept -1 {value} was granted on a fresh acceptor: a value at id -1 is no possible state "
                 f"(paxos.possible_state), and {hidden}; a value that may be chosen is invisible to proposers",
                 [x, s, p])
