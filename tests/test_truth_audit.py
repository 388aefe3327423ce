"""A truth audit of the sentences the shell prints about Paxos, through its real output.

Each test replays a scenario in which a sentence used to be false or misleading,
and asserts the true sentence (and that the false one is gone).
"""

from __future__ import annotations

import io
from typing import Any, Callable

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell

from .helpers import dead_url, run
from .helpers.fake import Fake, Handler, wire_json


def words(text: str) -> str:
    return " ".join(text.split())


def said(sh: Shell, line: str) -> str:
    """Everything a command printed, on one line."""
    return words(run(sh, line)[1])


def test_a_carried_value_is_not_called_the_only_possible_one_after_a_forced_accept(local: Shell) -> None:
    for line in ("prepare 3 1 2", "accept 3 A 1 2", "accept 5 B 1 --force", "set teach on"):
        run(local, line)
    out = said(local, "prepare 6 1 3")
    assert "could only be that one" not in out  # A is chosen at id 3, below 6
    assert ("Acceptor 1 reported 'B' accepted at id 5, the highest among the promises, so Paxos obliges this "
            "proposer to carry it; but an accept was forced against Paxos, and 'A' is already chosen (acceptors 1 "
            "and 2 accepted it at id 3).") in out


def test_a_volatile_acceptor_outside_the_chosen_quorum_is_not_a_condition_on_it(local: Shell) -> None:
    run(local, "restart 3 --volatile")
    run(local, "prepare 1")  # acceptor 3 promises 1, in memory only
    run(local, "set teach on")
    out = said(local, "accept 1 A 1 2")
    # A rests on acceptors 1 and 2, which keep their state on disk: 3 forgetting cannot undo it.
    assert "stays chosen only while" not in out
    assert ("It can never change: any later proposer's prepare reaches one of these acceptors, learns the value, and "
            "must propose it again. Acceptor 3 keeps its state in memory only, but a quorum that keeps its state on "
            "disk accepted this value.") in out
    out = said(local, "state")
    assert "Chosen: A (accepted at id 1 by acceptors 1 and 2, quorum is 2 of 3)" in out
    assert "holds only while" not in out
    run(local, "restart 3")  # it forgets promise 1; A is still the only value any proposer can get chosen
    run(local, "proposer B")
    out = said(local, "propose B 2 3")
    assert "value=A" in out and "Consensus Reached" in out


def test_a_forced_accept_that_did_no_harm_is_not_said_to_overwrite_a_chosen_value(local: Shell) -> None:
    run(local, "set teach on")
    out = said(local, "accept 5 X --force")  # a fresh pool: nothing was accepted, so nothing was chosen
    assert "overwrite" not in out
    assert ("This accept was forced against Paxos (only 0 promises for id 5, a quorum is 2: run 'prepare 5' first), "
            "but every acceptor was known to have promised less than id 5 and a quorum accepted it: the pool is as "
            "a correct proposal would leave it.") in out
    assert "It can never change" in out
    out = said(local, "accept 7 Y 1 --force")  # X is chosen; Y at 7 on acceptor 1 alone
    assert ("This accept was forced against Paxos (only 0 promises for id 7, a quorum is 2: run 'prepare 7' "
            "first): Paxos no longer guarantees that only one value can be chosen.") in out


def test_a_refused_prepare_names_each_acceptors_own_promise(local: Shell) -> None:
    for line in ("prepare 8 2", "prepare 9 3", "set teach on"):
        run(local, line)
    out = said(local, "prepare 5 2 3")
    assert "they had promised id 9 already" not in out  # acceptor 2 promised 8
    assert ("Acceptors 2 and 3 refused because they had promised ids at or above 5 already (acceptor 2: 8, "
            "acceptor 3: 9).") in out


def server_error(h: Handler) -> None:
    """An acceptor that cannot persist: every request is a 500, which changes nothing."""
    h.respond(500, wire_json({"status": 500, "error": "Internal Server Error", "message": "disk full",
                              "path": "/api/paxos/prepare"}))


def test_an_http_error_is_an_answer_that_changed_nothing(fake: Callable[..., Fake], acceptors: Any) -> None:
    (a,) = acceptors(1)
    sh = Shell(Pool({1: fake(server_error).url, 2: a.url, 3: dead_url()}, "test"), timeout=5.0,
               stream=io.StringIO(), err=io.StringIO(), colour=False)
    run(sh, "set teach on")
    out = said(sh, "prepare 5 1 3")
    assert "Acceptor 1 answered with an error, which changes nothing; acceptor 3 did not answer." in out
    sh.close()


def test_retries_after_unreachable_acceptors_are_not_called_refused(local: Shell) -> None:
    for line in ("down 2", "down 3", "set teach on"):
        run(local, line)
    out = said(local, "propose X --retry 2")  # no acceptor refused anything: two are down
    assert "were refused" not in out
    assert ("The first 2 attempts ended without a value chosen; before each retry this proposer waited a random "
            "pause, which is what stops two proposers from overtaking each other forever.") in out


def test_a_promise_known_only_as_a_lower_bound_is_not_stated_exactly(local: Shell) -> None:
    other = Shell(Pool(dict(local.client.urls), "other"), timeout=5.0, stream=io.StringIO(), err=io.StringIO(),
                  colour=False)
    run(local, "prepare 5")
    run(other, "prepare 9")  # another shell: this one never hears of id 9
    out = said(local, "accept 5 X")
    assert "promised 6)" not in out  # they promised 9; this shell knows only 'more than 5'
    assert "above every promise known: acceptors 1, 2 and 3 promised 6 or more)" in out
    other.close()


def test_expect_reports_the_last_prepare_and_outcome_truthfully(local: Shell) -> None:
    run(local, "prepare 5")
    run(local, "state")
    code, out = run(local, "expect promises 3")  # the last prepare: 3 promises, a state read since
    assert code == 0 and words(out) == "PASS expect promises 3 (last prepare, round 1: 3 promises)"
    run(local, "propose A")
    code, out = run(local, "expect promises 2")  # propose's own prepare is the last one
    assert code == 1 and words(out) == "FAIL expect promises 2 (last prepare, round 3: 3 promises)"
    run(local, "state")
    code, out = run(local, "expect outcome chosen")
    assert code == 1 and "no accept or propose yet" not in out
    assert words(out) == ("FAIL expect outcome chosen (the last Paxos command was a state read, not an accept or "
                          "propose)")


def test_an_acceptor_that_forgot_breaks_the_guarantees_and_two_values_break_safety(local: Shell) -> None:
    for line in ("restart 3 --volatile", "prepare 1 2 3", "accept 1 A 2 3", "restart 3", "set teach on",
                 "proposer B"):
        run(local, line)
    out = said(local, "prepare --server-ids 1 3")  # nothing is chosen twice yet: safety holds, its guarantee does not
    assert "Safety is broken" not in out
    assert ("Paxos's guarantees no longer hold: acceptor 3 stopped after round 2 and kept its state in memory only: "
            "it forgot promise 1 and A accepted at id 1: acceptors must keep what they acknowledged. No guarantee "
            "below holds.") in out
    out = said(local, "accept B 1 3")
    assert ("Safety is broken: two different values were chosen: A at id 1 by acceptors 2 and 3 and B at id 101 by "
            "acceptors 1 and 3: at most one value is ever chosen (and 1 more violation). No guarantee below "
            "holds.") in out


def test_explain_says_what_changed_since_the_command_it_explains(local: Shell) -> None:
    run(local, "propose A")
    out = said(local, "explain")
    assert "It can never change" in out and "Since then" not in out
    run(local, "reset 3")  # acceptor 3 forgets A: the explanation's 'never change' no longer holds
    out = said(local, "explain")
    assert out.startswith("Since then, Paxos's guarantees no longer hold: acceptor 3 was wiped by reset after round 2 "
                          "while the others kept their state: it forgot promise 0 and A accepted at id 0: acceptors "
                          "must keep what they acknowledged. What follows is what that command showed.")


def test_stale_states_do_not_say_an_unheard_acceptor_reported_a_promise(acceptors: Any) -> None:
    urls = {a.id: a.url for a in acceptors(5)}
    mine, other = (Shell(Pool(urls, name), timeout=5.0, stream=io.StringIO(), err=io.StringIO(), colour=False)
                   for name in ("mine", "other"))
    run(mine, "prepare 3")
    run(other, "prepare 5 1 2 3")
    run(other, "accept 5 V 1")
    run(mine, "accept 3 X 2")  # refused: acceptor 2's state is now unknown to this shell (it reported nothing)
    out = said(mine, "state 1")
    assert "acceptors 1 and 2 report a promise" not in out
    assert ("Acceptor 1 accepted V at id 5, yet as far as this shell last heard only acceptors 1 and 2 can hold a "
            "promise of 5 or more, not a quorum: these states were not all read at one moment") in out
    mine.close()
    other.close()


def test_an_unknown_outcome_does_not_promise_that_any_new_prepare_will_tell(local: Shell) -> None:
    for line in ("prepare 5", "set timeout 0.5", "drop 3 replies 100", "set teach on"):
        run(local, line)
    out = said(local, "accept 5 X 1 3")
    assert "will tell" not in out
    assert ("Acceptor 1 accepted X at id 5; acceptor 3 went silent and may have accepted it; a quorum is 2 of 3. "
            "Whether it is chosen stays unknown until the silent acceptors answer again (a state read, or a prepare "
            "that reaches them).") in out
    run(local, "prepare 6 1 2")  # a new prepare that misses acceptor 3 tells nothing about it
    out = said(local, "state 1 2")
    assert "No value is known to be chosen (quorum is 2 of 3)." in out and "Chosen:" not in out


def test_a_value_learned_from_a_report_is_not_said_to_be_accepted_in_that_round(shell: Shell) -> None:
    other = Shell(Pool(dict(shell.client.urls), "other"), timeout=5.0, stream=io.StringIO(), err=io.StringIO(),
                  colour=False)
    for line in ("prepare 5", "accept 5 X 1", "accept 5 Y 2 --force"):
        run(other, line)
    out = said(shell, "state")  # this shell's round 1 reads what the other shell caused earlier
    assert "accepted by acceptor 1, round 1" not in out
    assert ("proposal id 5 carries two values: X (reported by acceptor 1 in round 1) and Y (reported by acceptor 2 "
            "in round 1)") in out
    other.close()


def test_the_amnesia_lesson_says_what_each_acceptor_reports_and_what_check_proves(local: Shell) -> None:
    code, out = run(local, "lesson amnesia")
    text = words(out)
    assert code == 0 and "neither remembers anything" not in text  # acceptor 1 never saw A: it forgot nothing
    assert "acceptor 1 never saw A, and acceptor 3 forgot it." in text
    check = text[text.index("> check"):]
    # The forgetting is known from the restart, not from a reply; the two values chosen, from four replies.
    assert ("VIOLATION: acceptor 3 stopped after round 2 and kept its state in memory only: it forgot promise 1 and A "
            "accepted at id 1: acceptors must keep what they acknowledged. VIOLATION: two different values") in check
    assert check.count("(accept ") == 4


def test_a_volatile_promise_is_not_said_to_hold_from_now_on(local: Shell) -> None:
    run(local, "restart 3 --volatile")
    run(local, "set teach on")
    out = said(local, "prepare 5")
    assert ("A quorum (3 promises, 2 needed) promised id 5: none of them will accept a lower id from now on, "
            "acceptor 3 only until it restarts (it keeps its promise in memory only).") in out
    run(local, "restart 3")
    out = said(local, "accept 4 X 3 --force")  # acceptor 3 forgot promise 5 and takes id 4
    assert "Received accepts from: [3]" in out
