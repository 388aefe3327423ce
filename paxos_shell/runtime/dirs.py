"""XDG directories, read from the environment on every call so tests can redirect them."""

from __future__ import annotations

import os

APP = "paxos-shell"


def _xdg(var: str, fallback: str) -> str:
    base = os.environ.get(var) or os.path.join(os.path.expanduser("~"), fallback)
    return os.path.join(base, APP)


def data_dir() -> str:
    """Acceptor state lives here unless --data-dir or $PAXOS_DATA_DIR says otherwise."""
    return os.environ.get("PAXOS_DATA_DIR") or _xdg("XDG_DATA_HOME", ".local/share")


def state_dir() -> str:
    return _xdg("XDG_STATE_HOME", ".local/state")


def config_dir() -> str:
    return _xdg("XDG_CONFIG_HOME", ".config")
