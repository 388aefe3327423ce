"""The proposer rules caught through the watch: foreign proposers (a process on `requests`) break
each rule in front of real acceptors, and `check --json` names the rule, the proposer and the
exchanges; sound foreign rounds, many in a row, are never flagged."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest

from .helpers import Acceptor, run
from .helpers.watched import Watched, watching


@pytest.fixture
def watched(acceptors: Callable[..., list[Acceptor]]) -> Iterator[Watched]:
    w = watching(acceptors(3))
    run(w.sh, "set format json")
    yield w
    w.sh.close()


def proposer_violations(w: Watched) -> list[dict[str, Any]]:
    _, out = run(w.sh, "check")
    return [v for v in json.loads(out)["violations"] if v["proposer"] is not None]


def test_the_old_scripts_accept_without_a_quorum_is_caught_under_its_address(watched: Watched) -> None:
    """proposer_demo.py with --contact-count 1: one promise, and an accept anyway."""
    said = watched.propose("--id", "5", "--value", "apple", "--to", "1")
    assert said["promised"] == [1] and said["accepted"] == [1]
    found = proposer_violations(watched)
    assert [(v["rule"], v["proposer"], v["id"]) for v in found] == [("accept-without-quorum", "127.0.0.1", 5)]
    assert {(e["acceptor"], e["proposer"]) for e in found[0]["evidence"]} >= {(1, "127.0.0.1")}


def test_an_accept_with_a_value_the_promises_forbid_is_caught_under_the_proposers_name(watched: Watched) -> None:
    watched.propose("--id", "5", "--value", "apple", "--to", "1,2", "--name", "alice", "--keep-alive")
    said = watched.propose("--id", "9", "--value", "banana", "--to", "2,3", "--name", "bob", "--own-value")
    assert said["value"] == "banana" and said["accepted"] == [2, 3]  # the acceptors obey; bob broke the rule
    found = proposer_violations(watched)
    assert [(v["rule"], v["proposer"], v["id"]) for v in found] == [("accept-wrong-value", "bob", 9)]
    assert any(e["acceptor"] == 2 and "apple" in e["said"] for e in found[0]["evidence"])


def test_one_id_sent_with_two_values_is_caught(watched: Watched) -> None:
    watched.propose("--id", "5", "--value", "apple", "--to", "1,2", "--name", "carol")
    watched.propose("--id", "5", "--value", "banana", "--no-prepare", "--accept-to", "3", "--name", "carol",
                    "--own-value")
    found = proposer_violations(watched)
    assert ("id-reused", "carol", 5) in [(v["rule"], v["proposer"], v["id"]) for v in found]


def test_sound_foreign_rounds_are_never_flagged_many_in_a_row(watched: Watched) -> None:
    """Ten proposers, each choosing by the rule, some on a quorum only, kept alive or not, ids rising."""
    quorums = ("1,2", "2,3", "1,3", "1,2,3")
    for k in range(10):
        extra = ("--keep-alive",) if k % 2 else ()
        name = ("--name", f"p{k}") if k % 3 else ()
        said = watched.propose("--id", str(10 + k), "--value", f"v{k}", "--to", quorums[k % 4], *extra, *name)
        assert said["value"] == "v0"  # chosen by the first; every later one must carry it
        assert proposer_violations(watched) == [], k
    _, out = run(watched.sh, "check")
    assert json.loads(out)["ok"] is True
