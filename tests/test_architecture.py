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


PURE = ("core/paxos.py", "core/wire.py", "core/text.py", "core/urls.py", "core/errors.py", "core/options.py",
        "core/vocab.py", "knowledge/model.py", "knowledge/facts.py", "knowledge/possible.py",
        "knowledge/breaks.py", "knowledge/outlook.py", "knowledge/hints.py", "knowledge/trust.py",
        "knowledge/proposers.py", "knowledge/ledger.py", "shell/results.py", "shell/completer.py", "audit/expect.py")
"""Every module the README calls pure: the Paxos rules, the protocol, the knowledge model."""


def test_the_pure_core_does_no_io() -> None:
    io_modules = {"socket", "http.client", "http.server", "requests", "urllib3", "subprocess", "os", "threading",
                  "select", "time", "asyncio", "signal", "shutil", "io"}  # `http` alone is HTTPStatus: data
    for name in PURE:
        tree = ast.parse((PACKAGE / name).read_text())
        used = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        used |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
        used |= {u.split(".")[0] for u in used}
        assert not used & io_modules, (name, used & io_modules)


def test_the_pure_modules_import_only_pure_modules() -> None:
    g = graph()
    pure = {module_name(PACKAGE / name) for name in PURE}
    for mod in sorted(m for m in pure if not m.startswith("paxos_shell.shell.")):  # the shell's own: above
        assert g[mod] <= pure | {"paxos_shell.core", "paxos_shell.knowledge"}, (mod, g[mod] - pure)


LAYERS = (
    {"core", "runtime"},
    {"knowledge", "net", "pool"},
    {"engine"},
    {"diagram"},
    {"audit", "watch"},
    {"shell"},
    {"view"},
    {"cli", "config", "__main__"},
)
"""The packages from the bottom up: a package imports only from its own layer's package or from
layers below it (cli.py, config.py and __main__.py are the program at the top). The acceptor is
a program of its own beside the shell: it may import only what ACCEPTOR_MAY lists."""
ACCEPTOR_MAY = {"core", "runtime", "pool.layout"}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def direction_breaks(g: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs that go up the layers, or from the acceptor beyond what it may use."""
    found = []
    for mod, deps in g.items():
        pkg = package_of(mod)
        for dep in deps:
            dpkg = package_of(dep)
            if not dpkg or dpkg == pkg:
                continue
            if pkg == "acceptor":
                allowed = any(dep.startswith(f"paxos_shell.{a}") for a in ACCEPTOR_MAY)
            elif dpkg == "acceptor":
                allowed = False
            else:
                allowed = layer_of(dpkg) < layer_of(pkg) or (layer_of(dpkg) == layer_of(pkg) and pkg in ("cli",
                                                                                                        "config",
                                                                                                        "__main__"))
            if not allowed:
                found.append((mod, dep))
    return sorted(found)


def test_packages_depend_in_one_direction() -> None:
    assert direction_breaks(graph()) == []


def test_the_direction_check_catches_a_planted_upward_import() -> None:
    g = {"paxos_shell.core.paxos": {"paxos_shell.shell.render"},
         "paxos_shell.acceptor.node": {"paxos_shell.net.client"},
         "paxos_shell.shell.app": {"paxos_shell.view.live"}}
    assert direction_breaks(g) == [("paxos_shell.acceptor.node", "paxos_shell.net.client"),
                                   ("paxos_shell.core.paxos", "paxos_shell.shell.render"),
                                   ("paxos_shell.shell.app", "paxos_shell.view.live")]


def test_every_package_is_placed_in_a_layer() -> None:
    placed = set().union(*LAYERS) | {"acceptor", "lessons"}
    for path in PACKAGE.iterdir():
        name = path.stem if path.suffix == ".py" else path.name
        if path.name.startswith("__pycache__") or path.name == "__init__.py":
            continue
        if path.is_dir() or path.suffix == ".py":
            assert name in placed, f"{name} is in no layer of tests/test_architecture.py"


def test_the_completer_never_imports_the_client() -> None:
    deps = graph()["paxos_shell.shell.completer"]
    network = {"paxos_shell.net.client", "paxos_shell.net.transport", "paxos_shell.net.tap",
               "paxos_shell.engine.proposer", "paxos_shell.pool.local"}
    assert not deps & network, deps


def test_every_module_is_in_the_readme_map() -> None:
    text = README.read_text()
    block = text[text.index("## Map of the code"):]
    block = block[: block.index("\n## ", 5)]
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        assert re.search(rf"\b{re.escape(path.stem)}(\.py)?\b", block), f"{path.relative_to(PACKAGE)} not in the map"
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) > 1:
            assert f"{rel.parts[0]}/" in block, f"package {rel.parts[0]}/ not in the map"
    assert os.path.isdir(PACKAGE / "lessons")


def modules_tested_through() -> dict[str, list[str]]:
    """docs/testing.md's table: module -> the test files that test it through a neighbour."""
    text = (README.parent / "docs" / "testing.md").read_text()
    block = text[text.index("<!-- tested-through -->"): text.index("<!-- /tested-through -->")]
    rows = re.findall(r"^\| ([\w/]+\.py) \| (.+?) \|$", block, re.M)
    return {mod: re.findall(r"test_\w+\.py", tests) for mod, tests in rows}


def test_every_module_has_its_tests() -> None:
    table = modules_tested_through()
    tests = PACKAGE.parent / "tests"
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        rel = str(path.relative_to(PACKAGE))
        named = tests / f"test_{path.stem}.py"
        assert named.exists() or table.get(rel), f"{rel}: no tests/{named.name}, and docs/testing.md names none"
    for mod, files in table.items():
        assert (PACKAGE / mod).exists(), f"docs/testing.md names {mod}, which is gone"
        assert files and all((tests / f).exists() for f in files), (mod, files)
