"""What a watch's proxy sends its acceptor (watch/target.py): the acceptor's own Host, the
proposer's headers but the hop-by-hop ones, the shell's --header and --auth on top, the URL's path
before the target; a URL it cannot use is one clear error when the watch starts."""

from __future__ import annotations

import pytest

from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.watch.target import request_headers, target_of

# A proposer's request headers as sent (h11's raw_items), in order.
SENT = [(b"Host", b"proxy:9081"), (b"User-Agent", b"script"), (b"Connection", b"keep-alive"),
        (b"Content-Length", b"0"), (b"X-Paxos-Proposer", b"alice"), (b"Authorization", b"Basic theirs"),
        (b"Transfer-Encoding", b"chunked"), (b"x-trace", b"1")]


def test_the_acceptor_gets_its_own_host_the_proposers_headers_and_the_shells_on_top() -> None:
    t = target_of("http://127.0.0.1:8081/base/", ClientOptions(headers=(("X-Team", "blue"),), auth=("u", "p")), 5.0)
    assert t.prefix == b"/base" and (t.host, t.port, t.tls) == ("127.0.0.1", 8081, None)
    assert request_headers(t, SENT, 3) == [
        (b"Host", b"127.0.0.1:8081"), (b"user-agent", b"script"), (b"x-paxos-proposer", b"alice"),
        (b"x-trace", b"1"), (b"X-Team", b"blue"), (b"Authorization", b"Basic dTpw"), (b"Content-Length", b"3")]


def test_without_options_the_proposers_credentials_pass_and_hosts_are_written_as_on_the_wire() -> None:
    plain = target_of("http://[::1]:9000", ClientOptions(), 5.0)
    assert (b"authorization", b"Basic theirs") in request_headers(plain, SENT, 0)
    assert plain.host_header == (b"Host", b"[::1]:9000")
    assert target_of("http://bücher.example", ClientOptions(), 5.0).host_header == (b"Host", b"xn--bcher-kva.example")
    secure = target_of("https://acceptor.example", ClientOptions(insecure=True), 5.0)
    assert secure.port == 443 and secure.tls is not None and secure.host_header == (b"Host", b"acceptor.example")


def test_a_path_is_sent_percent_encoded_and_a_header_http_cannot_carry_is_refused_at_the_start() -> None:
    assert target_of("http://127.0.0.1:8081/b\u00e4se/", ClientOptions(), 5.0).prefix == b"/b%C3%A4se"
    with pytest.raises(ValueError, match="cannot carry"):
        target_of("http://127.0.0.1:8081", ClientOptions(headers=(("X-Team", "\u20ac"),)), 5.0)
