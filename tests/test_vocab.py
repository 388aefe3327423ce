"""The closed vocabularies' base (core/vocab.py): a word reads as itself in sentences, JSON and tables."""

from __future__ import annotations

import json

from paxos_shell.core.vocab import Word
from paxos_shell.core.wire import Phase, ReplyKind


def test_a_word_prints_and_serialises_as_the_word_people_read() -> None:
    assert f"{Phase.PREPARE}" == "prepare" and str(ReplyKind.NO_RESPONSE) == ReplyKind.NO_RESPONSE.value
    assert json.dumps({"phase": Phase.ACCEPT}) == '{"phase": "accept"}'
    assert Phase.ACCEPT == "accept" and Phase("accept") is Phase.ACCEPT


def test_every_closed_vocabulary_of_the_core_is_a_word() -> None:
    for vocab in (Phase, ReplyKind):
        assert issubclass(vocab, Word) and all(str(w) == w.value for w in vocab)
