"""The shell pointed at deployed acceptors (issue 11), through the real command line:
HTTPS with a throwaway CA, credentials never shown, proxies, and URLs that are not acceptors.
(tests/test_client.py tests the same features at the client's level.)"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme

from .helpers import HOST, Acceptor, free_port
from .helpers.fake import Fake, Handler, wire_json


def shell(*args: str, env: Any = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paxos_shell", "--timeout", "5", *args], capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.fixture
def tls_pool(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """Three of our acceptors serving HTTPS with a certificate from a throwaway CA; the CA's file."""
    ca = trustme.CA()
    cert = ca.issue_cert(HOST)
    pem = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    accs = [Acceptor(i, free_port(), str(tmp_path), extra=("--tls-cert", str(pem), "--tls-key", str(pem)))
            for i in (1, 2, 3)]
    try:
        for a in accs:
            a.start(wait=False)
        for a in accs:
            a.wait_for_log("listening on https://")
        yield [x for a in accs for x in ("--url", f"{a.id}=https://{HOST}:{a.port}")], ca_file
    finally:
        for a in accs:
            a.kill()


def test_https_verified_with_the_ca(tls_pool: tuple[list[str], Path]) -> None:
    urls, ca_file = tls_pool
    p = shell(*urls, "--ca-bundle", str(ca_file), "-c", "propose secure")
    assert p.returncode == 0 and "Consensus Reached" in p.stdout, p.stdout + p.stderr
    assert "INSECURE" not in p.stderr


def test_https_refused_without_the_ca(tls_pool: tuple[list[str], Path]) -> None:
    urls, _ = tls_pool
    p = shell(*urls, "-c", "state")
    assert p.returncode == 1 and "TLS: certificate verify failed" in p.stdout
    assert "Traceback" not in p.stdout + p.stderr


def test_https_insecure_works_and_says_so(tls_pool: tuple[list[str], Path]) -> None:
    urls, _ = tls_pool
    p = shell(*urls, "--insecure", "-c", "state")
    assert p.returncode == 0 and p.stdout.count(" up ") == 3
    assert "INSECURE: the certificates of https acceptors are not verified (--insecure)." in " ".join(
        p.stderr.split())
    p = shell(*urls, "--insecure", "--json", "-c", "show")
    assert "INSECURE: certificates not verified" in json.loads(p.stdout)["connection"]


def grant_or_web_page(h: Handler) -> None:
    """Grants every prepare (POST); a GET gets a web page, as from a URL that is not an acceptor."""
    if h.command == "GET":
        h.respond(200, b"<html><body>a web page</body></html>", "text/html")
        return
    n = int(parse_qs(urlsplit(h.path).query)["id"][0])
    h.respond(200, wire_json({"ignored": False, "promisedId": n}))


@pytest.fixture
def recorder() -> Iterator[Fake]:
    fake = Fake(grant_or_web_page)
    yield fake
    fake.close()


def test_credentials_reach_the_acceptor_and_are_never_shown(recorder: Fake, private_home: str) -> None:
    url = f"1=http://ann:s3cret-pw@{HOST}:{recorder.port}"
    p = shell("--url", url, "--auth", "bob:hunter22", "--header", "X-Token: tok-9f8e", "--json",
              "-c", "prepare 1", "-c", "show", "-c", "pool", "-c", "history")
    assert p.returncode == 0, p.stdout + p.stderr
    got = recorder.seen[0].headers
    assert got["X-Token"] == "tok-9f8e" and got["Authorization"].startswith("Basic ")
    for secret in ("s3cret-pw", "hunter22", "tok-9f8e"):
        assert secret not in p.stdout + p.stderr
    show = next(json.loads(ln) for ln in p.stdout.splitlines() if '"command": "show"' in ln)
    assert show["urls"]["1"] == f"http://ann:***@{HOST}:{recorder.port}"
    assert show["connection"] == ["header X-Token: ***", "auth bob:***"]


def test_credentials_in_a_config_file_others_can_read_are_refused(recorder: Fake, private_home: str) -> None:
    d = os.path.join(private_home, "config", "paxos-shell")
    os.makedirs(d)
    path = os.path.join(d, "config")
    with open(path, "w") as f:
        f.write(f"url = 1={recorder.url}\nauth = bob:hunter22\n")
    os.chmod(path, 0o644)
    p = shell("-c", "show")
    assert p.returncode == 2 and "hunter22" not in p.stderr
    assert f"it holds auth but others may read it (mode 0644): run 'chmod 600 {path}' first" in p.stderr
    os.chmod(path, 0o600)
    p = shell("-c", "prepare 1")
    assert p.returncode == 0 and recorder.seen[-1].headers["Authorization"].startswith("Basic ")


def test_a_dead_proxy_does_not_break_a_loopback_pool(recorder: Fake) -> None:
    env = dict(os.environ, HTTP_PROXY=f"http://{HOST}:{free_port()}", HTTPS_PROXY=f"http://{HOST}:{free_port()}")
    p = shell("--url", f"1={recorder.url}", "-c", "prepare 1", env=env)
    assert p.returncode == 0 and "Received promise from: [1]" in p.stdout


def test_a_url_that_is_not_an_acceptor_says_so(recorder: Fake) -> None:
    p = shell("--url", f"1={recorder.url}", "-c", "state")
    assert p.returncode == 1 and "not a paxos acceptor: the reply is HTML, not JSON" in " ".join(p.stdout.split())


def echo_secrets(h: Handler) -> None:
    """A broken acceptor whose error page echoes the request's credentials back."""
    echoed = f"echo: {h.headers.get('Authorization')} {h.headers.get('X-Token')}"
    h.respond(500, wire_json({"status": 500, "error": "Internal Server Error", "message": echoed, "path": "/"}))


SECRETS = ("S3CRETPW", "TOK3NVALUE", "YWxpY2U6UzNDUkVUUFc", "VE9LM05WQUxVRQ")
"""The password, the header value, `alice:S3CRETPW` and the token in base64."""


def test_secrets_an_acceptor_echoes_are_masked_everywhere(fake: Any, tmp_path: Path, private_home: str) -> None:
    # Was: `HTTP 500: echo: Basic YWxpY2U6UzNDUkVUUFc= TOK3NVALUE`, in text and in --json.
    acc = fake(echo_secrets)
    creds = ["--url", f"1={acc.url}", "--auth", "alice:S3CRETPW", "--header", "X-Token: TOK3NVALUE"]
    record, saved = tmp_path / "t.md", tmp_path / "s.txt"
    lines = ["state", "prepare 5", f"record {record}", "state", "accept 5 S3CRETPW --force", "record off",
             f"save {saved}", "history", "explain"]
    texts = [shell(*creds, *[a for ln in lines for a in ("-c", ln)], *extra) for extra in ([], ["--json"])]
    assert all("HTTP 500: echo: *** ***" in p.stdout + p.stderr for p in texts), texts[0].stdout
    shown = "".join(p.stdout + p.stderr for p in texts) + record.read_text() + saved.read_text()
    assert [s for s in SECRETS if s in shown] == []
    assert "accept 5 ***" in saved.read_text()


def test_a_trace_masks_secrets_before_it_shortens_a_label(fake: Any, tmp_path: Path, private_home: str) -> None:
    # Was: `trace` showed 'HTTP 500: echo: Basic YWxpY2U6U~', the SVG 'Basic YWxpY…' (masked after
    # shortening, too late) and `trace --mermaid FILE` the whole 'Basic YWxpY2U6UzNDUkVUUFc= TOK3NVALUE'.
    acc = fake(echo_secrets)
    creds = ["--url", f"1={acc.url}", "--auth", "alice:S3CRETPW", "--header", "X-Token: TOK3NVALUE"]
    mmd, drawn = tmp_path / "t.mmd", tmp_path / "t.svg"
    lines = ["state", "accept 5 TOK3NVALUE --force", "trace", f"trace --mermaid {mmd}", f"trace --svg {drawn}"]
    p = shell(*creds, *[a for ln in lines for a in ("-c", ln)], env=dict(os.environ, COLUMNS="80"))
    assert "HTTP 500: echo: *** ***" in mmd.read_text()
    shown = p.stdout + p.stderr + mmd.read_text() + drawn.read_text()
    assert [s[:5] for s in SECRETS if s[:5] in shown] == []  # not even a secret's first characters


def test_the_live_view_and_the_history_file_mask_secrets(fake: Any, private_home: str) -> None:
    from types import SimpleNamespace

    from paxos_shell.net.clientopts import ClientOptions
    from paxos_shell.pool.local import Pool
    from paxos_shell.shell.app import Shell
    from paxos_shell.shell.ui import make_history
    from paxos_shell.view.live import LiveView

    acc = fake(echo_secrets)
    options = ClientOptions(headers=(("X-Token", "TOK3NVALUE"),), auth=("alice", "S3CRETPW"))
    sh = Shell(Pool({1: acc.url}, "echo"), 5.0, stream=io.StringIO(), err=io.StringIO(), options=options)
    try:
        frames: list[bytes] = []
        view = LiveView(sh)
        view.server = SimpleNamespace(alive=True, publish=frames.append)  # type: ignore[assignment]
        sh.listeners.append(view)
        for line in ("state", "accept 5 TOK3NVALUE --force", "state"):
            sh.run_line(line)
        sent = b"".join(frames).decode()
        assert frames and [x for x in SECRETS if x in sent] == [] and "***" in frames[-1].decode()
        assert [x[:5] for x in SECRETS if x[:5] in sent] == []  # the diagram's shortened labels too
        history = make_history(sh.out.secrets)
        history.store_string("accept 6 TOK3NVALUE --force")
        assert list(history.load_history_strings()) == ["accept 6 *** --force"]
    finally:
        sh.listeners.clear()
        sh.close()
