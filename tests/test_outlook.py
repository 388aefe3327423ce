"""outlook.guaranteed: the one test of whether Paxos's guarantees hold (model.py and Outlook ask it)."""

from __future__ import annotations

from paxos_shell.knowledge import breaks
from paxos_shell.knowledge.facts import Sent
from paxos_shell.knowledge.model import Knowledge
from paxos_shell.knowledge.outlook import Caution, Caveat, guaranteed

from .helpers.sim import Pool


def test_guarantees_hold_unless_a_rule_broke_or_an_accept_was_forced() -> None:
    volatile = Caveat(Caution.VOLATILE, (2,))
    forced = Caveat(Caution.FORCED, sent=Sent(1, 5, "X", True))
    amnesia = breaks.amnesia(1, "came back empty", "promise 7", 0)
    assert guaranteed((), ()) and guaranteed((), (volatile,))
    assert not guaranteed((), (volatile, forced))
    assert not guaranteed((amnesia,), ())


def test_the_knowledge_model_and_its_outlook_agree() -> None:
    """A forced accept after A was chosen: the outlook no longer says guaranteed, and says why first."""
    k = Knowledge([1, 2, 3])
    pool = Pool(3, k)
    pool.prepare(4, [1, 2])
    pool.accept(4, "A", [1, 2])
    assert k.outlook().guaranteed and k.outlook().headline() == "chosen: A"
    pool.accept(5, "B", [3], forced=True)  # no prepare 5: forced against Paxos
    out = k.outlook()
    assert not out.guaranteed and out.best_effort
    assert out.sentences()[0] == ("Accept 5 B was forced in round 3: every guarantee assumes that proposers follow "
                                  "Paxos, so what follows is best effort.")
