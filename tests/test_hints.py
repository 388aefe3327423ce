"""Next-step hints: never a request the shell already knows will fail, in the words printed."""

from __future__ import annotations

from paxos_shell.core.paxos import MAX_ID, Promise
from paxos_shell.knowledge.facts import Reset
from paxos_shell.knowledge.hints import ProposerView, Step, accept_refusal, argument, next_step
from paxos_shell.knowledge.model import Knowledge

from .helpers.sim import Pool


def fresh() -> tuple[Knowledge, Pool]:
    k = Knowledge([1, 2, 3])
    k.add(Reset(0, (1, 2, 3)))
    return k, Pool(3, k)


def held(n: int, *acceptors: int, vote: tuple[int, str] = (-1, "")) -> tuple[Promise, ...]:
    return tuple(Promise(a, n, vote[0], vote[1] if vote[0] >= 0 else None) for a in acceptors)


def test_a_fresh_proposer_prepares_the_first_id() -> None:
    k, _ = fresh()
    assert next_step(k, ProposerView()).sentence() == "Next: prepare 0 (no promise is known yet)"


def test_after_a_refused_prepare_the_hint_is_a_higher_prepare_not_an_accept() -> None:
    k, pool = fresh()
    pool.prepare(5)
    pool.prepare(3)                                        # refused by all: promisedId 5
    hint = next_step(k, ProposerView(current_id=3, client_value="max"))
    assert hint.step == Step.PREPARE
    assert hint.sentence() == ("Next: prepare 6 (prepare 3 was refused by acceptors 1, 2 and 3; above every promise "
                               "known: acceptors 1, 2 and 3 promised 5)")


def test_an_unanswered_prepare_does_not_hide_the_promises_known() -> None:
    k, pool = fresh()
    pool.prepare(5)
    pool.prepare(6, lost=[1, 2, 3])                        # no answer: the promises known are still 5
    hint = next_step(k, ProposerView(current_id=6, seen=6))
    assert hint.sentence() == ("Next: prepare 7 (above id 6, the highest this proposer used or saw; "
                               "acceptors 1, 2 and 3 promised 5 or more)")  # they may have promised 6


def test_after_a_failed_propose_the_hint_is_never_an_accept_at_a_dead_id() -> None:
    k, pool = fresh()
    pool.prepare(1)
    pool.prepare(0, [1, 2])                                # the propose's prepare 0: refused
    hint = next_step(k, ProposerView(current_id=0, client_value="hello world"))
    assert hint.command == "prepare 2"


def test_a_quorum_of_promises_leads_to_accept_with_the_client_value_quoted() -> None:
    k, pool = fresh()
    pool.prepare(7)
    hint = next_step(k, ProposerView(current_id=7, promises=held(7, 1, 2, 3), client_value="hello world"))
    assert hint.sentence() == ("Next: accept 7 'hello world' (acceptors 1, 2 and 3 promised id 7, a quorum; no "
                               "promise carries an accepted value, so this proposer may send its own value)")


def test_a_reported_value_is_required() -> None:
    k, pool = fresh()
    pool.prepare(3, [1])
    pool.accept(3, "A", [1])
    pool.prepare(7, [1, 2])
    view = ProposerView(current_id=7, promises=(Promise(1, 7, 3, "A"), Promise(2, 7)), client_value="B")
    assert next_step(k, view).sentence() == (
        "Next: accept 7 A (acceptors 1 and 2 promised id 7, a quorum; acceptor 1 reported A accepted at id 3, the "
        "highest among the promises, so Paxos requires it)")


def test_without_a_client_value_the_hint_names_the_placeholder() -> None:
    k, pool = fresh()
    pool.prepare(7)
    assert next_step(k, ProposerView(current_id=7, promises=held(7, 1, 2))).command == "accept 7 VALUE"


def test_promises_overtaken_by_a_higher_id_lead_to_prepare() -> None:
    k, pool = fresh()
    pool.prepare(7)
    pool.prepare(9, [1, 2])                                # another proposer overtakes at 1 and 2
    hint = next_step(k, ProposerView(current_id=7, promises=held(7, 1, 2, 3), client_value="v"))
    assert hint.sentence() == ("Next: prepare 10 (acceptors 1 and 2 promised a higher id since promising 7, so "
                               "accept 7 can no longer win; above every promise known: acceptors 1 and 2 promised 9)")


def test_a_chosen_proposal_leaves_nothing_to_do() -> None:
    k, pool = fresh()
    pool.prepare(7)
    pool.accept(7, "A")
    hint = next_step(k, ProposerView(current_id=7, promises=held(7, 1, 2, 3), sent_value="A"))
    assert (hint.step, hint.command) == (Step.DONE, None)
    assert hint.sentence() == ("Acceptors 1, 2 and 3 accepted A at id 7, and a quorum is 2 of 3, so A is chosen: "
                               "nothing is left to do for this proposal.")


def test_at_the_top_of_the_id_space_the_ids_are_exhausted_local() -> None:
    k, pool = fresh()
    pool.prepare(MAX_ID)
    hint = next_step(k, ProposerView(current_id=MAX_ID))
    assert (hint.step, hint.command) == (Step.EXHAUSTED, None)
    assert hint.sentence() == ("Proposal ids are exhausted: acceptors 1, 2 and 3 promised 2147483647 and no higher id "
                               "is left; reset the local pool ('reset') to start a new Paxos instance.")


def test_a_proposer_number_runs_out_earlier_and_a_remote_pool_cannot_go_on() -> None:
    k, pool = fresh()
    pool.prepare(2147483548)                               # the last id ending in 48
    hint = next_step(k, ProposerView(number=48, local_pool=False))
    assert hint.sentence() == (
        "Proposal ids are exhausted: acceptors 1, 2 and 3 promised 2147483548 and no higher id is left for proposer "
        "number 48, whose ids end at 2147483548; this remote pool cannot go on: only fresh acceptors can, since no "
        "id is left above their promises.")
    assert next_step(k, ProposerView(number=47)).command == "prepare 2147483647"


def test_an_accept_after_a_refused_prepare_says_what_happened() -> None:
    k, pool = fresh()
    pool.prepare(9500)
    pool.prepare(9000)
    assert accept_refusal(k, ProposerView(current_id=9000), 9000) == (
        "prepare 9000 was refused: acceptor 1 refused prepare 9000, reporting promisedId 9500 in round 2; acceptor 2 "
        "refused prepare 9000, reporting promisedId 9500 in round 2; acceptor 3 refused prepare 9000, reporting "
        "promisedId 9500 in round 2; prepare 9501 first")
    assert accept_refusal(k, ProposerView(current_id=9000), 9600) == \
        "no acceptor promised id 9600 to this proposer: run 'prepare 9600' first"
    assert accept_refusal(k, ProposerView(current_id=9500, promises=held(9500, 1, 2)), 9500) is None


def test_values_become_one_command_argument() -> None:
    assert [argument(v) for v in ("A", "hello world", "", "it's", "A\x1b[2J")] == [
        "A", "'hello world'", "''", "'it'\"'\"'s'", "'A\\x1b[2J'"]


def test_no_accept_is_suggested_once_another_value_is_chosen() -> None:
    """Issue 20, item 2: after a forced accept made B chosen, `accept 5 A` would choose a second value."""
    k, pool = fresh()
    pool.prepare(5)
    pool.accept(5, "A", [1])
    pool.accept(5, "B", [2, 3], forced=True)
    hint = next_step(k, ProposerView(current_id=5, promises=held(5, 1, 2, 3), sent_value="A"))
    assert hint.step == Step.DONE and hint.command is None
    assert hint.sentence() == ("B is chosen: acceptors 2 and 3 accepted it at id 5, so accept 5 A could choose a "
                               "second value: no accept is safe to suggest.")


def test_no_accept_is_suggested_at_an_id_that_carries_two_values() -> None:
    """Two values sent at one id, none chosen: resending either is unsafe, so a prepare comes next."""
    k, pool = fresh()
    pool.prepare(5)
    pool.accept(5, "A", [1])
    pool.accept(5, "B", [2], forced=True)
    hint = next_step(k, ProposerView(current_id=5, promises=held(5, 1, 2, 3), sent_value="A"))
    assert hint.step == Step.PREPARE and hint.command == "prepare 6"
