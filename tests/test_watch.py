"""The watch end to end: proxies in front of real acceptor processes, driven by proposers the shell did not start.

The foreign proposer is tests/helpers/foreign_proposer.py, a separate process on
`requests`: one connection per request like the old course scripts, or kept
alive. What it saw is compared with what the shell's own commands (`state`,
`trace`, `check`, `watch`) say right after it ends, with no wait in between:
every exchange is recorded before its reply leaves the proxy.
"""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.commands.watchcmds import running_watch
from paxos_shell.view.model import Tracker

from .helpers import Acceptor, run
from .helpers.rawhttp import converse, parse_responses
from .helpers.watched import Watched, watching


@pytest.fixture
def watched(acceptors: Callable[..., list[Acceptor]]) -> Iterator[Watched]:
    w = watching(acceptors(3))
    yield w
    w.sh.close()


def history(sh: Shell) -> list[tuple[str, str, int, str]]:
    return [(e.proposer, str(e.reply.phase), e.reply.acceptor, str(e.reply.kind)) for e in sh.session.history]


def test_a_foreign_proposer_opening_a_connection_per_request_is_one_proposer_seen_by_state_trace_check(
        watched: Watched) -> None:
    said = watched.propose("--id", "5", "--value", "apple")
    assert said["promised"] == [1, 2, 3] and said["accepted"] == [1, 2, 3]
    # Six exchanges, each on its own connection (its own port), all under one label: the address.
    assert history(watched.sh) == [("127.0.0.1", "prepare", i, "granted") for i in (1, 2, 3)] + \
                                  [("127.0.0.1", "accept", i, "granted") for i in (1, 2, 3)]
    # Its prepares one after the other make one round, its accepts another: traced like the shell's own.
    assert [e.round_no for e in watched.sh.session.history] == [1, 1, 1, 2, 2, 2]
    _, trace = run(watched.sh, "trace")
    assert "P:127.0.0.1" in trace and "accept 5 apple" in trace
    code, out = run(watched.sh, "state")
    assert code == 0 and "apple" in out
    _, check = run(watched.sh, "check")
    assert check.startswith("OK: no violation in 12 replies")  # 6 foreign, 3 of `state`, 3 of check's own


def test_a_kept_alive_proposer_is_labelled_by_its_header_and_the_shell_sees_its_choice(watched: Watched) -> None:
    watched.propose("--id", "5", "--value", "apple", "--to", "1,2", "--name", "alice", "--keep-alive")
    said = watched.propose("--id", "9", "--value", "banana", "--to", "2,3", "--name", "bob", "--keep-alive")
    assert said["value"] == "apple"  # the Paxos rule, applied by bob: apple was accepted at 5 by acceptor 2
    labels = {e.proposer for e in watched.sh.session.history}
    assert labels == {"alice", "bob"}
    _, trace = run(watched.sh, "trace 8")
    assert "P:alice" in trace and "P:bob" in trace and "accept 9 apple" in trace
    code, out = run(watched.sh, "watch")
    assert code == 0 and "alice" in out and "bob" in out
    assert watched.watching.recorder.by_label == {"alice": 4, "bob": 4}


def test_the_shells_own_client_names_its_proposer_to_a_watch(watched: Watched) -> None:
    """A second paxos-shell (a student's) pointed at the proxies: its proposer is known by name."""
    student = Shell(Pool({i: u for i, u in enumerate(watched.urls.split(","), 1)}, "via proxies"), timeout=5.0,
                    stream=io.StringIO(), err=io.StringIO(), colour=False)
    try:
        run(student, "proposer carol")
        code, out = run(student, "propose cherry")
        assert code == 0, out
    finally:
        student.close()
    assert {e.proposer for e in watched.sh.session.history} == {"carol"}
    _, out = run(watched.sh, "state")
    assert "cherry" in out


def test_an_acceptor_down_behind_its_proxy_answers_502_and_the_record_says_refused(watched: Watched) -> None:
    watched.accs[2].kill()
    said = watched.propose("--id", "5", "--value", "apple", "--name", "dora")
    assert said["statuses"][:3] == [200, 200, 502]
    assert said["promised"] == [1, 2]
    down = [e for e in watched.sh.session.history if e.reply.acceptor == 3]
    assert len(down) == 1 and down[0].reply.cause == "connection refused (down)" and not down[0].reply.reached
    _, out = run(watched.sh, "watch")
    out = " ".join(out.split())  # the note may wrap
    assert "acceptor 3 gave dora no reply behind its proxy: connection refused (down)" in out
    _, trace = run(watched.sh, "trace")
    assert "connection refused" in trace


MALFORMED = [
    b"GET /api/paxos/state HTTP/2.0\r\nHost: x\r\n\r\n",
    b"POST /api/paxos/prepare?id=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
    b"POST /api/paxos/prepare?id=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"POST /api/paxos/prepare HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /api/paxos/prepare?id=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"POST /api/paxos/accept?id=3&value=%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /api/paxos/state HTTP/1.1\r\nHost x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    b"GET /api/paxos/state HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * (1 << 20) + b"\r\n\r\n",  # over MAX_HEAD
]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_request_gets_the_acceptors_status_and_leaves_the_record_alone(watched: Watched,
                                                                                 raw: bytes) -> None:
    direct = parse_responses(converse(watched.accs[0].port, raw))
    proxied = parse_responses(converse(watched.ports[1], raw))
    assert [r.status for r in proxied] == [r.status for r in direct]
    assert direct and direct[0].status >= 400
    assert watched.sh.session.history == type(watched.sh.session.history)(maxlen=watched.sh.session.history.maxlen)
    said = watched.propose("--id", "5", "--value", "apple")  # the proxy still serves, the record is whole
    assert said["accepted"] == [1, 2, 3] and len(watched.sh.session.history) == 6


def test_foreign_strings_never_reach_the_terminal_raw(watched: Watched) -> None:
    watched.propose("--id", "5", "--value", "\x1b]0;owned\x07\x1b[2J", "--name", "ev\x1bil\x85")
    for line in ("trace", "state", "watch", "check", "history"):
        _, out = run(watched.sh, line)
        assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out, line
    # ESC became _, and the trailing NEL (latin-1 0x85) is blank space, stripped.
    assert {e.proposer for e in watched.sh.session.history if e.reply.phase != "state"} == {"ev_il"}


def test_watch_off_stops_the_proxies_and_keeps_what_they_recorded(watched: Watched) -> None:
    watched.propose("--id", "5", "--value", "apple")
    code, out = run(watched.sh, "watch off")
    assert code == 0 and "6 foreign exchanges recorded" in out
    with pytest.raises(requests.ConnectionError):
        requests.get(watched.urls.split(",")[0] + "/health", timeout=5)
    assert len(watched.sh.session.history) == 6
    assert running_watch(watched.sh) is None


def test_health_and_state_routes_pass_through_unchanged(watched: Watched) -> None:
    proxy, direct = watched.urls.split(",")[0], watched.accs[0].url
    for path in ("/health", "/api/paxos/state", "/api/broadcast/paxos/state"):
        a, b = requests.get(proxy + path, timeout=5), requests.get(direct + path, timeout=5)
        assert (a.status_code, a.headers["Content-Type"]) == (b.status_code, b.headers["Content-Type"]), path
        assert path == "/api/broadcast/paxos/state" or a.content == b.content
    a, b = requests.head(proxy + "/api/paxos/state", timeout=5), requests.head(direct + "/api/paxos/state", timeout=5)
    assert (a.status_code, a.headers["Content-Length"]) == (b.status_code, b.headers["Content-Length"])
    assert history(watched.sh) == [("127.0.0.1", "state", 1, "ok")]  # HEAD is no round


def test_the_live_view_lists_thirty_proposers_each_in_its_colour_and_is_told_of_foreign_rounds(
        watched: Watched) -> None:
    heard = threading.Event()
    watched.sh.listeners.append(lambda line: heard.set())
    proxy = watched.urls.split(",")[0]
    for k in range(30):
        r = requests.post(proxy + "/api/paxos/prepare", params={"id": 10 + k},
                          headers={"X-Paxos-Proposer": f"student{k}"}, timeout=5)
        assert r.status_code == 200
    assert heard.wait(10)  # the watch's pulse: the view draws foreign rounds without a command
    requests.post(proxy + "/api/paxos/accept", params={"id": 39, "value": "x"},
                  headers={"X-Paxos-Proposer": "student29"}, timeout=5)  # one promise of three: no quorum
    snap = Tracker().snapshot(watched.sh, "")
    shown = snap["proposers"]["list"]
    assert [p["name"] for p in shown] == [f"student{k}" for k in range(29, -1, -1)]
    assert all(isinstance(p["hue"], int) and 0 <= p["hue"] < 360 for p in shown)
    assert [p["violations"] for p in shown if p["violations"]] == [1] and shown[0]["last"] == "accept 39 x"
    assert snap["diagram"]["svg"].count('class="swatch"') >= 2  # in the heads and in the round titles


def test_record_writes_the_foreign_rounds_into_the_transcript_as_a_trace_of_their_own(watched: Watched,
                                                                                     tmp_path: Path) -> None:
    path = tmp_path / "class.md"
    run(watched.sh, f"record {path}")
    watched.propose("--id", "5", "--value", "apple", "--name", "erin")
    run(watched.sh, "state")  # after it, at the latest, the foreign rounds are written
    run(watched.sh, "record off")
    text = path.read_text()
    # Written as they come (the watch's pulse) or after the next command: each round once, in blocks
    # of their own, never inside the `state` block.
    said = re.findall(r"```text\n# seen by watch: (\d+) rounds? from erin\n", text)
    assert sum(map(int, said)) == 2, text
    assert "P:erin" in text and "accept 5 apple" in text and "```mermaid" in text
