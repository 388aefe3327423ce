"""The base of every closed vocabulary: an Enum whose value is the word people read.

A `Word` compares equal to its string and prints as it (`str(Phase.PREPARE)` is
`prepare`), so it goes into JSON, tables and sentences unchanged. No I/O.
"""

from __future__ import annotations

from enum import Enum


class Word(str, Enum):
    def __str__(self) -> str:
        return str(self.value)
