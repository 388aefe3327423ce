"""The wire format both sides share. The durable store is tested in test_store.py."""

from __future__ import annotations

import json

import pytest

from paxos_shell.core import paxos, wire
from paxos_shell.core.paxos import AcceptorState
from paxos_shell.core.wire import Phase


class TestParseId:
    @pytest.mark.parametrize("raw,n", [("0", 0), ("7", 7), ("+5", 5), (" 12 ", 12), ("2147483647", paxos.MAX_ID)])
    def test_valid(self, raw: str, n: int) -> None:
        assert wire.parse_id(raw) == n

    @pytest.mark.parametrize("raw", ["", "x", "1.5", "--5", "1e3", "٣", "0x10"])
    def test_not_an_integer(self, raw: str) -> None:
        with pytest.raises(wire.BadParameter, match="integer"):
            wire.parse_id(raw)

    @pytest.mark.parametrize("raw", ["-1", "2147483648", "9" * 5000])
    def test_out_of_range(self, raw: str) -> None:
        with pytest.raises(wire.BadParameter, match="between 0 and 2147483647"):
            wire.parse_id(raw)

    def test_missing(self) -> None:
        with pytest.raises(wire.BadParameter, match="missing"):
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
    """What a reply means: counted only when it is exactly the protocol's; said in one line when not."""

    def test_granted_needs_ignored_exactly_false(self) -> None:
        assert wire.interpret(1, Phase.PREPARE, 200, b'{"ignored": false, "promisedId": 7}').granted
        for raw in (b'{"ignored": 0}', b'{"ignored": "false"}', b'{"promisedId": 7}', b"{}"):
            r = wire.interpret(1, Phase.PREPARE, 200, raw)
            assert (r.kind, r.cause) == (wire.ERROR, "not a paxos acceptor: the reply has no boolean 'ignored'")
            assert not r.granted and not r.may_have_acted

    @pytest.mark.parametrize("phase,raw,problem", [
        (Phase.PREPARE, b'{"ignored": false}', "the reply has no 'promisedId'"),
        (Phase.PREPARE, b'{"ignored": false, "promisedId": "7"}', "'promisedId' is not an integer"),
        (Phase.PREPARE, b'{"ignored": false, "promisedId": true}', "'promisedId' is not an integer"),
        (Phase.PREPARE, b'{"ignored": false, "promisedId": 7, "acceptedId": 3}',
         "'acceptedId' and 'acceptedValue' do not come together"),
        (Phase.PREPARE, b'{"ignored": true, "promisedId": 9, "acceptedId": 3, "acceptedValue": 5}',
         "'acceptedValue' is not a string"),
        (Phase.ACCEPT, b'{"ignored": false, "acceptedId": 3}', "the reply has no 'acceptedValue'"),
        (Phase.STATE, b'{"promisedId": 1, "acceptedId": -1}', "the reply has no 'acceptedValue'"),
        (Phase.STATE, b'{"promisedId": 1.5, "acceptedId": -1, "acceptedValue": null}',
         "'promisedId' is not an integer"),
    ])
    def test_a_reply_of_another_shape_is_never_counted(self, phase: Phase, raw: bytes, problem: str) -> None:
        """A promise whose promisedId is a string would count towards a quorum and lose its accepted pair."""
        r = wire.interpret(1, phase, 200, raw)
        assert (r.kind, r.cause) == (wire.ERROR, f"not a paxos acceptor: {problem}")

    def test_the_protocol_shapes_are_read(self) -> None:
        ok = [(Phase.PREPARE, b'{"ignored": true, "promisedId": 9, "acceptedId": 7, "acceptedValue": ""}',
               wire.IGNORED),
              (Phase.PREPARE, b'{"ignored": true}', wire.IGNORED),
              (Phase.ACCEPT, b'{"ignored": false, "acceptedId": 3, "acceptedValue": "v", "extra": 1}', wire.GRANTED),
              (Phase.ACCEPT, b'{"ignored": true}', wire.IGNORED),
              (Phase.STATE, b'{"promisedId": -1, "acceptedId": -1, "acceptedValue": null}', wire.OK)]
        assert [wire.interpret(1, p, 200, raw).kind for p, raw, _ in ok] == [kind for _, _, kind in ok]

    def test_an_acceptor_error_keeps_its_message_visible_and_short(self) -> None:
        r = wire.interpret(1, Phase.ACCEPT, 500, b'{"ignored": false, "message": "disk full"}')
        assert (r.kind, r.cause) == (wire.ERROR, "HTTP 500: disk full")
        assert not r.granted and not r.may_have_acted  # an error answer: the acceptor did not act
        r = wire.interpret(1, Phase.ACCEPT, 400, json.dumps({"message": "\x1b]0;pwned\x07" + "x" * 5000}).encode())
        assert r.cause == "HTTP 400: \\x1b]0;pwned\\x07" + "x" * (wire.MAX_CAUSE - 10) + "..."

    @pytest.mark.parametrize("status,raw,kwargs,cause", [
        (404, b'{"status": 404, "message": "x"}', {}, "not a paxos acceptor: /api/paxos/prepare answered 404"),
        (405, b"", {"path": "/base/api/paxos/prepare"}, "not a paxos acceptor: /base/api/paxos/prepare answered 405"),
        (204, b"", {}, "not a paxos acceptor: /api/paxos/prepare answered 204"),
        (200, b"<html>", {"content_type": "text/html; charset=utf-8"},
         "not a paxos acceptor: the reply is HTML, not JSON"),
        (200, b"  <!DOCTYPE html>", {"content_type": None}, "not a paxos acceptor: the reply is HTML, not JSON"),
        (200, b"OK", {"content_type": "text/plain"}, "not a paxos acceptor: the reply is not JSON"),
        (200, b"[false]", {}, "not a paxos acceptor: the reply is a JSON array, not an object"),
        (200, b"null", {}, "not a paxos acceptor: the reply is a JSON null, not an object"),
        (200, b"[" * 100_000 + b"]" * 100_000, {}, "not a paxos acceptor: the reply is JSON nested too deeply to read"),
        (200, b"[" * 100_000, {}, "not a paxos acceptor: the reply is JSON nested too deeply to read"),
        (500, b'{"message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", {}, "HTTP 500 Internal Server Error"),
        (200, b"{}", {"encoding": "br"}, "not a paxos acceptor: the reply is br-encoded although identity was asked"),
        (200, b"", {"cut_off": True}, "reply larger than 1 MiB: cut off"),
        (301, b"", {"location": "https://u:pw@h:1/x\x1b[2J"},
         "HTTP 301: redirected to https://u:***@h:1/x\\x1b[2J; redirects are not followed"),
        (302, b"", {}, "HTTP 302: redirected to nowhere (no Location); redirects are not followed"),
        (503, b"<html>busy</html>", {}, "HTTP 503 Service Unavailable"),
        (599, b"", {}, "HTTP 599"),
    ])
    def test_answers_that_are_not_protocol_replies(self, status: int, raw: bytes, kwargs: dict, cause: str) -> None:
        r = wire.interpret(1, Phase.PREPARE, status, raw, **kwargs)
        assert (r.kind, r.cause, r.may_have_acted) == (wire.ERROR, cause, False)

    @pytest.mark.parametrize("status", [502, 504])
    def test_a_gateway_reporting_silence_may_have_acted(self, status: int) -> None:
        r = wire.interpret(1, Phase.ACCEPT, status, b"<html>upstream timed out</html>")
        assert r.kind == wire.NO_RESPONSE and r.may_have_acted
        assert r.cause is not None and r.cause.endswith("(from a gateway: the acceptor may have acted)")

    def test_ignored_reply_carries_its_promise(self) -> None:
        r = wire.interpret(2, Phase.PREPARE, 200, b'{"ignored": true, "promisedId": 9}')
        assert r.kind == wire.IGNORED and r.promised_id == 9 and r.accepted_id == -1
