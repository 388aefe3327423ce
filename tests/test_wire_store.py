"""The wire format both sides share. The durable store is tested in test_store.py."""

from __future__ import annotations

import pytest

from paxos_shell import paxos, wire
from paxos_shell.paxos import AcceptorState


class TestParseId:
    @pytest.mark.parametrize("raw,n", [("0", 0), ("7", 7), ("+5", 5), (" 12 ", 12), ("2147483647", paxos.MAX_ID)])
    def test_valid(self, raw: str, n: int) -> None:
        assert wire.parse_id(raw) == n

    @pytest.mark.parametrize("raw", ["", "x", "1.5", "--5", "1e3", "٣", "0x10"])
    def test_not_an_integer(self, raw: str) -> None:
        with pytest.raises(wire.BadRequest, match="integer"):
            wire.parse_id(raw)

    @pytest.mark.parametrize("raw", ["-1", "2147483648", "9" * 5000])
    def test_out_of_range(self, raw: str) -> None:
        with pytest.raises(wire.BadRequest, match="between 0 and 2147483647"):
            wire.parse_id(raw)

    def test_missing(self) -> None:
        with pytest.raises(wire.BadRequest, match="missing"):
            wire.parse_id(None)


class TestReplies:
    def test_granted_prepare_on_fresh_acceptor(self) -> None:
        assert wire.prepare_reply(paxos.on_prepare(AcceptorState(), 7)) == {"ignored": False, "promisedId": 7}

    def test_granted_prepare_carries_accepted_pair(self) -> None:
        body = wire.prepare_reply(paxos.on_prepare(AcceptorState(7, 7, "v"), 9))
        assert body == {"ignored": False, "promisedId": 9, "acceptedId": 7, "acceptedValue": "v"}

    def test_refused_prepare_reports_the_promise_and_pair(self) -> None:
        body = wire.prepare_reply(paxos.on_prepare(AcceptorState(9, 7, "v"), 9))
        assert body == {"ignored": True, "promisedId": 9, "acceptedId": 7, "acceptedValue": "v"}

    def test_accept_replies(self) -> None:
        assert wire.accept_reply(paxos.on_accept(AcceptorState(), 3, "")) == {
            "ignored": False, "acceptedId": 3, "acceptedValue": ""}
        assert wire.accept_reply(paxos.on_accept(AcceptorState(9), 3, "x")) == {"ignored": True}


class TestInterpret:
    def test_granted_needs_ignored_exactly_false(self) -> None:
        assert wire.interpret(1, "prepare", 200, b'{"ignored": false, "promisedId": 7}').granted
        for raw in (b'{"ignored": 0}', b'{"ignored": "false"}', b'{"promisedId": 7}', b"{}"):
            r = wire.interpret(1, "prepare", 200, raw)
            assert r.kind == wire.NO_RESPONSE and not r.granted

    def test_non_200_never_counts(self) -> None:
        r = wire.interpret(1, "accept", 500, b'{"ignored": false, "message": "disk full"}')
        assert r.kind == wire.ERROR and r.cause == "HTTP 500: disk full"
        assert not r.granted and not r.may_have_acted  # an error answer: the acceptor did not act

    def test_not_json_and_not_object(self) -> None:
        assert wire.interpret(1, "prepare", 200, b"<html>").cause == "reply is not JSON"
        assert wire.interpret(1, "prepare", 200, b"[false]").cause == "reply is not a JSON object"

    def test_ignored_reply_carries_its_promise(self) -> None:
        r = wire.interpret(2, "prepare", 200, b'{"ignored": true, "promisedId": 9}')
        assert r.kind == wire.IGNORED and r.promised_id == 9 and r.accepted_id == -1
