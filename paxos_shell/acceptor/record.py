"""The acceptor's state as bytes on disk: the two-slot record, its marker, and format 1.

A record holds two slots of the same size. A slot is one whole state sealed by a
CRC-32 and numbered by a sequence; state number s lives in slot s % 2, so a save
always overwrites the slot that does not hold the newest state. A write torn by a
crash fails its checksum, and the other slot, the previous state, still stands.
`newest` reads both slots and gives each refusal its reason as data. Format 1 is
the older `state.json`, read once to migrate it and then replaced by a tombstone
that older versions refuse to start on. Pure: bytes in, bytes out, never any I/O.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Optional

from paxos_shell.core.paxos import AcceptorState, possible_state
from paxos_shell.core.vocab import Word
from paxos_shell.core.wire import MAX_VALUE_BYTES, is_int

FORMAT = 2
"""Format 1 was `state.json`, replaced atomically on each save; format 2 is this record."""

MAGIC = b"PAXACC\x00\x02"
_HEAD = struct.Struct("<8sIQqqi")
"""magic, CRC-32 of everything after it, sequence, promisedId, acceptedId, value length (-1: no value)."""
_SEALED_FROM = 12
"""The CRC covers the slot from the sequence to the end of the value."""

PAGE = 4096
"""Slots are whole pages, so writing one slot never rewrites a sector of the other."""


def _pages(n: int) -> int:
    return -(-n // PAGE) * PAGE


SLOT_BYTES = _pages(_HEAD.size + MAX_VALUE_BYTES)
"""Large enough for the largest value the protocol can deliver (wire.MAX_VALUE_BYTES)."""
RECORD_BYTES = 2 * SLOT_BYTES
MAX_RECORD_BYTES = 64 * RECORD_BYTES
"""Larger files are not records (a later version may grow its slots, never this much)."""


class SlotProblem(Word):
    """Why a slot was not read as a state."""

    BLANK = "never written"
    MAGIC = "not a state slot"
    CHECKSUM = "checksum mismatch (a torn or damaged write)"
    PLACE = "its sequence belongs in the other slot"
    STATE = "holds an impossible state"


@dataclass(frozen=True)
class Slot:
    """One slot as read: its state and sequence, or the problem that voids it."""

    index: int
    seq: int = -1
    state: Optional[AcceptorState] = None
    problem: Optional[SlotProblem] = None


class RecordError(ValueError):
    """The bytes hold no usable state; the text says why, in one line."""


class ValueTooLarge(ValueError):
    """The state does not fit a slot: it cannot be saved, so it must not be granted."""


def check_state(promised: Any, accepted: Any, value: Any) -> AcceptorState:
    """The state, if these three decoded fields are one an acceptor can be in; ValueError if not."""
    for name, n in (("promisedId", promised), ("acceptedId", accepted)):
        if not is_int(n):
            raise ValueError(f"{name} is not an id: {n!r}")
    if value is not None and not isinstance(value, str):
        raise ValueError("acceptedValue is not a string")
    return possible_state(promised, accepted, value)


# --- the record -----------------------------------------------------------------


def slot_offset(seq: int, slot_bytes: int = SLOT_BYTES) -> int:
    return (seq % 2) * slot_bytes


def encode_slot(seq: int, state: AcceptorState, slot_bytes: int = SLOT_BYTES) -> bytes:
    """The bytes of state number `seq`: the used part of its slot only."""
    value = b"" if state.accepted_value is None else state.accepted_value.encode("utf-8", "surrogatepass")
    room = slot_bytes - _HEAD.size
    if len(value) > room:
        raise ValueTooLarge(f"the value is {len(value)} bytes; a state slot holds at most {room}")
    length = -1 if state.accepted_value is None else len(value)
    body = _HEAD.pack(MAGIC, 0, seq, state.promised_id, state.accepted_id, length)[_SEALED_FROM:] + value
    return MAGIC + struct.pack("<I", zlib.crc32(body)) + body


def blank_record(seq: int, state: AcceptorState, slot_bytes: int = SLOT_BYTES) -> bytes:
    """A whole record file holding `state` in its slot and zeros in the other."""
    image = bytearray(2 * slot_bytes)
    data = encode_slot(seq, state, slot_bytes)
    at = slot_offset(seq, slot_bytes)
    image[at:at + len(data)] = data
    return bytes(image)


def slot_bytes_of(size: int) -> int:
    """The slot size of a record file of `size` bytes, or RecordError if no record has that size."""
    if size <= 0 or size % (2 * PAGE) or size > MAX_RECORD_BYTES:
        raise RecordError(f"{size} bytes is not the size of a state record")
    return size // 2


def read_slot(raw: bytes, index: int) -> Slot:
    magic, crc, seq, promised, accepted, length = _HEAD.unpack_from(raw)
    if magic != MAGIC:
        return Slot(index, problem=SlotProblem.BLANK if not any(raw) else SlotProblem.MAGIC)
    end = _HEAD.size + max(length, 0)
    if not -1 <= length <= len(raw) - _HEAD.size or zlib.crc32(raw[_SEALED_FROM:end]) != crc:
        return Slot(index, problem=SlotProblem.CHECKSUM)
    if seq % 2 != index:
        return Slot(index, seq, problem=SlotProblem.PLACE)
    try:
        value = None if length < 0 else raw[_HEAD.size:end].decode("utf-8", "surrogatepass")
        return Slot(index, seq, check_state(promised, accepted, value))
    except ValueError:
        return Slot(index, seq, problem=SlotProblem.STATE)


@dataclass(frozen=True)
class Loaded:
    """What start-up reads from a record: the slot loaded, and the other when it was set aside."""

    slot: Slot
    set_aside: Optional[Slot] = None

    def recovery(self) -> Optional[str]:
        """One line saying which slot failed which check and what was loaded instead, or None
        when nothing was set aside (the other slot blank or older): a flipped bit in the newest
        slot would otherwise make the acceptor forget an acknowledged state in silence."""
        bad, good = self.set_aside, self.slot
        if bad is None or good.state is None:
            return None
        st = good.state
        return (f"slot {bad.index} failed its check ({bad.problem}) and was set aside; loaded slot "
                f"{good.index}, sequence {good.seq}: promisedId={st.promised_id} acceptedId={st.accepted_id} "
                f"(if slot {bad.index} held a later acknowledged state, this acceptor has forgotten it)")


def load(raw: bytes, slot_bytes: int) -> Loaded:
    """The valid slot with the highest sequence, and the other slot if it failed a check;
    RecordError naming each slot's problem if none is valid."""
    slots = [read_slot(raw[i * slot_bytes:(i + 1) * slot_bytes], i) for i in (0, 1)]
    valid = [s for s in slots if s.state is not None]
    if not valid:
        raise RecordError("; ".join(f"slot {s.index}: {s.problem}" for s in slots))
    best = max(valid, key=lambda s: s.seq)
    other = slots[1 - best.index]
    return Loaded(best, other if other.problem not in (None, SlotProblem.BLANK) else None)


def newest(raw: bytes, slot_bytes: int) -> Slot:
    """The valid slot with the highest sequence; RecordError naming each slot's problem if none is."""
    return load(raw, slot_bytes).slot


# --- the marker and format 1 ------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """What a state directory says about itself: it was initialised, by whom, in which format."""

    format: int
    acceptor_id: Optional[int]


def encode_marker(acceptor_id: Optional[int], state_file: str) -> bytes:
    return _json({"format": FORMAT, "acceptorId": acceptor_id, "stateFile": state_file})


def decode_marker(data: bytes) -> Marker:
    obj = json.loads(data.decode("utf-8"))
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    fmt, who = obj.get("format"), obj.get("acceptorId")
    if not is_int(fmt) or fmt < FORMAT:
        raise ValueError(f"format is not a format number: {fmt!r}")
    if who is not None and not is_int(who):
        raise ValueError(f"acceptorId is not an id: {who!r}")
    return Marker(fmt, who)


def decode_legacy(data: bytes) -> AcceptorState:
    obj = json.loads(data.decode("utf-8"))
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return check_state(obj["promisedId"], obj["acceptedId"], obj["acceptedValue"])


def tombstone(state_file: str) -> bytes:
    """What replaces `state.json` once migrated: a version that reads format 1 finds no
    promisedId in it and refuses to start, instead of starting from a stale state."""
    return _json({"format": FORMAT, "movedTo": state_file,
                  "note": "this acceptor's state moved to the record file; an older paxos-acceptor must not run here"})


def is_tombstone(data: bytes) -> bool:
    try:
        obj = json.loads(data.decode("utf-8"))
    except ValueError:
        return False
    return isinstance(obj, dict) and "movedTo" in obj


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode("utf-8")
