"""What the live view shows, as JSON-able data: one snapshot of the session after a command.

Its job: read the shell's memory (session, pool, last result, lesson step) and
turn it into plain data the page only displays: one card per acceptor, the
verdict and the possible futures, the explanation sentences, the lesson step,
and the diagram (drawn by svg.py). Every string that may come from outside is
made visible here (text.visible, text.show_value) before it leaves, and the
page writes it with textContent. It never decides a Paxos question itself: the
verdict comes from `verdict_of` alone, the one function to point at the
knowledge model. No I/O beyond asking whether a local acceptor process lives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Reversible

from paxos_shell.core.paxos import NONE
from paxos_shell.core.text import show_value, visible
from paxos_shell.core.vocab import Word
from paxos_shell.core.wire import NO_RESPONSE
from paxos_shell.diagram import svg
from paxos_shell.diagram.trace import masked, request_label
from paxos_shell.engine.session import AcceptorStatus
from paxos_shell.knowledge.outlook import Standing
from paxos_shell.knowledge.possible import Kind
from paxos_shell.knowledge.proposers import shell_label
from paxos_shell.shell.formats import to_ms
from paxos_shell.shell.teach import explain

if TYPE_CHECKING:
    from paxos_shell.engine.session import HistoryEntry
    from paxos_shell.shell.context import Context

LAST_ROUNDS = 3
"""Rounds drawn in the page's diagram: a propose (two rounds) and what came before it."""

PROPOSERS_SHOWN = 40
"""Proposers listed on the page (most recently heard first): a class of 30 fits, each with its colour."""
PROPOSERS_WINDOW = 2000
"""History entries (the latest) the proposers list is read from, so a snapshot stays cheap."""

DROP_WORD = "drop"
"""How session.faults words a drop fault (debugcmds: 'drop 50% requests')."""


class VerdictKind(Word):
    """The verdict in large type: what the page colours, never what it decides."""

    CHOSEN = "chosen"
    NOT_CHOSEN = "not chosen"
    UNKNOWN = "unknown"
    VIOLATION = "violation"


CARD_FIELDS = ("status", "promisedId", "acceptedId", "acceptedValue", "volatile", "faults")
"""The fields of a card whose change the page highlights (latency changes every round)."""


def verdict_of(ctx: Context) -> dict[str, Any]:
    """The verdict and the possible futures, as the page shows them: the knowledge model's
    own answer (the same Outlook the terminal's `state` prints), never recomputed here.
    {"verdict": VerdictKind, "headline": str, "detail": [str], "futures": {"kind": Kind, "text": str}}.
    """
    s = ctx.session
    o = s.outlook()
    return _verdict(VERDICTS[o.standing], o.headline(), o.summary(s.quorum, s.pool_size), o.futures.kind,
                    o.futures.sentence())


VERDICTS = {
    Standing.BROKEN: VerdictKind.VIOLATION,
    Standing.CHOSEN: VerdictKind.CHOSEN,
    Standing.OPEN: VerdictKind.NOT_CHOSEN,
    Standing.UNSURE: VerdictKind.UNKNOWN,
}


def _verdict(kind: VerdictKind, headline: str, detail: list[str], future: Kind, text: str) -> dict[str, Any]:
    """The box's parts; the futures sentence has its own line there, so the detail leaves it out."""
    return {"verdict": str(kind), "headline": visible(headline),
            "detail": [visible(d) for d in detail if d != text],
            "futures": {"kind": str(future), "text": visible(text)}}


def _id(n: int) -> Optional[int]:
    return None if n == NONE else n


def card(ctx: Context, i: int) -> dict[str, Any]:
    """One acceptor as the shell last heard it: state, status, volatility and faults."""
    st = ctx.session.statuses.get(i)
    local = ctx.pool.local
    status = str(st.kind) if st else str(AcceptorStatus.UNKNOWN)
    if local is not None and not local.is_up(i):
        status = str(AcceptorStatus.DOWN)
    faults = ctx.session.faults.get(i)
    return {
        "id": i,
        "status": status,
        "promisedId": _id(st.promised_id) if st else None,
        "acceptedId": _id(st.accepted_id) if st else None,
        "acceptedValue": show_value(st.accepted_value) if st and st.accepted_id != NONE else None,
        "volatile": bool(local is not None and local.members[i].volatile),
        "faults": visible(faults) if faults else None,
        "latencyMs": to_ms(st.latency) if st is not None else None,
    }


def mark_changes(cards: list[dict[str, Any]], before: Optional[list[dict[str, Any]]]) -> None:
    """Each card's `changed`: the fields that differ from the previous snapshot's card."""
    old = {c["id"]: c for c in before or []}
    for c in cards:
        prev = old.get(c["id"])
        c["changed"] = [] if prev is None else [f for f in CARD_FIELDS if prev.get(f) != c.get(f)]


def lesson(ctx: Context) -> Optional[dict[str, Any]]:
    step = ctx.lesson_step
    if step is None:
        return None
    return {"name": visible(step.lesson), "title": visible(step.title), "number": step.number,
            "total": step.total, "command": visible(step.command), "notes": [visible(n) for n in step.notes]}


@dataclass
class Tracker:
    """Snapshots in sequence: remembers just enough of the last one to mark what changed.

    It keeps the previous cards (for highlights), the round count (for the
    rounds to animate), which command produced `ctx.last` (the explanation's
    subject) and which acceptors had drop faults in force in each new round
    (the history does not say, and a drop looks like a timeout on the wire).
    """

    seq: int = -1
    session: object = None
    """The session the rounds below belong to: a lesson going back starts a new one at round 0."""
    rounds_seen: int = 0
    cards: Optional[list[dict[str, Any]]] = None
    settled: Optional[list[dict[str, Any]]] = None
    """The cards after the last whole command: a command's last snapshot marks all it changed,
    though its turns (shell/pace.py) were drawn one by one in between."""
    last: object = None
    about: Optional[str] = None
    drops: dict[int, frozenset[int]] = field(default_factory=dict)
    drawn: svg.RoundCache = field(default_factory=dict)

    def snapshot(self, ctx: Context, line: str, settled: bool = True) -> dict[str, Any]:
        self.seq += 1
        s = ctx.session
        if s is not self.session:
            self.session, self.rounds_seen = s, 0
            self.drops.clear()
            self.drawn.clear()  # its round numbers start again: nothing drawn before is theirs
        if ctx.last is not self.last:
            self.last, self.about = ctx.last, visible(line.strip())
        entries = masked(recent(s.history, LAST_ROUNDS), ctx.out.secrets)  # before labels are shortened
        self._note_drops(ctx, entries)
        cards = [card(ctx, i) for i in sorted(ctx.client.urls)]
        mark_changes(cards, self.settled if settled else self.cards)
        self.cards = cards
        if settled:
            self.settled = cards
        fresh_after = self.rounds_seen
        self.rounds_seen = s.rounds
        return {
            "seq": self.seq,
            "line": visible(line.strip()),
            "pool": {"description": visible(ctx.pool.description), "size": s.pool_size, "quorum": s.quorum},
            "proposer": {"name": visible(s.active), "id": s.proposer.current_id, "count": len(s.proposers)},
            "verdict": verdict_of(ctx),
            "acceptors": cards,
            "diagram": {"svg": svg.diagram(entries, ctx.client.urls, ctx.round_marks, LAST_ROUNDS,
                                           fresh_after=fresh_after, drops=self.drops, cache=self.drawn),
                        "rounds": s.rounds, "new": s.rounds - fresh_after},
            "explanation": {"about": self.about, "sentences": [visible(x) for x in explain(ctx.last)]},
            "lesson": lesson(ctx),
            "teach": ctx.teach,
            "proposers": proposers_of(ctx),
            "roundEndedAt": round_end(entries),
        }

    def _note_drops(self, ctx: Context, entries: list[HistoryEntry]) -> None:
        """Acceptors with a drop fault while the rounds since the last snapshot ran."""
        dropping = frozenset(i for i, f in ctx.session.faults.items() if DROP_WORD in f)
        for e in entries:
            if e.round_no > self.rounds_seen and dropping:
                self.drops[e.round_no] = dropping
        for old in [r for r in self.drops if r <= ctx.session.rounds - 10 * LAST_ROUNDS]:
            del self.drops[old]  # memory stays flat over a long lesson


def proposers_of(ctx: Context) -> dict[str, Any]:
    """Every proposer heard lately (the shell's and, through `watch`, others), most recent first:
    its label, its colour (the diagram's, svg.hue), its exchanges lately, its last request and
    how many proposer rules it broke. {"list": [...], "more": int}."""
    s = ctx.session
    broke: dict[str, int] = {}
    for v in s.knowledge.proposers.violations():
        broke[v.proposer] = broke.get(v.proposer, 0) + 1
    seen: dict[str, dict[str, Any]] = {}
    for k, e in enumerate(reversed(s.history)):
        if k == PROPOSERS_WINDOW:
            break
        p = seen.get(e.proposer)
        if p is None:
            judged = shell_label(e.proposer) if e.proposer in s.proposers else e.proposer
            p = seen[e.proposer] = {"name": visible(e.proposer), "hue": svg.hue(e.proposer), "exchanges": 0,
                                    "last": visible(request_label(e.reply)), "violations": broke.get(judged, 0)}
        p["exchanges"] += 1
    shown = list(seen.values())
    return {"list": shown[:PROPOSERS_SHOWN], "more": max(0, len(shown) - PROPOSERS_SHOWN)}


def recent(history: Reversible[HistoryEntry], rounds: int) -> list[HistoryEntry]:
    """The entries of the last `rounds` rounds, read from the end (the history holds 10,000)."""
    out: list[HistoryEntry] = []
    seen: set[int] = set()
    for e in reversed(history):
        if e.round_no not in seen:
            if len(seen) == rounds:
                break
            seen.add(e.round_no)
        out.append(e)
    out.reverse()
    return out


def round_end(entries: list[HistoryEntry]) -> Optional[float]:
    """When the last answer of the last round arrived (wall clock), for the latency benchmark."""
    if not entries:
        return None
    last = entries[-1].round_no
    times = [e.reply.at + e.reply.latency for e in entries
             if e.round_no == last and e.reply.kind != NO_RESPONSE and e.reply.at]
    return max(times) if times else None
