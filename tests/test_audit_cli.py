"""paxos-audit as a user meets it: output formats, exit statuses, safety of pools, bad acceptors.

Bad input to the auditor (a URL that is not an acceptor, one that hangs, garbage, 100 MB) must
give one line and an exit status, never a traceback or a hang.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from paxos_shell.audit.auditor import Options, SkipReason, Verdict
from paxos_shell.audit.battery import RULES, AuditReport, Finding, audit, select
from paxos_shell.audit.cli import run
from paxos_shell.audit.durable import HOW
from paxos_shell.audit.report import ENABLE_DURABILITY, table
from paxos_shell.audit.restart import RestartFailed, command_line, run_command
from paxos_shell.core.errors import UserError
from paxos_shell.core.wire import PREPARE, STATE
from tests.helpers import Acceptor, dead_url
from tests.helpers.broken_acceptor import Running
from tests.helpers.fake import Fake, Handler, trickle
from tests.helpers.wait import wait_until

SCHEMA_RULE = {"rule", "kind", "verdict", "why", "evidence"}


def audit_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        status = int(run(list(argv), out, err))
    except UserError as e:  # main() prints it as one line; here it comes back as that line
        return 2, out.getvalue(), f"paxos-audit: {e}\n"
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def sound() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(*bugs: str) -> Running:
        started.append(Running(*bugs))
        return started[-1]

    yield start
    for r in started:
        r.kill()


def test_json_has_exactly_the_documented_schema(sound: Any) -> None:
    status, out, _ = audit_cli(sound("accept-any").url, "--json", "--only", "accept-respects-promise,bad-input")
    report = json.loads(out)
    assert status == 1 and set(report) == {"url", "verdict", "rules"} and report["verdict"] == "fail"
    assert all(set(r) == SCHEMA_RULE for r in report["rules"])
    fail = report["rules"][0]
    assert fail["kind"] == "paxos" and fail["verdict"] == "fail"
    assert set(fail["evidence"][0]) == {"method", "path", "status", "body", "start", "end"}
    assert fail["evidence"][-1]["path"].startswith("/api/paxos/accept?id=")


def test_several_acceptors_make_an_array(sound: Any) -> None:
    a, b = sound(), sound()
    status, out, _ = audit_cli(a.url, b.url, "--json", "--only", "promise-higher")
    assert status == 0 and [r["url"] for r in json.loads(out)] == [a.url, b.url]


def test_several_acceptors_make_an_array_even_when_only_one_answered(sound: Any) -> None:
    a, dead = sound(), dead_url()
    status, out, err = audit_cli(a.url, dead, "--json", "--only", "promise-higher")
    assert status == 2 and [r["url"] for r in json.loads(out)] == [a.url]
    assert f"paxos-audit: {dead}: connection refused" in err


def test_junit_has_one_testcase_per_rule_and_the_failure_text(sound: Any, tmp_path: Path) -> None:
    path = tmp_path / "audit.xml"
    status, _, _ = audit_cli(sound("strip-values").url, "--junit", str(path), "--seed", "9")
    root = ET.parse(path).getroot()
    cases = root.findall("./testsuite/testcase")
    assert status == 1 and [c.get("name") for c in cases] == [r.name for r in RULES]
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["values-exact"]
    text = failed[0].find("failure").text or ""  # type: ignore[union-attr]
    assert "was granted reporting" in text and "/api/paxos/accept?id=" in text
    assert root.find("./testsuite/properties/property[@name='seed']").get("value") == "9"  # type: ignore[union-attr]
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert skipped == ["durable-promise", "durable-accept"]


def test_the_table_prints_the_seed_and_how_to_enable_durability(sound: Any) -> None:
    status, out, err = audit_cli(sound().url, "--seed", "42", "--only", "promise-higher,durable-accept")
    assert status == 0 and err == ""
    assert "seed 42" in out and f"  note: {ENABLE_DURABILITY}\n" in out
    assert "promise-higher" in out and "pass" in out and "skipped" in out


@pytest.mark.parametrize("reason, why, hint", [
    (SkipReason.NEEDS_RESTART, "no way to restart this acceptor was given", True),
    (SkipReason.READ_ONLY, HOW, False),
])
def test_the_restart_hint_follows_the_skip_reason_not_the_words_of_why(reason: SkipReason, why: str,
                                                                       hint: bool) -> None:
    """Reworded prose keeps the hint; the same prose for another reason does not give it."""
    durable = next(r for r in RULES if r.name == "durable-promise")
    report = AuditReport("http://127.0.0.1:1", 7, [Finding(durable, Verdict.SKIPPED, why, skipped=reason)])
    assert (f"  note: {ENABLE_DURABILITY}\n" in table(report, 200)) is hint


def test_verbose_draws_the_evidence_and_svg_writes_one_file_per_failing_rule(sound: Any, tmp_path: Path) -> None:
    status, out, _ = audit_cli(sound("race").url, "--only", "linearizable,promise-higher", "--verbose",
                                 "--svg", str(tmp_path / "svg"))
    assert status == 1
    assert "window opens" in out and "window closes" in out and "acceptor" in out and "|" in out
    assert os.listdir(tmp_path / "svg") == ["linearizable.svg"]
    svg = ET.parse(tmp_path / "svg" / "linearizable.svg").getroot()
    assert svg.tag.endswith("svg") and "window opens" in ET.tostring(svg, encoding="unicode")


def test_an_acceptor_holding_state_is_refused_unless_forced(sound: Any) -> None:
    acc = sound()
    assert audit_cli(acc.url, "--only", "promise-higher")[0] == 0
    status, out, err = audit_cli(acc.url, "--only", "promise-higher")
    assert status == 2 and out == "" and "--force" in err and len(err.strip().splitlines()) == 1
    status, out, _ = audit_cli(acc.url, "--only", "promise-higher", "--force")
    assert status == 0 and "forced: the acceptor held promisedId" in out


def test_read_only_sends_no_prepare_or_accept(acceptors: Callable[..., list[Acceptor]]) -> None:
    (acc,) = acceptors(1)
    status, out, _ = audit_cli(acc.url, "--read-only")
    assert status == 0 and "sends prepares and accepts: not run with --read-only" in out
    assert ENABLE_DURABILITY not in out, "--read-only skips durability, and --restart would not enable it"
    with open(acc.log_path, encoding="utf-8") as f:
        log = f.read()
    assert f"POST {PREPARE}?" not in log and "POST /api/paxos/accept?" not in log and STATE in log


def test_list_names_every_rule_once() -> None:
    status, out, _ = audit_cli("--list")
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == [r.name for r in RULES]


@pytest.mark.parametrize("argv, said", [
    ([], "name at least one acceptor URL"),
    (["ftp://x"], "the scheme must be http or https"),
    (["http://127.0.0.1:1", "--only", "no-such-rule"], "unknown rule 'no-such-rule'"),
    (["http://127.0.0.1:1", "--only", ","], "--only names no rule"),
    (["http://127.0.0.1:1", "--only="], "--only names no rule"),
    (["http://127.0.0.1:1", "--bogus"], "unrecognized arguments"),
])
def test_usage_errors_are_one_line_and_status_2(argv: list[str], said: str) -> None:
    status, _, err = audit_cli(*argv)
    assert status == 2 and said in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag, path, said", [
    ("--junit", "/nonexistent/dir/x.xml", "--junit: cannot write /nonexistent/dir is not a directory"),
    ("--junit", "{tmp}", "--junit: cannot write {tmp} is a directory"),
    ("--svg", "{tmp}/file", "--svg: cannot write {tmp}/file is not a directory"),
    ("--svg", "{tmp}/file/sub", "--svg: cannot write {tmp}/file is not a directory"),
])
def test_an_output_that_cannot_be_written_is_refused_before_the_audit_changes_anything(
        acceptors: Callable[..., list[Acceptor]], tmp_path: Path, flag: str, path: str, said: str) -> None:
    (tmp_path / "file").write_text("")
    (acc,) = acceptors(1)
    status, out, err = audit_cli(acc.url, flag, path.format(tmp=tmp_path))
    assert status == 2 and out == "" and err == f"paxos-audit: {said.format(tmp=tmp_path)}\n"
    with open(acc.log_path, encoding="utf-8") as f:
        assert "/api/paxos/" not in f.read(), "the audit ran, and its findings would have been lost"


def _html(h: Handler) -> None:
    h.respond(200, b"<!doctype html><html>hello</html>", "text/html")


def _garbage(h: Handler) -> None:
    h.respond(200, b"\x00\xff\x1b[2Jnot json at all", "application/json")


def _huge(h: Handler) -> None:
    """100 MB announced and sent until the client hangs up."""
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n")
    chunk = b" " * (1 << 20)
    try:
        for _ in range(100):
            h.wfile.write(chunk)
    except OSError:
        pass


def _not_http(h: Handler) -> None:
    """Bytes that are not an HTTP status line, control characters among them."""
    h.wfile.write(b"\x00\xff\x1b[31mGARBAGE\r\n\r\n")
    h.close_connection = True


def _short(h: Handler) -> None:
    """A body cut off before its Content-Length: the connection closes 984 bytes early."""
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                  b'{"promisedId": 1')
    h.close_connection = True


@pytest.mark.parametrize("behaviour, said", [
    (_html, "not a paxos acceptor: the reply is HTML"),
    (_short, ": connection closed mid-reply"),
    (_not_http, ": not a paxos acceptor: the reply is not HTTP"),
    (_garbage, "not a paxos acceptor: the reply is not JSON"),
    (_huge, "reply larger than 1 MiB: cut off"),
])
def test_a_url_that_is_not_an_acceptor_is_one_line(fake: Callable[..., Fake], behaviour: Any, said: str) -> None:
    status, out, err = audit_cli(fake(behaviour).url)
    assert status == 2 and out == "" and said in err and len(err.strip().splitlines()) == 1
    assert "\x1b" not in err and "Traceback" not in err


def test_a_hung_or_dead_acceptor_is_one_line_not_a_hang(blackhole: Any) -> None:
    status, _, err = audit_cli(blackhole().url, "--timeout", "0.3")
    assert status == 2 and "timeout" in err and len(err.strip().splitlines()) == 1
    status, _, err = audit_cli(dead_url())
    assert status == 2 and "connection refused" in err


@pytest.mark.parametrize("first", [b"HTTP/1.1 200 OK\r\nX-Slow: ", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"],
                         ids=["head", "body"])
def test_a_reply_trickled_a_byte_at_a_time_ends_at_the_timeout(fake: Callable[..., Fake], first: bytes) -> None:
    """Each byte comes well inside the timeout, so no read times out: the request's own deadline must end it."""
    stop = threading.Event()
    began = time.monotonic()
    try:
        status, out, err = audit_cli(fake(trickle(first, stop, 0.02)).url, "--timeout", "0.3")
    finally:
        stop.set()
    assert status == 2 and out == "" and err.endswith(": timeout\n") and len(err.splitlines()) == 1, err
    assert time.monotonic() - began < 5, "the trickle held the audit far past its 0.3 s timeout"


def test_the_program_never_prints_a_traceback(blackhole: Any) -> None:
    p = subprocess.run([sys.executable, "-m", "paxos_shell.audit", blackhole().url, "--timeout", "0.3"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


class TrickledHandshake:
    """A loopback server that accepts TCP and answers a TLS ClientHello with the head of a 16 KiB
    handshake record and then one byte of it every 20 ms: each byte well inside any read timeout,
    the record never whole (at that pace it would take 5 minutes)."""

    RECORD_HEAD = b"\x16\x03\x03\x40\x00"  # a handshake record of 16,384 bytes

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with self.listener:
            while True:
                try:
                    conn, _ = self.listener.accept()
                except OSError:  # closed by close()
                    return
                threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.sendall(self.RECORD_HEAD)
                while not self.stop.wait(0.02):
                    conn.sendall(b"\x00")
            except OSError:
                pass  # the client gave up

    def close(self) -> None:
        self.stop.set()
        socket.socket.shutdown(self.listener, socket.SHUT_RDWR)


def test_a_tls_handshake_trickled_a_byte_at_a_time_ends_at_the_timeout() -> None:
    """Ends at the timeout like a trickled reply head: the connect timeout bounds the handshake
    whole (exchange.py); seen to fail when the lane gives no connect timeout."""
    server = TrickledHandshake()
    began = time.monotonic()
    done = threading.Event()
    said: list[tuple[int, str, str]] = []
    threading.Thread(target=lambda: (said.append(audit_cli(server.url, "--timeout", "0.3")), done.set()),
                     daemon=True).start()
    try:
        assert done.wait(10), "the trickled handshake held the audit 10 s past its 0.3 s timeout"
    finally:
        server.close()  # ends the trickle, and so the audit of a program that waits for it
    status, out, err = said[0]
    assert status == 2 and out == "" and err.endswith(": timeout\n") and len(err.splitlines()) == 1, err
    assert time.monotonic() - began < 5, "the trickled handshake held the audit far past its 0.3 s timeout"


def test_restart_command_substitutes_url_and_id() -> None:
    assert command_line("restart {id} at {url}", "http://h:1/a b", 3) == "restart 3 at 'http://h:1/a b'"


def live_in_group(pgid: int) -> list[int]:
    """Pids of the processes of group `pgid` not yet dead (a zombie awaits only its reaper)."""
    found = []
    for name in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except (OSError, ValueError):
            continue  # not a process, or one that ended while listed
        state, _ppid, group = stat[stat.rindex(")") + 2:].split()[:3]
        if int(group) == pgid and state != "Z":
            found.append(int(name))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_a_restart_command_that_hangs_is_killed_with_its_whole_process_group(tmp_path: Path) -> None:
    said = tmp_path / "said"  # the group the command ran in, and its background child
    hangs = f"sleep 300 & echo $(cut -d' ' -f5 /proc/$$/stat) $! > {said}; sh -c 'sleep 300 & sleep 300'"
    with pytest.raises(RestartFailed) as e:
        run_command(hangs, "http://127.0.0.1:1", 1, wait=1.0)
    assert str(e.value) == "the restart command did not return within 1 s; it was killed, with its process group"
    group, child = map(int, said.read_text().split())
    assert group != os.getpgrp(), "the command ran in the audit's own process group"
    assert wait_until(lambda: not live_in_group(group)), f"left running: {live_in_group(group)} (sleep: {child})"


def test_a_failing_restart_command_fails_both_durability_rules_with_its_line(sound: Any) -> None:
    status, out, _ = audit_cli(sound().url, "--only", "durable-promise,durable-accept", "--restart",
                               "echo 'disk on fire' >&2; exit 3", "--json")
    rules = json.loads(out)["rules"]
    assert status == 1
    for r in rules:
        assert r["verdict"] == "fail" and "exited with status 3: disk on fire" in r["why"] and r["evidence"]


def test_an_acceptor_that_does_not_come_back_is_a_failure_not_a_hang(sound: Any) -> None:
    acc = sound()
    opts = Options(seed=1, restarter=acc.kill, restart_wait=0.5)
    report = audit(acc.url, opts, select("durable-promise"))
    (f,) = report.findings
    assert f.verdict.value == "fail" and "did not come back within 0.5 s" in f.why and f.evidence
