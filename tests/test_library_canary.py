"""Each behaviour of requests and urllib3 that paxos_shell/net relies on, named once.

A direct acceptor is asked on a urllib3 HTTPConnection the Link keeps
(`request`, then `getresponse`); a proxied one through requests' HTTPAdapter.
Both ways are pinned here.

setup.cfg bounds both libraries below their next major version; within those
bounds an upgrade may still change one of these, and the transport would then
go wrong quietly (a request sent twice, a redirect followed, a reply read whole
into memory). Each test here pins one behaviour through the libraries' public
API, so an upgrade that changes it fails loudly, here, with its name.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Iterator

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from urllib3.util.retry import Retry

from paxos_shell.net.tap import Adapter, Tap, TappedHTTPConnection, connection_classes

from .helpers.fake import HOST, Handler
from .helpers.wait import wait_until

pytestmark = pytest.mark.timeout(60)


def prepared(url: str, method: str = "POST") -> PreparedRequest:
    req = PreparedRequest()
    req.prepare(method=method, url=url, headers={"Accept-Encoding": "identity"})
    return req


def send(adapter: HTTPAdapter, url: str, timeout: float = 5.0) -> requests.Response:
    return adapter.send(prepared(url), stream=True, timeout=(timeout, timeout), verify=True, proxies={})


@pytest.fixture
def adapter() -> Iterator[Adapter]:
    a = Adapter(Tap())
    yield a
    a.close()


def test_the_pool_is_given_our_connection_class_and_calls_its_connect_and_request(fake: Any,
                                                                                 adapter: Adapter) -> None:
    """HTTPConnectionPool.ConnectionCls is honoured for pools the PoolManager makes from its
    pool_classes_by_scheme, and the pool sends through the connection's connect() and request()."""
    f = fake()
    r = send(adapter, f"{f.url}/api/paxos/prepare?id=1")
    assert r.status_code == 200 and r.raw.read(decode_content=False)
    tap = adapter.pools["http"].ConnectionCls.tap  # type: ignore[attr-defined]
    assert (tap.connected, tap.whole, tap.reused) == (True, True, False) and tap.sock is not None


def test_a_kept_alive_connection_is_reused_only_while_is_connected_says_so(fake: Any, adapter: Adapter) -> None:
    """Before reusing an idle connection, urllib3's pool asks the connection's is_connected
    (TappedHTTPConnection adds TLS's buffered bytes to that check)."""
    f = fake()
    send(adapter, f"{f.url}/api/paxos/prepare?id=1").raw.release_conn()
    send(adapter, f"{f.url}/api/paxos/prepare?id=2").raw.release_conn()
    assert len({s.peer_port for s in f.seen}) == 1
    cls = adapter.pools["http"].ConnectionCls
    original = cls.is_connected
    cls.is_connected = property(lambda conn: False)  # type: ignore[method-assign, assignment]
    try:
        send(adapter, f"{f.url}/api/paxos/prepare?id=3").raw.release_conn()
    finally:
        cls.is_connected = original  # type: ignore[method-assign]
    assert len({s.peer_port for s in f.seen}) == 2


def test_a_refused_connection_is_a_connection_error_around_new_connection_error(adapter: Adapter) -> None:
    """What a refused connect raises (causes.py finds ConnectionRefusedError in the chain)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(requests.exceptions.ConnectionError) as e:
            send(adapter, f"http://{HOST}:{port}/")
    reason = e.value.args[0].reason
    assert isinstance(reason, urllib3.exceptions.NewConnectionError)
    assert isinstance(reason.__context__ or reason.__cause__, ConnectionRefusedError)


def test_a_silent_server_is_a_read_timeout(blackhole: Any, adapter: Adapter) -> None:
    """The (connect, read) timeout tuple bounds the wait for a reply: ReadTimeout, around urllib3's
    ReadTimeoutError."""
    with pytest.raises(requests.exceptions.ReadTimeout) as e:
        send(adapter, blackhole().url + "/", timeout=0.2)
    assert isinstance(e.value.args[0], urllib3.exceptions.ReadTimeoutError)


def test_a_redirect_comes_back_as_the_answer(fake: Any) -> None:
    """With Retry(total=0, read=False, redirect=False), HTTPAdapter.send returns a 3xx as it is,
    Location intact, body unread, and nothing reaches the target."""
    target = fake()
    f = fake(lambda h: h.respond(307, b"moved", "text/plain", (f"Location: {target.url}/x",)))
    a = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=False))
    try:
        r = send(a, f"{f.url}/api/paxos/prepare?id=1")
        assert (r.status_code, r.headers["Location"], target.seen) == (307, f"{target.url}/x", [])
    finally:
        a.close()


def test_a_streamed_body_is_read_no_further_than_asked(fake: Any, adapter: Adapter) -> None:
    """stream=True (preload_content=False): raw.read(amt, decode_content=False) returns at most amt
    bytes, so a reply over the cap is never read whole; close() drops its connection."""
    f = fake(lambda h: h.respond(200, b"x" * 300_000))
    r = send(adapter, f"{f.url}/")
    assert len(r.raw.read(1000, decode_content=False)) == 1000
    r.raw.close()
    assert r.raw.closed


def test_a_body_cut_short_is_a_short_read_or_an_error(fake: Any, adapter: Adapter) -> None:
    """A body that ends before its Content-Length: urllib3 either returns fewer bytes (transport.py
    then raises IncompleteRead itself) or raises ProtocolError; never the missing bytes made up."""

    def broken(h: Handler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        h.close_connection = True

    r = send(adapter, f"{fake(broken).url}/")
    try:
        body = r.raw.read(100, decode_content=False)
    except urllib3.exceptions.ProtocolError:
        return
    assert body == b"0123456789"


def test_an_interim_reply_other_than_100_is_returned_as_the_answer(fake: Any, adapter: Adapter) -> None:
    """http.client skips only 100 Continue: a 103 comes back as the reply, and transport.py must
    refuse it (the real reply would be read as the next request's)."""

    def hints(h: Handler) -> None:
        h.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
        h.protocol()

    assert send(adapter, f"{fake(hints).url}/api/paxos/prepare?id=1").status_code == 103


def test_a_write_that_fails_raises_out_of_the_connection_request(adapter: Adapter) -> None:
    """urllib3's pool swallows a broken pipe raised by conn.request() and reads on (here: the close),
    so only the connection's own request() can know the request did not leave whole: the error
    must pass through it, and the tap must say "not whole"."""
    cls: Any = adapter.pools["http"].ConnectionCls

    def broken_pipe(conn: Any, data: Any) -> None:  # http.client's send(): it connects, then writes
        if conn.sock is None:
            conn.connect()
        raise BrokenPipeError(32, "Broken pipe")

    with socket.create_server((HOST, 0)) as srv:
        t = threading.Thread(target=lambda: srv.accept()[0].close(), daemon=True)
        t.start()
        cls.send = broken_pipe
        try:
            with pytest.raises(requests.exceptions.ConnectionError):
                send(adapter, f"http://{HOST}:{srv.getsockname()[1]}/")
        finally:
            del cls.send
        t.join(10)
    tap = cls.tap
    assert (tap.connected, tap.writing, tap.whole) == (True, True, False)


# -- a direct acceptor: urllib3's HTTPConnection, kept by the Link --------------------------------


def connection(url: str, timeout: float = 5.0) -> TappedHTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    conn = connection_classes(Tap())[0](host, int(port))
    conn.timeout = timeout
    return conn


def ask(conn: TappedHTTPConnection, target: str) -> Any:
    conn.request("GET", target, headers={"Accept-Encoding": "identity"}, preload_content=False,
                 decode_content=False)
    return conn.getresponse()


def test_a_closed_connection_connects_inside_request_and_a_read_reply_frees_it(fake: Any) -> None:
    """http.client opens a closed connection when request() writes (through our connect()), and a
    reply read to its Content-Length leaves the connection ready for the next request on the same
    socket: what the tap's connected, reused and whole say, and why a Link needs no pool."""
    f = fake()
    conn = connection(f.url)
    tap = conn.tap
    first = ask(conn, "/api/paxos/prepare?id=1")
    assert first.read(int(first.headers["Content-Length"]), decode_content=False)
    assert (tap.connected, tap.reused, tap.whole) == (True, False, True)
    tap.begin()
    second = ask(conn, "/api/paxos/prepare?id=2")
    assert second.status == 200 and (tap.connected, tap.reused, tap.whole) == (False, True, True)
    assert len({s.peer_port for s in f.seen}) == 1
    conn.close()


def test_a_reply_that_closes_the_connection_makes_the_next_request_connect_again(fake: Any) -> None:
    """A reply with `Connection: close`: http.client drops the socket when it returns the reply, so
    the next request() connects anew (never written on a connection the acceptor is closing)."""
    f = fake(lambda h: (h.respond(200, b"{}", headers=("Connection: close",)), setattr(h, "close_connection", True)))
    conn = connection(f.url)
    ask(conn, "/").read(2, decode_content=False)
    assert conn.is_closed
    conn.tap.begin()
    ask(conn, "/").read(2, decode_content=False)
    assert conn.tap.connected and not conn.tap.reused and len({s.peer_port for s in f.seen}) == 2
    conn.close()


def test_is_connected_is_false_once_the_acceptor_closed_the_idle_connection(fake: Any) -> None:
    """The check a Link makes before reusing its connection (urllib3's pool makes the same one)."""
    done = threading.Event()

    def answer_then_close(h: Handler) -> None:
        h.respond(200, b"{}")
        h.close_connection = True  # keep-alive announced, then closed: the FIN arrives while idle
        done.set()

    conn = connection(fake(answer_then_close).url)
    ask(conn, "/").read(2, decode_content=False)
    assert done.wait(10)
    assert wait_until(lambda: not conn.is_connected)
    assert not conn.is_closed
    conn.close()


def test_the_connection_timeout_bounds_the_wait_for_a_reply(blackhole: Any) -> None:
    """conn.timeout is the socket's timeout in getresponse(): a silent acceptor raises the
    socket's TimeoutError (causes.py says "timeout"), unwrapped."""
    conn = connection(blackhole().url, timeout=0.2)
    with pytest.raises(TimeoutError):
        ask(conn, "/")
    conn.close()


def test_a_refused_connect_on_a_connection_is_new_connection_error_around_the_refusal() -> None:
    with socket.socket() as s:
        s.bind((HOST, 0))
        conn = connection(f"http://{HOST}:{s.getsockname()[1]}")
        with pytest.raises(urllib3.exceptions.NewConnectionError) as e:
            ask(conn, "/")
    assert isinstance(e.value.__context__ or e.value.__cause__, ConnectionRefusedError)
    assert not conn.tap.whole
