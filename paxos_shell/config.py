"""The config file: `key = value` lines that stand for command-line options.

`$XDG_CONFIG_HOME/paxos-shell/config` holds defaults for the options of
`paxos-shell`; `#` starts a comment; `url` may repeat. The file is turned into
an argument list placed before the real command line (httpie's idea), so
argparse checks and merges both with the same rules. Reading only.
"""

from __future__ import annotations

import argparse

from .errors import InvocationError

VALUED = ("server-count", "host", "base-port", "url", "timeout", "format", "local", "data-dir", "proposer-number")
POOL_KEYS = ("server-count", "host", "base-port", "url", "local")
"""Keys that describe the pool: ignored as a whole when the command line names a pool."""


class ConfigError(InvocationError):
    """The config file cannot be read or has a line that means nothing."""


def read_config(path: str) -> list[tuple[str, str]]:
    """(key, value) pairs in file order; a missing file has none."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read it: {getattr(e, 'strerror', None) or e}") from None
    settings = []
    for no, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or key not in VALUED:
            raise ConfigError(f"line {no}: expected one of {', '.join(sorted(VALUED))} = VALUE")
        settings.append((key, value.strip()))
    return settings


def config_argv(settings: list[tuple[str, str]], skip_pool: bool, given: argparse.Namespace) -> list[str]:
    """The settings as options. Pool keys are left out when the command line describes
    the pool itself, and a repeatable key (url) when the command line repeats it."""
    argv: list[str] = []
    for key, value in settings:
        if skip_pool and key in POOL_KEYS:
            continue
        if key == "url" and given.url:
            continue
        argv.append(f"--{key}={value}")
    return argv
