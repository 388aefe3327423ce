"""The live view's server and command (view/server.py, view/live.py, shell/commands/viewcmds.py):
GET only under the token, bounded viewers, a slow viewer never slows the shell, stopped with
`view off` and with the shell, and nothing of it imported before it is used."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import webbrowser
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import pytest

from paxos_shell.shell.app import Shell
from paxos_shell.view import assets
from paxos_shell.view import command as viewcmds
from paxos_shell.view.live import LiveView
from paxos_shell.view.routes import route, sse_frame
from paxos_shell.view.server import FRAME_INTERVAL, MAX_VIEWERS, ViewServer

from .helpers import HOST, Acceptor, run

URL = re.compile(r"(?:Live view|already running):\s+(http://\S+/)")
METHODS = ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND")


def start(sh: Shell, line: str = "view") -> tuple[int, str]:
    code, out = run(sh, line)
    m = URL.search(out)
    assert code == 0 and m, out
    parts = urlsplit(m.group(1))
    assert parts.hostname == HOST and parts.port is not None
    return parts.port, parts.path


def request(port: int, method: str, path: str, body: Optional[bytes] = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def raw(port: int, data: bytes) -> bytes:
    """Send bytes as they are; everything the server answers before it closes."""
    with socket.create_connection((HOST, port), timeout=10) as s:
        s.sendall(data)
        out = b""
        for _ in range(1000):
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    raise AssertionError("the server never closed the connection")


class Stream:
    """An event-stream viewer on a raw socket, so a test controls how fast it reads."""

    def __init__(self, port: int, path: str, rcvbuf: int = 0) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect((HOST, port))
        self.sock.sendall(f"GET {path}events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.buf = b""

    def head(self) -> str:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1")

    def _more(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("the server closed the stream")
        self.buf += chunk

    def event(self) -> dict[str, Any]:
        for _ in range(10_000):
            while b"\n\n" not in self.buf:
                self._more()
            block, self.buf = self.buf.split(b"\n\n", 1)
            data = [ln[6:] for ln in block.split(b"\n") if ln.startswith(b"data: ")]
            if data:
                return dict(json.loads(data[0]))
        raise AssertionError("no event in 10,000 blocks")

    def until(self, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for _ in range(1000):
            e = self.event()
            if pred(e):
                return e
        raise AssertionError("no such event")

    def close(self) -> None:
        self.sock.close()


def wait_for(pred: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.01)


def view_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("paxos-view") and t.is_alive()]


def live_view(sh: Shell, **options: Any) -> LiveView:
    """A view started as `view` starts it, with server options a test needs."""
    view = LiveView(sh, **options).start()
    sh.listeners.append(view)
    return view


def where(view: LiveView) -> tuple[int, str]:
    parts = urlsplit(view.url())
    assert parts.port is not None
    return parts.port, parts.path


# -- routing, pure --------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "target", "status", "asset"), [
    ("GET", "/tok/", 200, "index.html"),
    ("GET", "/tok/view.js", 200, "view.js"),
    ("GET", "/tok/events", 200, "events"),
    ("GET", "/tok/events?x=1", 200, "events"),
    ("GET", "/tok/nothing.js", 404, None),
    ("GET", "/tok/static/view.js", 404, None),
    ("GET", "/tok", 404, None),
    ("GET", "/", 403, None),
    ("GET", "/view.js", 403, None),
    ("GET", "/tak/", 403, None),
    ("GET", "/tok2/", 403, None),
    ("GET", "//tok/", 403, None),
    ("POST", "/tok/events", 405, None),
    ("HEAD", "/tok/", 405, None),
    ("get", "/tok/", 405, None),
])
def test_route_answers_get_of_known_paths_under_the_token_only(method: str, target: str, status: int,
                                                               asset: Optional[str]) -> None:
    r = route(method, target, "tok", assets.load())
    assert (r.status, r.asset) == (status, asset)


ONLY_THE_COMMAND = "['paxos_shell.view', 'paxos_shell.view.command']"
"""The `view` command's registration (view/command.py) is all a shell that never shows the view loads."""


def test_an_event_is_data_lines_that_hold_no_line_break() -> None:
    assert sse_frame(7, '{"a": 1}') == b'id: 7\ndata: {"a": 1}\n\n'
    assert sse_frame(8, "{}", "<svg/>") == b"id: 8\ndata: {}\ndata: <svg/>\n\n"
    for bad in ("a\nb", "a\rb"):
        with pytest.raises(ValueError):
            sse_frame(1, "{}", bad)


# -- the real server ------------------------------------------------------------------------------


def test_the_page_and_its_assets_are_served_offline_within_300_kb(shell: Shell) -> None:
    port, path = start(shell)
    status, headers, page = request(port, "GET", path)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    linked = re.findall(rb'(?:href|src)="([^"]+)"', page)
    assert sorted(linked) == [b"data:,", b"diagram.css", b"view.css", b"view.js"]  # nothing from elsewhere
    total = len(page)
    for name in (b"diagram.css", b"view.css", b"view.js"):
        status, headers, body = request(port, "GET", path + name.decode())
        assert status == 200 and body == assets.read(name.decode()), name
        total += len(body)
    assert total <= 300 * 1024, total
    for asset in assets.TYPES:  # no font, image or script is fetched from anywhere (the SVG namespace is a name)
        urls = set(re.findall(rb"https?://[^\s\"')]+", assets.read(asset))) - {b"http://www.w3.org/2000/svg"}
        assert urls == set() and b"@import" not in assets.read(asset) and b"url(" not in assets.read(asset), asset


def acceptor_states(accs: list[Acceptor]) -> list[bytes]:
    out = []
    for a in accs:
        conn = http.client.HTTPConnection(HOST, a.port, timeout=10)
        conn.request("GET", "/api/paxos/state")
        out.append(conn.getresponse().read())
        conn.close()
    return out


def test_a_viewer_can_change_nothing(acceptors: Callable[..., list[Acceptor]]) -> None:
    from paxos_shell.pool.local import Pool

    accs = acceptors(3)
    sh = Shell(Pool({a.id: a.url for a in accs}, "test pool"), timeout=5.0, colour=False)
    try:
        run(sh, "prepare 5")
        run(sh, "accept 5 A")
        before, rounds = acceptor_states(accs), sh.session.rounds
        port, path = start(sh)
        targets = [path, path + "view.js", path + "events", path + "nothing", "/", "/api/paxos/prepare?id=9",
                   f"{path}../api/paxos/accept?id=9&value=B", path.rstrip("/")]
        for method in METHODS:
            for target in targets:
                status, headers, _ = request(port, method, target, b"id=9&value=B")
                assert status == 405 and headers.get("allow") == "GET", (method, target)
        token = path.strip("/")
        near = token[:-1] + ("A" if token[-1] != "A" else "B")  # the same length, one character off
        for target in ["/", "/view.js", "/events", f"/{near}/", f"/{token}x/events", f"/x{token}/", f"/{near}/events"]:
            assert request(port, "GET", target)[0] == 403, target
        for target in [path + "nothing", path + "api/paxos/prepare?id=9", path + "static/view.js", path.rstrip("/")]:
            assert request(port, "GET", target)[0] == 404, target
        assert raw(port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        assert raw(port, f"GET {path} HTTP/1.1\r\nContent-Length: 5\r\n\r\nid=9&".encode()).startswith(
            b"HTTP/1.1 400 ")
        assert raw(port, f"GET {path} HTTP/1.1\r\nX: {'a' * 9000}\r\n\r\n".encode()).startswith(b"HTTP/1.1 431 ")
        assert acceptor_states(accs) == before and sh.session.rounds == rounds
    finally:
        sh.close()


def test_viewers_are_bounded(shell: Shell) -> None:
    start(shell)
    view = viewcmds.running_view(shell)
    assert view is not None and view.server.max_viewers == MAX_VIEWERS == 200
    run(shell, "view off")
    view = live_view(shell, max_viewers=2)  # the same rule, with fewer sockets
    port, path = where(view)
    first, second = Stream(port, path), Stream(port, path)
    try:
        for s in (first, second):
            assert s.head().startswith("HTTP/1.1 200 ") and s.event()["seq"] == 0
        assert raw(port, f"GET {path}events HTTP/1.1\r\n\r\n".encode()).startswith(b"HTTP/1.1 503 ")
        first.close()
        wait_for(lambda: view.server.viewers == 1, "the server noticed a viewer left")
        third = Stream(port, path)
        assert third.head().startswith("HTTP/1.1 200 ")
        third.close()
    finally:
        first.close()
        second.close()


def test_a_slow_viewer_never_slows_the_shell_and_gets_only_the_newest(shell: Shell) -> None:
    view = live_view(shell, drain_timeout=60.0)  # slow, not stuck: this viewer is never dropped here
    port, path = where(view)
    slow = Stream(port, path, rcvbuf=4096)  # connects and then reads nothing for a while
    wait_for(lambda: view.server.viewers == 1, "the slow viewer is connected")
    big = json.dumps({"fake": 0, "pad": "x" * 300_000})
    for k in range(1, 61):  # 18 MB for a viewer that reads nothing: publishing must not wait
        view.server.publish(sse_frame(k, big.replace('"fake": 0', f'"fake": {k}')))
    code, out = run(shell, "prepare 3")  # the shell goes on while the viewer is stuck
    assert code == 0 and "Quorum reached" in out
    fast = Stream(port, path)
    try:
        assert fast.head().startswith("HTTP/1.1 200 ")
        # A new viewer gets the newest frame the server has, then the shell's snapshot as soon as
        # the server has it (it may still be behind the burst in the pipe).
        assert fast.until(lambda e: e.get("line") == "prepare 3")["seq"] == 1
        assert slow.head().startswith("HTTP/1.1 200 ")
        first = slow.event()
        assert "fake" not in first  # the snapshot it had on connecting, before the burst
        fakes: list[int] = []
        for _ in range(70):
            e = slow.event()
            if e.get("line") == "prepare 3":
                break
            fakes.append(int(e["fake"]))
        # Then only what was newest whenever it could take more: a few of the 60, in order.
        assert fakes == sorted(fakes) and len(fakes) < 30, fakes
    finally:
        slow.close()
        fast.close()


def test_a_viewer_that_falls_behind_gets_only_the_newest_frame() -> None:
    """The server alone (in this process, no pipe in front of it): while a viewer has not taken
    one frame, newer ones replace each other instead of queueing up for it."""
    server = ViewServer(HOST, 0, assets.load(), drain_timeout=60.0, frame_interval=0.0)  # every frame sent
    server.start()
    try:
        slow = Stream(server.port, f"/{server.token}/", rcvbuf=4096)
        wait_for(lambda: server.viewers == 1, "the viewer is connected")
        big = json.dumps({"fake": 0, "pad": "x" * 300_000})
        for k in range(1, 61):
            server.publish(sse_frame(k, big.replace('"fake": 0', f'"fake": {k}')))
        assert slow.head().startswith("HTTP/1.1 200 ")
        got = [slow.event()["fake"]]
        while got[-1] != 60:
            got.append(slow.event()["fake"])
        assert got == sorted(got) and len(got) < 10, got  # 60 published, a handful delivered
        slow.close()
    finally:
        server.close()


def test_a_burst_of_frames_reaches_viewers_as_its_newest_few() -> None:
    server = ViewServer(HOST, 0, assets.load())
    assert server.frame_interval == FRAME_INTERVAL == 0.05
    server.start()
    try:
        viewer = Stream(server.port, f"/{server.token}/")
        wait_for(lambda: server.viewers == 1, "the viewer is connected")
        for k in range(1, 201):
            server.publish(sse_frame(k, json.dumps({"fake": k})))
        assert viewer.head().startswith("HTTP/1.1 200 ")
        got = [viewer.event()["fake"]]
        while got[-1] != 200:
            got.append(viewer.event()["fake"])
        assert got == sorted(got) and len(got) < 50, got  # 200 frames in a burst, a few sendings
        viewer.close()
    finally:
        server.close()


def test_a_stuck_viewer_is_dropped_and_the_others_go_on(shell: Shell) -> None:
    view = live_view(shell, drain_timeout=0.3)
    port, path = where(view)
    stuck, fine = Stream(port, path, rcvbuf=4096), Stream(port, path)
    try:
        assert stuck.head().startswith("HTTP/1.1 200 ") and fine.head().startswith("HTTP/1.1 200 ")
        assert fine.event()["seq"] == 0 and stuck.event()["seq"] == 0
        wait_for(lambda: view.server.viewers == 2, "both viewers are connected")
        # A frame larger than what the kernel holds for a viewer: the stuck one never takes it.
        view.server.publish(sse_frame(99, json.dumps({"fake": 99, "pad": "x" * 4_000_000})))
        assert fine.event()["fake"] == 99
        wait_for(lambda: view.server.viewers == 1, "the stuck viewer was dropped")
        run(shell, "prepare 8")
        assert fine.until(lambda e: e.get("line") == "prepare 8")["acceptors"][0]["promisedId"] == 8
    finally:
        stuck.close()
        fine.close()


def test_view_off_and_the_shell_exit_stop_the_server_and_its_thread(shell: Shell) -> None:
    port, path = start(shell)
    threads = {t.name for t in view_threads()}
    assert threads == {"paxos-view-reader"} and request(port, "GET", path)[0] == 200
    again_port, again_path = start(shell)  # asked again: the same view, not a second one
    assert (again_port, again_path) == (port, path) and len(view_threads()) == 1
    code, out = run(shell, "view --host 0.0.0.0")
    assert code == 1 and "already running" in out and "'view off' first" in out
    view = viewcmds.running_view(shell)
    assert view is not None and view.server.proc is not None
    assert run(shell, "view off") == (0, "Live view stopped (0 viewers disconnected).\n")
    assert view_threads() == [] and shell.listeners == [] and view.server.proc.poll() == 0
    with pytest.raises(ConnectionRefusedError):
        request(port, "GET", path)
    assert run(shell, "view off") == (0, "The live view is not running.\n")
    start(shell)
    view = viewcmds.running_view(shell)
    assert view is not None and view.server.proc is not None
    shell.close()
    assert view_threads() == [] and view.server.proc.poll() == 0


def test_shared_on_the_network_warns_and_still_needs_the_token(shell: Shell) -> None:
    shell.out.fixed_width = 400
    code, out = run(shell, "view --host 0.0.0.0")
    m = re.search(r"Live view:\s+http://127\.0\.0\.1:(\d+)(/\S+/)", out)
    assert code == 0 and m, out
    port, path = int(m.group(1)), m.group(2)
    assert "WARNING: served to the network on 0.0.0.0 port" in out and "(the server answers GET only)" in out
    lines = out.splitlines()
    students = [lines[k + 1] for k, line in enumerate(lines) if line == "For students:"]
    assert students and all(u.startswith("  http://") and u.endswith(path) for u in students), out
    assert request(port, "GET", "/")[0] == 403 and request(port, "POST", path)[0] == 405
    s = Stream(port, path)
    try:
        assert s.head().startswith("HTTP/1.1 200 ") and s.event()["shared"] is True
    finally:
        s.close()


@pytest.mark.parametrize(("line", "message"), [
    ("view on", "view: 'view' starts the live view, 'view off' stops it"),
    ("view --port 70000", "bad port 70000: choose 0 to 65535"),
    ("view --host 192.0.2.1", "view: cannot listen on 192.0.2.1 port 0: "),
])
def test_bad_view_lines_are_one_line_and_start_nothing(shell: Shell, line: str, message: str) -> None:
    code, out = run(shell, line)
    assert code == 1 and out.startswith(f"error: {message}") and len(out.splitlines()) == 1, out
    assert view_threads() == [] and shell.listeners == []


class FakeGUI(webbrowser.BackgroundBrowser):
    opened: list[str] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        return True


def test_the_browser_opens_only_for_someone_at_the_keyboard_outside_this_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:1/t/"
    assert viewcmds.open_browser(url, False) == "Not opened in a browser: the shell is not interactive."

    def none() -> webbrowser.BaseBrowser:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", none)
    assert viewcmds.open_browser(url, True).startswith("Not opened in a browser: none is configured here")
    monkeypatch.setattr(webbrowser, "get", lambda: webbrowser.GenericBrowser("w3m"))
    assert viewcmds.open_browser(url, True).startswith("Not opened: the default browser runs in this terminal")
    assert FakeGUI.opened == []
    monkeypatch.setattr(webbrowser, "get", lambda: FakeGUI("firefox"))
    assert viewcmds.open_browser(url, True) == "Opened in the default browser." and FakeGUI.opened == [url]


# -- the command line -----------------------------------------------------------------------------


def test_nothing_of_the_view_is_imported_unless_it_is_used(acceptors: Callable[..., list[Acceptor]]) -> None:
    url = acceptors(1)[0].url
    code = ("import sys; from paxos_shell.cli import main; "
            f"rc = main(['--url', '1={url}', '-c', 'prepare 1', '-c', 'state', '-c', 'help view', '-c', 'trace']); "
            "print(sorted(m for m in sys.modules if m.startswith('paxos_shell.view')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip().splitlines()[-1] == ONLY_THE_COMMAND, p.stdout + p.stderr
    used = code.replace("'-c', 'trace'", "'-c', 'view'")
    p = subprocess.run([sys.executable, "-c", used], capture_output=True, text=True, timeout=60)
    assert "'paxos_shell.view.server'" in p.stdout.strip().splitlines()[-1], p.stdout + p.stderr


def test_the_view_option_serves_the_page_until_the_shell_exits(acceptors: Callable[..., list[Acceptor]]) -> None:
    accs = acceptors(3)
    args = [sys.executable, "-m", "paxos_shell", "--view"] + [f"--url={a.id}={a.url}" for a in accs]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, COLUMNS="300"))
    try:
        assert p.stdout is not None and p.stdin is not None
        first = p.stdout.readline() + p.stdout.readline()
        m = URL.search(first)
        assert first.startswith("Live view:\n  http://127.0.0.1:") and m, first
        assert p.stdout.readline() == "Not opened in a browser: the shell is not interactive.\n"
        parts = urlsplit(m.group(1))
        assert parts.port is not None
        s = Stream(parts.port, parts.path)
        assert s.head().startswith("HTTP/1.1 200 ") and s.event()["seq"] == 0
        p.stdin.write("prepare 4\n")
        p.stdin.flush()
        snap = s.until(lambda e: e["line"] == "prepare 4")
        assert [c["promisedId"] for c in snap["acceptors"]] == [4, 4, 4]
        p.stdin.close()
        assert p.wait(timeout=30) == 0
        with pytest.raises(EOFError):
            s.until(lambda e: False)  # the stream ends with the shell
        s.close()
        with pytest.raises(ConnectionRefusedError):
            request(parts.port, "GET", parts.path)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize(("host", "shared"), [
    ("127.0.0.2", False), ("localhost.", False), ("::ffff:127.0.0.1", False), ("[::1]", False),
    ("0.0.0.0", True), ("192.0.2.1", True), ("localhost.example", True),
])
def test_only_a_loopback_host_is_private(shell: Shell, host: str, shared: bool) -> None:
    from paxos_shell.view.live import LiveView

    assert LiveView(shell, host=host).shared is shared  # said on the page and in the warning
