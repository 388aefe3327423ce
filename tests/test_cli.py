"""The command line (cli.py, config.py): options, the config file, usage errors, pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from paxos_shell import __version__
from paxos_shell.cli import parse_args


def shell(*args: str, **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paxos_shell", *args], capture_output=True, text=True,
                          timeout=60, **kw)


def write_config(home: str, text: str, mode: int = 0o600) -> str:
    d = os.path.join(home, "config", "paxos-shell")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def test_config_gives_defaults_the_command_line_overrides(private_home: str) -> None:
    write_config(private_home, "timeout = 0.5\nformat = plain\nserver-count = 4\n")
    args = parse_args([])
    assert (args.timeout, args.format, args.server_count) == (0.5, "plain", 4)
    args = parse_args(["--timeout", "2", "--url", "1=http://127.0.0.1:9"])
    assert args.timeout == 2.0 and args.server_count is None  # the command line's pool replaces the config's


def test_a_bad_config_value_names_the_file(private_home: str) -> None:
    path = write_config(private_home, "timeout = 0\n")
    p = shell("-c", "show")
    assert p.returncode == 2 and p.stderr.startswith(f"paxos-shell: config {path}: ")
    assert "bad timeout 0: choose 0.05 to 60 seconds" in p.stderr
    write_config(private_home, "colour = on\n")
    p = shell("-c", "show")
    assert p.returncode == 2 and "line 1: expected one of" in p.stderr


def test_options_in_a_config_file_that_do_not_go_together_name_the_file(private_home: str) -> None:
    """Each line is valid alone; together they are not, and the file is where to look, not the
    command line (which named no --host)."""
    path = write_config(private_home, "host = 127.0.0.2\n")
    p = shell("-c", "show")
    assert p.returncode == 2 and p.stderr == (
        f"paxos-shell: config {path}: --host goes with --server-count (the local pool listens on 127.0.0.1 "
        "only)\n")
    write_config(private_home, "url = 1=http://127.0.0.1:9\nserver-count = 3\n")
    p = shell("-c", "show")
    assert p.returncode == 2 and p.stderr.startswith(f"paxos-shell: config {path}: --server-count cannot be "
                                                     "combined with --url")


@pytest.mark.parametrize("argv,message", [
    (["--url", "1=http://a:1", "--url", "1=http://b:2", "-c", "state"], "acceptor 1 is given twice"),
    (["--url", "1=http://a:1", "--server-count", "3"], "--server-count cannot be combined with --url"),
    (["--local", "3", "--url", "1=http://a:1"], "--local cannot be combined"),
    # Was: ignored in silence, as --base-port once was with --local (issue 20, item 14).
    (["--url", "1=http://a:1", "--base-port", "29000", "-c", "pool"],
     "--host and --base-port do not apply to --url (each URL says where its acceptor is)"),
    (["--url", "1=http://a:1", "--host", "b", "-c", "pool"], "--host and --base-port do not apply to --url"),
    (["--local", "2", "--host", "127.0.0.2", "-c", "pool"],
     "--host goes with --server-count (the local pool listens on 127.0.0.1 only)"),
    (["--host", "127.0.0.2", "-c", "pool"], "--host goes with --server-count"),
    (["--timeout", "0", "--server-count", "1"], "bad timeout 0"),
    (["--proposer-number", "100", "--server-count", "1"], "bad proposer number 100: choose 0 to 99"),
    (["--server-count", "x"], "argument --server-count: bad server count 'x': expected a whole number"),
    (["--local", "9" * 5000], "argument --local: bad local pool size: a number of 5,000 digits; choose 1 or more"),
    (["/no/such/script.txt", "--server-count", "1"], "cannot read /no/such/script.txt"),
])
def test_usage_errors_exit_2_with_one_line(argv: list[str], message: str) -> None:
    p = shell(*argv)
    assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_version() -> None:
    p = shell("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"paxos-shell {__version__}"


def test_a_closed_pipe_ends_quietly(acceptors: Any) -> None:
    accs = acceptors(3)
    urls = [x for a in accs for x in ("--url", f"{a.id}={a.url}")]
    p = subprocess.run(f"{sys.executable} -m paxos_shell {' '.join(urls)} -c help -c help -c help | head -1",
                       shell=True, capture_output=True, text=True, timeout=60)
    assert p.stdout == "Paxos:\n" and p.stderr == "", p.stderr


def test_the_banner_says_when_the_default_ports_are_taken() -> None:
    import socket

    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
    try:
        holder.bind(("127.0.0.1", 8081))
        holder.listen(1)
    except OSError:
        pass  # someone else has it already: the ports are taken either way
    try:
        p = shell("--json", "-c", "pool")
    finally:
        holder.close()
    assert p.returncode == 0, p.stderr
    banner = " ".join(p.stderr.split())
    assert "(ports 8081..8083 were taken)" in banner
    urls = [a["url"] for a in json.loads(p.stdout)["acceptors"].values()]
    assert all(not u.endswith(":8081") for u in urls)
    ports = [u.rsplit(":", 1)[1] for u in urls]
    assert all(p in banner for p in ports)  # the ports it used instead, named


@pytest.mark.parametrize("text,url", [
    ("1=127.0.0.1:8081", "http://127.0.0.1:8081"), ("2=http://a:1/", "http://a:1"),
    ("3=https://acceptor.example:8443", "https://acceptor.example:8443"),
])
def test_id_url_keeps_https_and_adds_http_to_a_bare_address(text: str, url: str) -> None:
    from paxos_shell.pool.layout import parse_id_url

    assert parse_id_url(text)[1] == url


def test_a_url_given_twice_is_shown_without_its_password_or_escapes() -> None:
    p = shell("--url", "1=http://u:secret@127.0.0.1:1", "--url", "1=http://u:secret@127.0.0.1:2/\x1b[2J",
              "-c", "state")
    assert p.returncode == 2 and "secret" not in p.stdout + p.stderr, p.stderr
    assert p.stderr == ("paxos-shell: acceptor 1 is given twice (--url 1=http://u:***@127.0.0.1:1 "
                        "and --url 1=http://u:***@127.0.0.1:2/\\x1b[2J)\n")


@pytest.mark.parametrize("text,shown", [
    ("x=http://u:secret@127.0.0.1:1\x1b]0;owned\x07", "x=http://u:***@127.0.0.1:1\\x1b]0;owned\\x07"),
    ("1=ftp://u:secret@127.0.0.1:1", "1=ftp://u:***@127.0.0.1:1"),
    ("http://u:sec=ret@127.0.0.1:1", "http://u:***@127.0.0.1:1"),  # no ID, and a '=' in the password
])
def test_a_bad_id_url_is_shown_without_its_password_or_escapes(text: str, shown: str) -> None:
    p = shell("--url", text, "-c", "state")
    assert p.returncode == 2 and "secret" not in p.stderr and "ret@" not in p.stderr, p.stderr
    assert f"'{shown}'" in p.stderr and "\x1b" not in p.stderr, p.stderr


def test_a_script_whose_expectations_all_hold_succeeds(tmp_path: Any) -> None:
    # Lesson 2's script: a propose meant to fail, then expectations that all hold: exit 0, silent.
    from paxos_shell.shell.lessons import lesson_dir

    for lesson in ("02-minority-contact.txt", "07-dueling-proposers.txt", "11-amnesia.txt"):
        p = shell(os.path.join(lesson_dir(), lesson))
        assert p.returncode == 0 and "paxos-shell: exit" not in p.stderr, (lesson, p.stderr)
    script = tmp_path / "s.txt"
    script.write_text("propose A --contact-count 1\npropose A\nexpect chosen B\nexpect chosen A\n")
    p = shell(str(script))
    assert p.returncode == 1
    assert p.stderr.splitlines()[-1] == "paxos-shell: exit 1: 'expect chosen B' failed: chosen: A"


def test_a_saved_session_replays_to_exit_0(tmp_path: Any) -> None:
    saved = tmp_path / "saved.txt"
    p = shell("-c", "propose A --contact-count 1", "-c", "propose A", "-c", f"save {saved}")
    assert p.returncode == 1  # no expectation stated: the failed propose fails the run, and says so
    assert p.stderr.splitlines()[-1] == "paxos-shell: exit 1: 'propose A --contact-count 1' failed: no consensus"
    replay = shell(str(saved))
    assert replay.returncode == 0, replay.stderr
    assert "PASS expect chosen A" in replay.stdout


def test_an_error_fails_a_run_even_when_the_expectations_hold() -> None:
    p = shell("-c", "propose A", "-c", "prepaer 3", "-c", "expect chosen A")
    assert p.returncode == 1
    assert p.stderr.splitlines()[-1].startswith("paxos-shell: exit 1: 'prepaer 3' failed: unknown command 'prepaer'")


def test_base_port_places_the_local_pool() -> None:
    from tests.helpers import free_port

    base = free_port()
    p = shell("--local", "1", "--base-port", str(base), "--json", "-c", "pool")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["acceptors"]["1"]["url"] == f"http://127.0.0.1:{base}"
    import socket

    with socket.socket() as held:  # taken: refused in one line, never placed elsewhere in silence
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        p = shell("--local", "1", "--base-port", str(port), "-c", "pool")
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.strip() == (f"paxos-shell: cannot listen on 127.0.0.1 port {port} (--base-port): "
                                "Address already in use")
