"""The config file: `key = value` lines that stand for command-line options.

`$XDG_CONFIG_HOME/paxos-shell/config` holds defaults for the options of
`paxos-shell`; `#` starts a comment; `url` may repeat. The file is turned into
an argument list placed before the real command line (httpie's idea), so
argparse checks and merges both with the same rules. Reading only.
"""

from __future__ import annotations

import argparse
import os

from paxos_shell.core.errors import InvocationError

VALUED = ("server-count", "host", "base-port", "url", "timeout", "format", "local", "data-dir", "proposer-number",
          "ca-bundle", "header", "auth")
SWITCHES = ("insecure", "no-proxy")
"""Keys that are on or off: `insecure = yes` (yes/no, true/false, on/off, 1/0)."""
REPEATED = ("url", "header")
POOL_KEYS = ("server-count", "host", "base-port", "url", "local")
"""Keys that describe the pool: ignored as a whole when the command line names a pool."""
SECRET_KEYS = ("auth", "header")
"""Keys whose values may be credentials: the file must then be readable by its owner only."""
TRUE, FALSE = ("yes", "true", "on", "1"), ("no", "false", "off", "0")


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
        key, value = key.strip(), value.strip()
        if not sep or key not in VALUED + SWITCHES:
            raise ConfigError(f"line {no}: expected one of {', '.join(sorted(VALUED + SWITCHES))} = VALUE")
        if key in SWITCHES and value.lower() not in TRUE + FALSE:
            raise ConfigError(f"line {no}: {key} is yes or no, not {value!r}")
        settings.append((key, value))
    _private_if_secret(path, settings)
    return settings


def _private_if_secret(path: str, settings: list[tuple[str, str]]) -> None:
    """Credentials in a file others can read are not credentials any more: refuse, and say how to fix it."""
    secret = sorted({k for k, _ in settings if k in SECRET_KEYS})
    if not secret:
        return
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"it holds {' and '.join(secret)} but others may read it (mode {mode:04o}): "
                          f"run 'chmod 600 {path}' first")


def config_argv(settings: list[tuple[str, str]], skip_pool: bool, given: argparse.Namespace) -> list[str]:
    """The settings as options. Pool keys are left out when the command line describes
    the pool itself, and a repeatable key (url) when the command line repeats it."""
    argv: list[str] = []
    for key, value in settings:
        if skip_pool and key in POOL_KEYS:
            continue
        if key in REPEATED and getattr(given, key):
            continue
        if key in SWITCHES:
            if value.lower() in TRUE:
                argv.append(f"--{key}")
            continue
        argv.append(f"--{key}={value}")
    return argv
