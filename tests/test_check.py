"""The invariant checker on planted histories (check.py): each rule, and silence on a correct run."""

from __future__ import annotations

from paxos_shell.check import check
from paxos_shell.session import HistoryEntry
from paxos_shell.wire import GRANTED, IGNORED, OK, Phase, Reply, ReplyKind


def test_check_rules_on_planted_replies() -> None:
    def e(rnd: int, acc: int, phase: str, kind: ReplyKind, body: dict, params: dict) -> HistoryEntry:
        return HistoryEntry(0.0, "main", rnd, Reply(acc, Phase(phase), kind, body, None, 0.0, params))

    bad = [
        e(1, 1, "prepare", GRANTED, {"ignored": False, "promisedId": 9}, {"id": 9}),
        e(2, 1, "prepare", GRANTED, {"ignored": False, "promisedId": 8}, {"id": 8}),  # promised below 9
        e(3, 2, "state", OK, {"promisedId": 3, "acceptedId": 5, "acceptedValue": "v"}, {}),  # accepted > promised
        e(4, 1, "accept", GRANTED, {"ignored": False, "acceptedId": 7, "acceptedValue": "w"},
          {"id": 7, "value": "w"}),  # accepted below its promise 9
        e(5, 3, "prepare", IGNORED, {"ignored": True, "promisedId": 2}, {"id": 6}),  # refused with lower promise
        e(6, 3, "accept", GRANTED, {"ignored": False, "acceptedId": 5, "acceptedValue": "x"},
          {"id": 5, "value": "x"}),  # id 5 now has values v and x
    ]
    rules = [v.rule for v in check(bad, 3)]
    assert rules.count("reply breaks the rules") == 3
    assert "acceptedId above promisedId" in rules and "one value per proposal id" in rules
    good = [
        e(1, 1, "prepare", GRANTED, {"ignored": False, "promisedId": 1}, {"id": 1}),
        e(1, 2, "prepare", IGNORED, {"ignored": True, "promisedId": 4}, {"id": 1}),
        e(2, 1, "accept", GRANTED, {"ignored": False, "acceptedId": 1, "acceptedValue": "a"}, {"id": 1, "value": "a"}),
        e(3, 1, "state", OK, {"promisedId": 1, "acceptedId": 1, "acceptedValue": "a"}, {}),
    ]
    assert check(good, 3) == []


