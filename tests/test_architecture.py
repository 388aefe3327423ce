"""The architecture the README's map describes, checked: no import circles, a pure core,
a completer that never reaches the network, and every module named in the map.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "paxos_shell"
README = PACKAGE.parent / "README.md"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every paxos_shell module `path` imports, TYPE_CHECKING and function-level imports included."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("paxos_shell"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("paxos_shell"):
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    found.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                              or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else target)
    return found - {mod}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def find_cycle(g: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if m not in g:
                continue
            if state.get(m) == 1:
                return [*stack[stack.index(m):], m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return []

    for n in sorted(g):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return []


def test_no_import_circle() -> None:
    g = graph()
    # A package __init__ that imports its own modules (commands/__init__) is not a circle
    # unless a module imports the package back.
    assert find_cycle(g) == [], " -> ".join(find_cycle(g))


def test_the_cycle_finder_finds_a_planted_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_pure_core_does_no_io() -> None:
    io_modules = {"socket", "http", "requests", "subprocess", "os", "threading", "urllib", "select", "time"}
    for name in ("paxos.py", "text.py", "errors.py", "options.py", "shell/results.py", "shell/completer.py"):
        tree = ast.parse((PACKAGE / name).read_text())
        used = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        used |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and not n.level}
        assert not used & io_modules, (name, used & io_modules)


def test_the_completer_never_imports_the_client() -> None:
    deps = graph()["paxos_shell.shell.completer"]
    network = {"paxos_shell.client", "paxos_shell.transport", "paxos_shell.tap", "paxos_shell.proposer",
               "paxos_shell.pool"}
    assert not deps & network, deps


def test_every_module_is_in_the_readme_map() -> None:
    text = README.read_text()
    block = text[text.index("## Map of the code"):]
    block = block[: block.index("\n## ", 5)]
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        assert re.search(rf"\b{re.escape(path.stem)}(\.py)?\b", block), f"{path.relative_to(PACKAGE)} not in the map"
    assert os.path.isdir(PACKAGE / "lessons")
