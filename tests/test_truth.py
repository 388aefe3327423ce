"""Every Paxos claim the shell prints is true (issue 9), through the shell's real output.

Each test is one observation of a new user, replayed, with the words the shell
must (and must not) print. The last test runs every lesson with explanations on
and checks each command's output against the knowledge model at that moment:
"can never change" and "any value" appear only when the model says so.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from paxos_shell.core.paxos import MAX_ID
from paxos_shell.knowledge.outlook import Caution, Standing
from paxos_shell.knowledge.possible import Kind
from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.lessons import lesson_names

from .helpers import dead_url, run
from .helpers.fake import Fake, Handler, wire_json


def words(text: str) -> str:
    return " ".join(text.split())


def shell_on(urls: dict[int, str]) -> Shell:
    return Shell(Pool(urls, "test"), timeout=1.0, stream=io.StringIO(), err=io.StringIO(), colour=False)


# 1 ----------------------------------------------------------------------------------


def test_1_a_second_value_at_one_id_is_refused(shell: Shell) -> None:
    run(shell, "prepare 5")
    assert run(shell, "accept 5 X")[0] == 0
    code, out = run(shell, "accept 5 Y")
    assert code == 1 and words(out) == ("error: refused: this shell already sent accept 5 X: a proposal id carries "
                                        "one value, so Y needs a higher id (prepare one first) (add --force to send "
                                        "it anyway)")
    _, out = run(shell, "state")
    assert "SAFETY VIOLATION" not in out and "Chosen: X (accepted at id 5" in out


# 2 ----------------------------------------------------------------------------------


def test_2_silent_and_unreachable_acceptors_make_the_future_unknown(acceptors: Any, blackhole: Any) -> None:
    (a,) = acceptors(1)
    hole = blackhole()
    sh = shell_on({1: a.url, 2: hole.url, 3: dead_url()})
    sh.engine.client.timeout = 1.0
    run(sh, "accept 1 X 1 --force")  # acceptor 1 holds a value (all three had, before this shell)
    sh.new_session()  # a fresh shell, knowing nothing
    run(sh, "set teach on")
    _, out = run(sh, "state")
    text = words(out)
    assert "No value is chosen yet" not in text and "any value may still" not in text.lower()
    assert "No value is known to be chosen (quorum is 2 of 3)." in text
    assert "Unknown which values can still be chosen: the state of acceptors 2 and 3 is not known" in text
    sh.close()


def test_2_with_every_acceptor_unreachable_nothing_is_claimed() -> None:
    sh = shell_on({1: dead_url(), 2: dead_url(), 3: dead_url()})
    _, out = run(sh, "state")
    text = words(out)
    assert "No value is chosen yet" not in text
    assert "Unknown which values can still be chosen: the state of acceptors 1, 2 and 3 is not known" in text
    sh.close()


# 3 ----------------------------------------------------------------------------------


def test_3_two_values_in_every_quorum_means_only_those_two(local: Shell) -> None:
    for line in ("prepare 1 1 2", "accept 1 A 1", "prepare 2 2 3", "accept 2 B 2", "set teach on"):
        run(local, line)
    _, out = run(local, "state")
    text = words(out)
    assert "Only A or B can ever be chosen" in text
    assert "any value" not in text.lower() and "nothing is chosen yet" not in text.lower()
    assert local.session.outlook().futures.kind == Kind.ONLY


# 4 ----------------------------------------------------------------------------------


def test_4_hints_never_suggest_a_request_known_to_fail(local: Shell) -> None:
    run(local, "prepare 9")
    code, out = run(local, "prepare 7")
    assert code == 1 and "Next: accept 7" not in out
    assert "Next: prepare 10 (prepare 7 was refused by acceptors 1, 2 and 3; above every promise known" in words(out)
    code, out = run(local, "accept 7 v")
    assert code == 1 and "prepare 7 was refused" in words(out) and "run 'prepare 7' first" not in out
    run(local, "reset")
    run(local, "set value 'hello world'")
    run(local, "down 2")
    run(local, "down 3")
    code, out = run(local, "propose Z")
    assert code == 1 and "Next: accept 0" not in out and "hello world" not in out


def test_4_at_the_top_of_the_id_space_the_ids_are_exhausted(local: Shell) -> None:
    code, out = run(local, f"prepare {MAX_ID}")
    assert code == 0 and f"prepare {MAX_ID + 1}" not in out and f"Next: accept {MAX_ID} VALUE" in words(out)
    for line in ("prepare", "propose v"):
        code, out = run(local, line)
        assert code == 1 and "ID: " not in out and "bad id" not in out and str(MAX_ID + 1) not in out
        assert words(out).startswith(f"error: Proposal ids are exhausted: acceptors 1, 2 and 3 promised {MAX_ID}")
        assert "reset the local pool ('reset') to start a new Paxos instance" in words(out)


# 5 ----------------------------------------------------------------------------------


def test_5_an_http_error_is_a_refusal_not_maybe_accepted(local: Shell) -> None:
    code, out = run(local, "propose " + "v" * 10_000)
    text = words(out)
    assert code == 1 and "No Consensus" in text
    assert "Outcome unknown" not in text and "may have accepted" not in text
    assert "HTTP 414" in text  # what the acceptors answered, shown


# 6 ----------------------------------------------------------------------------------


def test_6_after_two_values_are_chosen_every_statement_leads_with_it(local: Shell) -> None:
    run(local, "propose A")
    run(local, "prepare 5 2 3")
    run(local, "accept 5 B 2 3 --force")
    run(local, "set teach on")
    _, out = run(local, "state")
    lines = [ln for ln in out.splitlines() if ln.strip() and not re.match(r"^(\d|-|server|id )", ln)]
    assert lines[0].startswith("SAFETY VIOLATION: two different values were chosen")
    assert "can never change" not in out and not any(ln.startswith("Chosen:") for ln in lines)
    _, out = run(local, "prepare 9")
    assert out.splitlines()[2].startswith("SAFETY VIOLATION")  # after 'Contacting servers' and 'ID'
    assert "can never change" not in out


# 7 ----------------------------------------------------------------------------------


def lenient_prepare(h: Handler) -> None:
    """An acceptor that grants every prepare, whatever it promised: it breaks the rule."""
    n = int(parse_qs(urlsplit(h.path).query)["id"][0])
    h.respond(200, wire_json({"ignored": False, "promisedId": n}))


@pytest.fixture
def lenient() -> Iterator[str]:
    fake = Fake(lenient_prepare)
    yield fake.url
    fake.close()


def test_7_a_reply_that_breaks_the_rules_is_flagged_on_the_spot(acceptors: Any, lenient: str) -> None:
    accs = acceptors(2)
    sh = shell_on({1: lenient, 2: accs[0].url, 3: accs[1].url})
    run(sh, "prepare 5 1")
    _, out = run(sh, "prepare 3 1")
    assert ("RULE BROKEN: acceptor 1 promised 3 in round 2, although in round 1 it promised 5: a promise needs an "
            "id above every earlier promise.") in words(out)
    _, out = run(sh, "check")
    assert out.count("VIOLATION:") == 1 and "{'ignored'" not in out and "None" not in out
    sh.close()


# 8 ----------------------------------------------------------------------------------


def test_8_bench_runs_both_phases_every_time(local: Shell) -> None:
    code, out = run(local, "bench 5")
    assert code == 0 and re.search(r"^both phases ran\s+5/5$", out, re.M)
    local.out.fmt = local.out.fmt.__class__("json")
    _, out = run(local, "state")
    for acc in json.loads(out)["acceptors"].values():
        assert acc["acceptedId"] == acc["promisedId"]  # the last proposal's accept reached them all


# 9 ----------------------------------------------------------------------------------


def test_9_small_untruths(local: Shell) -> None:
    run(local, "set value fallback")
    code, out = run(local, "propose")
    assert code == 0 and "value=fallback" in out
    code, out = run(local, "prepare 1e3")
    assert out == "error: bad id '1e3': expected a whole number\n"
    code, out = run(local, "expect chosen")
    assert code == 0 and out.startswith("PASS expect chosen (chosen: fallback)")
    run(local, "reset")
    run(local, "prepare 9001")
    run(local, "prepare 9000")
    code, out = run(local, "accept 9000 v")
    assert code == 1 and "run 'prepare 9000' first" not in out
    assert "prepare 9000 was refused: acceptor 1 refused prepare 9000, reporting promisedId 9001" in words(out)


# every lesson --------------------------------------------------------------------------


def test_no_lesson_says_never_change_or_any_value_unless_the_model_does(local: Shell) -> None:
    said: list[tuple[str, str, Any]] = []
    mark = [0]

    def listen(line: str) -> None:
        text = local.out.stream.getvalue()  # type: ignore[attr-defined]  # a StringIO in this test
        said.append((line, text[mark[0]:], local.session.outlook()))
        mark[0] = len(text)

    local.out.stream = io.StringIO()
    local.listeners.append(listen)
    for name in lesson_names():
        run_all = local.run_line(f"lesson {name}")
        assert run_all == 0, name
        mark[0] = 0
        local.out.stream = io.StringIO()
    assert len(said) > 60
    checked = 0
    for line, text, outlook in said:
        flat = words(text).lower()
        if "can never change" in flat:
            checked += 1
            volatile = any(c.kind == Caution.VOLATILE for c in outlook.caveats)
            assert outlook.standing == Standing.CHOSEN and outlook.guaranteed and not volatile, (line, text)
        if "any value may" in flat:
            checked += 1
            assert outlook.futures.kind == Kind.ANY, (line, text)
    assert checked >= 5


# issue 20 ------------------------------------------------------------------------------


def test_issue20_2_no_hint_overwrites_a_value_chosen_by_a_forced_accept(local: Shell) -> None:
    run(local, "prepare 5")
    _, out = run(local, "accept 5 A 1")
    assert "Next: accept 5 A (" in words(out)  # A is not chosen yet: resending it is what Paxos wants
    _, out = run(local, "accept 5 B 2 3 --force")
    assert "Next: accept" not in out
    local.out.fmt = local.out.fmt.__class__("json")
    _, out = run(local, "accept 5 B 2 3 --force")
    assert json.loads(out)["hint"] == ("B is chosen: acceptors 2 and 3 accepted it at id 5, so accept 5 A could "
                                       "choose a second value: no accept is safe to suggest.")


def html_page(h: Handler) -> None:
    h.respond(200, b"<!doctype html><html><body>It works!</body></html>", ctype="text/html")


def test_issue20_3_unknown_states_say_what_happened() -> None:
    honest, page, unasked = Fake(), Fake(html_page), Fake()
    sh = shell_on({1: honest.url, 2: page.url, 3: unasked.url, 4: dead_url()})
    try:
        _, out = run(sh, "state 1 2 4")
        assert ("Unknown which values can still be chosen: the state of acceptors 2, 3 and 4 is not known: acceptor 2 "
                "answered, but not as an acceptor, in round 1; acceptor 3 was not asked; acceptor 4 could not be "
                "reached in round 1.") in words(out)
        assert "never answered" not in out
    finally:
        sh.close()
        for f in (honest, page, unasked):
            f.close()
