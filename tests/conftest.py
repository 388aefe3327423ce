"""Fixtures: a private home, real acceptor processes, blackholes, acceptor doubles, clients, and shells.

Helpers that test modules import (Acceptor, Blackhole, run, ...) live in
the tests/helpers package; this file only wires them into pytest fixtures.
"""

from __future__ import annotations

import io
import os
import signal
import ssl
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import trustme

from paxos_shell.net.client import Client
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.pool.local import LocalPool, Pool
from paxos_shell.shell.app import Shell
from paxos_shell.view import command as _view_command  # noqa: F401 - the program registers `view` too

from .helpers import Acceptor, Blackhole, free_port
from .helpers.fake import HOST, Fake


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """No test reads or writes the real home: XDG directories point into a temp dir."""
    home = str(tmp_path_factory.mktemp("home"))
    for var, sub in (("XDG_STATE_HOME", "state"), ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data")):
        monkeypatch.setenv(var, os.path.join(home, sub))
    monkeypatch.delenv("PAXOS_DATA_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    # Local pools' temporary directories go under pytest's, so no run leaves /tmp/paxos-shell-*.
    monkeypatch.setenv("TMPDIR", str(tmp_path_factory.getbasetemp()))
    return home


@pytest.fixture(autouse=True)
def default_sigint() -> None:
    """Ctrl-C tests need SIGINT to raise KeyboardInterrupt, even when pytest runs as a
    background job (which inherits SIGINT ignored), in this process and its children."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def acceptors(tmp_path: Path) -> Iterator[Callable[..., list[Acceptor]]]:
    """Start N real paxos-acceptor processes; every one is stopped at teardown."""
    started: list[Acceptor] = []

    def start(n: int, *extra: str) -> list[Acceptor]:
        accs = [Acceptor(i, free_port(), str(tmp_path), extra=extra) for i in range(1, n + 1)]
        for a in accs:
            a.start(wait=False)
            started.append(a)
        for a in accs:
            a.wait_healthy()
        return accs

    yield start
    for a in started:
        a.kill()


@pytest.fixture
def blackhole() -> Iterator[Callable[[], Blackhole]]:
    holes: list[Blackhole] = []

    def make() -> Blackhole:
        h = Blackhole()
        holes.append(h)
        return h

    yield make
    for h in holes:
        h.close()


@pytest.fixture
def fake() -> Iterator[Callable[..., Fake]]:
    made: list[Fake] = []

    def make(behaviour: Any = None, tls: Any = None) -> Fake:
        made.append(Fake(behaviour, tls))
        return made[-1]

    yield make
    for f in made:
        f.close()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ClientOptions]:
    """A server context with a certificate for 127.0.0.1, and client options that verify it."""
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(ctx)
    bundle = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return ctx, ClientOptions(ca_bundle=str(bundle))


@pytest.fixture
def client() -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(urls: dict[int, str], timeout: float = 5.0, options: Any = None) -> Client:
        made.append(Client(urls, timeout, options))
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def shell(acceptors: Callable[..., list[Acceptor]]) -> Iterator[Shell]:
    """A shell on three real acceptors given by URL (not a local pool)."""
    accs = acceptors(3)
    sh = Shell(Pool({a.id: a.url for a in accs}, "test pool"), timeout=5.0, stream=io.StringIO(),
               err=io.StringIO(), colour=False)
    yield sh
    sh.close()


@pytest.fixture
def local() -> Iterator[Shell]:
    """A shell on its own local pool of three, as `paxos-shell` starts by default."""
    pool = LocalPool(3)
    pool.start()
    sh = Shell(Pool(pool.urls, "local", pool), timeout=5.0, stream=io.StringIO(), err=io.StringIO(), colour=False)
    yield sh
    sh.close()
