"""The completer as a pure function of (Document, View): no shell, no network."""

from __future__ import annotations

import os
from typing import Any

import pytest
from prompt_toolkit.document import Document

from paxos_shell.shell import commands  # noqa: F401 - importing the package registers the commands
from paxos_shell.shell.completer import View, complete
from paxos_shell.shell.registry import REGISTRY

VIEW = View(
    acceptors={1: "http://127.0.0.1:8081 · up · promised 7", 2: "http://127.0.0.1:8082 · down",
               3: "http://127.0.0.1:8083 · unknown"},
    current_id=7, next_id=8, values=["test-val", "two words"], required_value="test-val",
)


def texts(line: str, view: View = VIEW) -> list[str]:
    return [c.text for c in complete(Document(line), view)]


def test_command_names_from_the_registry() -> None:
    got = texts("")
    assert set(REGISTRY) <= set(got) and "get-state" in got
    assert texts("pr") == ["prepare", "propose", "proposer"]
    assert texts("st") == ["state"]


def test_command_meta_is_the_summary() -> None:
    (c,) = complete(Document("acc"), VIEW)
    assert c.text == "accept" and "phase 2" in c.display_meta_text


def test_server_ids_with_url_and_state_as_meta() -> None:
    comps = complete(Document("prepare 7 "), VIEW)
    assert [c.text for c in comps] == ["1", "2", "3"]
    assert "8082" in comps[1].display_meta_text and "down" in comps[1].display_meta_text


def test_servers_already_typed_are_not_offered_again() -> None:
    assert texts("prepare 7 1 ") == ["2", "3"]
    assert texts("state 3 ") == ["1", "2"]


def test_first_argument_of_prepare_is_the_next_id() -> None:
    comps = complete(Document("prepare "), VIEW)
    assert [c.text for c in comps] == ["8"] and "next id" in comps[0].display_meta_text


def test_accept_offers_current_id_then_required_value_then_servers() -> None:
    assert texts("accept ") == ["7", "8"]
    comps = complete(Document("accept 7 "), VIEW)
    assert comps[0].text == "test-val" and "required" in comps[0].display_meta_text
    assert "'two words'" in [c.text for c in comps]  # quoted so the shell splits it back right
    assert texts("accept 7 test-val ") == ["1", "2", "3"]


def test_accept_without_id_treats_first_word_as_value() -> None:
    assert texts("accept test-val ") == ["1", "2", "3"]


def test_propose_value_then_servers() -> None:
    assert texts("propose ") == ["test-val", "'two words'"]
    assert texts("propose mine ") == ["1", "2", "3"]


def test_flags_and_flag_values() -> None:
    assert texts("propose v --") == ["--id", "--value", "--server-ids", "--contact-count", "--retry"]
    assert texts("propose v --contact-count ") == ["1", "2", "3"]
    assert texts("prepare --server-ids 1 ") == ["2", "3"]
    assert texts("prepare --id ") == ["8"]
    assert texts("accept --f") == ["--force"]


def test_prefix_filters() -> None:
    assert texts("prepare 7 2") == ["2"]
    assert texts("accept 7 te") == ["test-val"]


def test_set_names_and_values() -> None:
    assert texts("set ") == ["format", "id", "pace", "present", "raw", "teach", "timeout", "value"]  # from the registry
    assert texts("set format ") == ["table", "plain", "json"]


def test_help_completes_command_names() -> None:
    assert "propose" in texts("help p")


def test_unknown_command_completes_nothing() -> None:
    assert texts("frobnicate ") == []
    assert texts("history ") == []


def test_typing_never_lists_the_lessons_directory_again(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from paxos_shell.shell import lessons
    from paxos_shell.shell.completer import view_of

    listed: list[str] = []
    real = os.listdir

    def counting(path: Any) -> list[str]:
        listed.append(str(path))
        return real(path)

    view_of(shell)  # the first may read it (once per process)
    monkeypatch.setattr(lessons.os, "listdir", counting)
    for k in range(1, len("lesson happy")):
        complete(Document("lesson happy"[:k]), view_of(shell))
    assert "happy-path" in texts("lesson h", view_of(shell))
    assert listed == []


def test_the_menu_shows_unprintable_characters_escaped() -> None:
    view = View(acceptors={1: "http://h:1 · up · promised 5, accepted 5: 'x\u202ey'"}, next_id=6,
                values=["A\u202eB", "\x1b[2Jz"])
    got = complete(Document("accept 7000 "), view)
    shown = [(c.display_text, c.display_meta_text) for c in got]
    assert ("'A\\u202eB'", "value seen") in shown and ("'\\x1b[2Jz'", "value seen") in shown
    assert [c.text for c in got][:2] == ["'\x1b[2Jz'", "'A\u202eB'"]  # inserted as typed: it round-trips
    meta = complete(Document("accept 7000 v "), view)[0].display_meta_text
    assert "\u202e" not in meta and "\\u202e" in meta
