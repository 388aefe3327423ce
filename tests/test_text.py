"""Foreign strings made safe (text.py): every control and bidi character shown, never raw."""

from __future__ import annotations

import json

import pytest

from paxos_shell.core.text import json_dumps, show_value, span, visible

HOSTILE = "A\x1b]0;pwned\x07\x1b[2JZ"


def test_visible_escapes_every_unprintable_character() -> None:
    assert visible(HOSTILE) == "A\\x1b]0;pwned\\x07\\x1b[2JZ"
    assert visible("left\u202eright") == "left\\u202eright"  # a bidi override, shown
    assert visible("csi\x9b2J") == "csi\\x9b2J"  # a C1 control
    assert visible("plain text, é and 漢字") == "plain text, é and 漢字"


@pytest.mark.parametrize("value,shown", [
    ("test-val", "test-val"), ("", "''"), (" padded", "' padded'"), ("two\nlines", "'two\\nlines'"),
    (HOSTILE, "'A\\x1b]0;pwned\\x07\\x1b[2JZ'"), (None, "-"), ("back\\slash", "back\\slash"),
])
def test_show_value_quotes_what_is_not_plain(value: object, shown: str) -> None:
    assert show_value(value) == shown  # type: ignore[arg-type]  # None is a valid "no value"


def test_json_escapes_c1_and_bidi_and_still_round_trips() -> None:
    data = {"v": "a\x9b\u202e😀\x1b", "k": "é"}
    text = json_dumps(data)
    assert "\x9b" not in text and "\u202e" not in text and "\x1b" not in text
    assert "\\u009b" in text and "\\u202e" in text and "😀" in text and "é" in text
    assert json.loads(text) == data


def test_span() -> None:
    assert span([1, 2, 3]) == "1..3" and span([1, 3]) == "1, 3" and span([8081]) == "8081"


def test_long_values_are_shortened_and_say_their_length() -> None:
    assert show_value("v" * 10_000) == "v" * 59 + "… (10,000 characters)"
    assert show_value("v" * 10_000, limit=None) == "v" * 10_000
    assert show_value("v" * 60) == "v" * 60


def test_counts_take_the_number_of_their_noun() -> None:
    from paxos_shell.core.text import counted

    assert [counted(n, "promise") for n in (0, 1, 2, 1000)] == ["0 promises", "1 promise", "2 promises",
                                                              "1,000 promises"]
    assert counted(1, "more violation") == "1 more violation"


def test_wrap_counts_display_cells() -> None:
    # Was textwrap, which counts code points: 世界 and 🙂 take two cells each.
    from paxos_shell.core.text import width_of, wrap

    text = "after accept 10 héllo-🙂-世界 世界世界 a line breaks inside id 10 and more words here"
    for width in (20, 30, 40):
        lines = wrap(text, width, "  ", "    ")
        assert all(width_of(ln) <= width for ln in lines) and " ".join(" ".join(lines).split()) == text
    assert wrap("x" * 25, 10, "> ", "  ") == ["> xxxxxxxx", "  xxxxxxxx", "  xxxxxxxx", "  x"]
