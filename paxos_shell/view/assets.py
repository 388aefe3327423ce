"""The page's files, shipped in the package (view/static/): read once, served from memory.

Its job: list the assets the server may serve, with their content types, and
read them from the installed package. No network, no CDN, no web fonts: the
view works on a machine with no connection at all. Reads files; serves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from paxos_shell.diagram.style import STYLESHEET, stylesheet

PAGE = "index.html"
DIAGRAM_CSS = STYLESHEET

TYPES = {
    PAGE: "text/html; charset=utf-8",
    "view.css": "text/css; charset=utf-8",
    DIAGRAM_CSS: "text/css; charset=utf-8",
    "view.js": "text/javascript; charset=utf-8",
}
"""Every file the server answers for, and nothing else."""


@dataclass(frozen=True)
class Asset:
    name: str
    content_type: str
    body: bytes


def read(name: str) -> bytes:
    """A file of the page: the diagram's stylesheet lives with the diagram (diagram/), the rest here."""
    if name == DIAGRAM_CSS:
        return stylesheet().encode("utf-8")
    return (resources.files("paxos_shell") / "view" / "static" / name).read_bytes()


def load() -> dict[str, Asset]:
    return {name: Asset(name, ctype, read(name)) for name, ctype in TYPES.items()}


