"""HTTP framing against a real acceptor over raw sockets: every desynchronisation seen in issue 10.

Each test sends what an attacker or a broken client would, counts the replies
that come back, and checks the acceptor's state afterwards: a request that was
not a whole, well-framed request is never acted on, and its connection closes.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterator, Optional

import pytest

from paxos_shell.acceptor.framing import check_request_line

from .helpers.rawhttp import HOST, AcceptorProcess, converse, parse_responses, read_until_closed, state

FRESH = {"promisedId": -1, "acceptedId": -1, "acceptedValue": None}
SMUGGLED = b"POST /api/paxos/accept?id=500&value=smuggled HTTP/1.1\r\n"
HIDDEN_PREPARE = b"POST /api/paxos/prepare?id=7006 HTTP/1.1\r\nHost: x\r\n\r\n"


class TestRequestLine:
    """The judgement made before h11 has a whole head (pure)."""

    @pytest.mark.parametrize("start,status", [
        (b"GET /health HTTP/1.1\r\n", None), (b"GET /health HTT", None), (b"GET /health\n", 400),
        (b"GET /health\r\n", 400), (b"\r\nGET / HTTP/1.1\r\n", 400), (b"GET  / HTTP/1.1\r\n", 400),
        (b"GET /\x1b HTTP/1.1\r\n", 400), (b"GET /" + b"v" * 8190 + b" HTTP/1.1", 414),
        (b"GET /" + b"v" * 8170 + b" HTTP/1.1\r\n", None)])
    def test_verdicts(self, start: bytes, status: Optional[int]) -> None:
        refusal = check_request_line(start)
        assert (refusal.status if refusal else None) == status


@pytest.fixture
def acc(tmp_path: Path) -> Iterator[AcceptorProcess]:
    # A long head deadline: a test that waits for it fails on its own socket timeout first.
    with AcceptorProcess(str(tmp_path), "--id", "1", "--port", "0", "--head-timeout", "120") as a:
        yield a


def only_error(data: bytes, *statuses: int) -> dict:
    """Exactly one reply, a Spring-shaped error with one of `statuses`, and the connection closed after it."""
    replies = parse_responses(data)
    assert len(replies) == 1 and replies[0].status in statuses, data[:300]
    r = replies[0]
    assert r.headers["content-type"] == "application/json" and r.headers.get("connection") == "close"
    body = r.json()
    assert body["status"] == r.status and set(body) == {"status", "error", "message", "path"}
    return body


def padded_head(smuggle_at: int) -> bytes:
    """A GET whose header block carries the smuggled accept line at byte `smuggle_at`."""
    def pad(n: int) -> bytes:
        return b"X-Pad: " + b"a" * (n - 9) + b"\r\n"

    head = b"GET /api/paxos/state HTTP/1.1\r\nHost: x\r\n"
    while smuggle_at - len(head) > 2000:
        head += pad(1000)
    return head + pad(smuggle_at - len(head)) + SMUGGLED + b"Host: x\r\n\r\n"


@pytest.mark.parametrize("smuggle_at", [30_000, 65_536, 70_000])
def test_smuggled_accept_in_a_padded_head_is_never_applied(acc: AcceptorProcess, smuggle_at: int) -> None:
    data = padded_head(smuggle_at)
    assert data.index(SMUGGLED) == smuggle_at
    # Over 64 KiB either verdict may come first (the bad line or the size), depending on how
    # the bytes arrive; either way one error, the connection closed, nothing applied.
    body = only_error(converse(acc.port, data), *((400, 431) if len(data) > 65536 else (400,)))
    assert "smuggled" not in body["message"]
    assert state(acc.port) == FRESH


@pytest.mark.parametrize("length", [b"-5", b"abc", "\u00b2".encode(), b"5, 6", b"1e3", b"+5"])
def test_bad_content_length_is_a_400_and_the_body_is_not_a_request(acc: AcceptorProcess, length: bytes) -> None:
    data = b"GET /api/paxos/state HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n" + HIDDEN_PREPARE
    only_error(converse(acc.port, data), 400)
    assert state(acc.port) == FRESH


def test_two_different_content_lengths_are_a_400(acc: AcceptorProcess) -> None:
    data = (b"POST /api/paxos/prepare?id=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
            b"Content-Length: 52\r\n\r\n" + HIDDEN_PREPARE)
    only_error(converse(acc.port, data), 400)
    assert state(acc.port) == FRESH


def test_transfer_encoding_with_content_length_is_a_400(acc: AcceptorProcess) -> None:
    data = (b"POST /api/paxos/prepare?id=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 52\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + HIDDEN_PREPARE)
    only_error(converse(acc.port, data), 400)
    assert state(acc.port) == FRESH


def test_a_prepare_in_a_body_is_read_as_a_body_and_the_connection_stays_in_step(acc: AcceptorProcess) -> None:
    """A well-framed body is read and ignored (parameters are in the query), then the next request is served."""
    first = (b"POST /api/paxos/prepare?id=3 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
             % len(HIDDEN_PREPARE) + HIDDEN_PREPARE)
    chunked = (b"POST /api/paxos/prepare?id=4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"%x\r\n" % len(HIDDEN_PREPARE) + HIDDEN_PREPARE + b"\r\n0\r\n\r\n")
    last = b"GET /api/paxos/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    replies = parse_responses(converse(acc.port, first + chunked + last))
    assert [r.json() for r in replies] == [
        {"ignored": False, "promisedId": 3}, {"ignored": False, "promisedId": 4},
        {"promisedId": 4, "acceptedId": -1, "acceptedValue": None}]


def test_http_0_9_line_gets_an_error_at_once(acc: AcceptorProcess) -> None:
    """No version, so no header block will follow: answered now, not at the head deadline (120 s here)."""
    with socket.create_connection((HOST, acc.port), timeout=20) as s:
        s.sendall(b"GET /health\r\n")
        body = only_error(read_until_closed(s), 400)
    assert "request line" in body["message"]


def test_70_kb_header_line_is_a_431(acc: AcceptorProcess) -> None:
    data = b"POST /api/paxos/prepare?id=5 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n"
    only_error(converse(acc.port, data), 431)
    assert state(acc.port) == FRESH


def test_request_line_over_8_kib_is_a_414(acc: AcceptorProcess) -> None:
    data = b"POST /api/paxos/accept?id=1&value=" + b"v" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    only_error(converse(acc.port, data), 414)
    assert state(acc.port) == FRESH


def test_head_health_answers_like_get_without_a_body(acc: AcceptorProcess) -> None:
    data = (b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, get = parse_responses(converse(acc.port, data), methods=("HEAD", "GET"))
    assert head.status == get.status == 200 and head.body == b"" and get.body == b"UP acceptor 1\n"
    assert head.headers == {"content-type": "text/plain", "content-length": "14"}
    assert get.headers == {**head.headers, "connection": "close"}


def test_10_mb_body_on_a_prepare_is_refused_and_not_applied(acc: AcceptorProcess) -> None:
    body = HIDDEN_PREPARE * (10_000_000 // len(HIDDEN_PREPARE))
    head = b"POST /api/paxos/prepare?id=9 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
    with socket.create_connection((HOST, acc.port), timeout=20) as s:
        try:
            s.sendall(head + body[:1_000_000])  # the rest never needs to leave
        except OSError:
            pass
        only_error(read_until_closed(s), 413)
    assert state(acc.port) == FRESH


def test_a_body_within_the_limit_is_read_and_the_request_applied(acc: AcceptorProcess) -> None:
    body = b"z" * 60_000
    data = (b"POST /api/paxos/prepare?id=9 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            + b"GET /api/paxos/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    replies = parse_responses(converse(acc.port, data))
    assert [r.json() for r in replies] == [{"ignored": False, "promisedId": 9},
                                           {"promisedId": 9, "acceptedId": -1, "acceptedValue": None}]


def test_pipelined_requests_are_answered_in_order(acc: AcceptorProcess) -> None:
    data = b"".join(b"POST /api/paxos/prepare?id=%d HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in (5, 3, 8))
    last = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    replies = parse_responses(converse(acc.port, data + last))
    assert [r.body for r in replies] == [b'{"ignored": false, "promisedId": 5}', b'{"ignored": true, "promisedId": 5}',
                                         b'{"ignored": false, "promisedId": 8}', b"UP acceptor 1\n"]


def test_a_request_abandoned_halfway_is_not_applied(acc: AcceptorProcess) -> None:
    body = b"x" * 100
    with socket.create_connection((HOST, acc.port), timeout=20) as s:
        s.sendall(b"POST /api/paxos/prepare?id=4 HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n" + body)
        s.shutdown(socket.SHUT_WR)
        assert read_until_closed(s) == b""
    assert state(acc.port) == FRESH


def test_control_characters_in_the_request_never_reach_the_log(acc: AcceptorProcess) -> None:
    only_error(converse(acc.port, b"GET /health\x1b]0;pwned\x07 HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
    converse(acc.port, b"GET /%1b%5b2J HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    log = acc.log()
    assert "\x1b" not in log and "\x07" not in log
    assert "GET /%1b%5b2J 404" in log


def test_a_thousand_pipelined_requests_in_one_send(acc: AcceptorProcess) -> None:
    """Answered in order from one buffer, however many: no recursion limit, no lost request."""
    last = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    data = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 999 + last
    replies = parse_responses(converse(acc.port, data))
    assert len(replies) == 1000 and {r.body for r in replies} == {b"UP acceptor 1\n"}


def test_a_chunked_body_over_the_limit_is_refused_and_not_applied(acc: AcceptorProcess) -> None:
    chunk = b"c" * 10_000
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(10)) + b"0\r\n\r\n"
    data = b"POST /api/paxos/prepare?id=9 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    only_error(converse(acc.port, data), 413)
    assert state(acc.port) == FRESH
