"""The diagram's stylesheet: one file that the page serves and a standalone SVG carries inside it.

Reads a file shipped in the package; imports nothing else, so the view's server process can
serve it without loading the shell.
"""

from __future__ import annotations

from importlib import resources

STYLESHEET = "diagram.css"


def stylesheet() -> str:
    """The diagram's CSS, as shipped in paxos_shell/diagram/."""
    return (resources.files("paxos_shell") / "diagram" / STYLESHEET).read_text("utf-8")
