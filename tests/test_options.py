"""Values a user types (options.py): one parser of whole numbers, whose every refusal is one
short line, however long or strange the text."""

from __future__ import annotations

import pytest

from paxos_shell.core.options import BadValue, is_whole_number, parse_int, parse_timeout


def test_is_whole_number_refuses_what_int_would_misread() -> None:
    assert is_whole_number("7") and is_whole_number("-1")
    assert not any(map(is_whole_number, ["1e3", "²", "0x7", "+7", "", "-", "1_000", "٣"]))


@pytest.mark.parametrize("raw,low,high,message", [
    ("²", 0, None, "bad count '²': expected a whole number"),
    ("0", 1, 20, "bad count 0: choose 1 to 20"),
    ("-5", 0, None, "bad count -5: choose 0 or more"),
    ("1" * 5000, 0, None, "bad count: a number of 5,000 digits; choose 0 or more"),  # past int()'s own limit
    ("1" * 31, 0, None, "bad count: a number of 31 digits; choose 0 or more"),
    ("x" * 5000, 0, None, f"bad count '{'x' * 39}…': expected a whole number"),
    ("7\x1b[2J", 0, None, "bad count '7\\x1b[2J': expected a whole number"),
])
def test_parse_int_refuses_in_one_short_line(raw: str, low: int, high: int, message: str) -> None:
    with pytest.raises(BadValue) as e:
        parse_int(raw, "count", low, high)
    assert str(e.value) == message


def test_parse_int_reads_what_it_accepts() -> None:
    assert parse_int("12", "count", 1, 20) == 12
    assert parse_int(" 0 ", "count") == 0
    assert parse_int("9" * 30, "count") == 10 ** 30 - 1  # the longest number read


def test_a_long_timeout_is_cut_in_its_error() -> None:
    with pytest.raises(BadValue) as e:
        parse_timeout("9" * 5000)
    assert str(e.value) == f"bad timeout {'9' * 39}…: choose 0.05 to 60 seconds"
