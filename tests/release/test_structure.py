"""The product's shape: small modules, and imports that run one way in short chains.

The import graph is read from the source with ``ast``: every import, those inside functions
too, except the ones only the type checker sees (``if TYPE_CHECKING:``). A name imported from
the client package counts as an import of the module that defines it (the package imports it
when the name is first used), and the command line's parser imports each subcommand's module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import qwen_asr_realtime

from wyoming_server.cli.parser import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "qwen_asr"
# Where each importable package's files are.
PACKAGES = {
    "wyoming_server": ROOT / "wyoming_server",
    "qwen_asr_realtime": INTEGRATION / "realtime",
    "custom_components.qwen_asr": INTEGRATION,
}
# The client package under its two names: installed, and inside the integration.
CLIENT_NAMES = ("qwen_asr_realtime", "custom_components.qwen_asr.realtime")
ENTRY = "wyoming_server.__main__"
MAX_LINES = 350
MAX_CHAIN = 12


def _modules() -> dict[str, Path]:
    """Return every product module by its dotted name."""
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if package == "custom_components.qwen_asr" and parts[0] == "realtime":
                continue  # the client, under its own name
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


MODULES = _modules()


# The module that defines each name the client package exports (the package's own map).
CLIENT_EXPORTS = {
    name: "qwen_asr_realtime" + module for name, module in qwen_asr_realtime._MODULES.items()
}


def _runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Yield the imports that run, at module level or in functions (not TYPE_CHECKING's)."""
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in typing_only:
            yield node


def _known(name: str) -> str | None:
    """Return the product module ``name`` is, or is in (None: not the product's)."""
    for client in CLIENT_NAMES:
        if name == client or name.startswith(client + "."):
            name = "qwen_asr_realtime" + name.removeprefix(client)
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """Return the dotted name a ``from ... import`` in ``module`` names, levels resolved."""
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module or ''}".rstrip(".")


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """Return the product modules one import statement loads."""
    if isinstance(node, ast.Import):
        return {target for alias in node.names if (target := _known(alias.name))}
    base = _absolute(module, node)
    found: set[str] = set()
    for alias in node.names:
        full = f"{base}.{alias.name}"
        if _known(base) == "qwen_asr_realtime" and alias.name in CLIENT_EXPORTS:
            found.add(CLIENT_EXPORTS[alias.name])
        elif full in MODULES:
            found.add(full)
        elif target := _known(base):
            found.add(target)
    return found


@cache
def imports_of(module: str) -> frozenset[str]:
    """Return the product modules ``module`` imports (the client package's names resolved)."""
    if module == "qwen_asr_realtime":
        return frozenset()  # it imports each name's module only when the name is used
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = {t for node in _runtime_imports(tree) for t in _targets(module, node)}
    if module == "wyoming_server.cli.parser":
        found |= {f"wyoming_server.cli.{command}" for command in COMMANDS}
    return frozenset(found - {module})


def _cycle_from(module: str, path: tuple[str, ...], done: set[str]) -> tuple[str, ...] | None:
    if module in path:
        return (*path[path.index(module) :], module)
    if module in done:
        return None
    for target in sorted(imports_of(module)):
        if cycle := _cycle_from(target, (*path, module), done):
            return cycle
    done.add(module)
    return None


@cache
def longest_chain(module: str) -> tuple[str, ...]:
    """Return the longest import chain from ``module`` (the graph has no cycle)."""
    chains = [longest_chain(target) for target in imports_of(module)]
    return (module, *max(chains, key=len, default=()))


def test_no_product_module_is_over_350_lines() -> None:
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long


def test_the_imports_have_no_cycle_not_even_inside_functions() -> None:
    done: set[str] = set()
    cycles = [cycle for name in MODULES if (cycle := _cycle_from(name, (), done))]
    assert not cycles


def test_the_longest_chain_from_the_entry_point_is_at_most_12_modules() -> None:
    chain = longest_chain(ENTRY)
    assert len(chain) <= MAX_CHAIN, " > ".join(chain)
    # The graph is read right: serve reaches the client's socket through the handler.
    assert {"wyoming_server.handler", "qwen_asr_realtime.client"} <= _reachable(ENTRY)


def test_the_client_package_imports_no_module_of_its_own_when_loaded() -> None:
    """Each name's module is imported when the name is first used (``health`` stays light)."""
    assert imports_of("qwen_asr_realtime") == frozenset()
    assert "qwen_asr_realtime.client" not in _reachable("wyoming_server.cli.health")


def test_a_cycle_hidden_in_a_function_is_found() -> None:
    """The reader sees imports inside functions and skips the type checker's."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .server import QwenAsrServer\n"
        "def later():\n    from .handler import QwenAsrEventHandler\n"
    )
    targets = {t for node in _runtime_imports(tree) for t in _targets("wyoming_server.wav", node)}
    assert targets == {"wyoming_server.handler"}


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += imports_of(module)
    return seen


def test_the_client_package_is_the_one_public_face_of_the_client() -> None:
    """The server and the integration import the client's names from its package only."""
    reaching_in = [
        f"{name}: {ast.unparse(node)}"
        for name, path in MODULES.items()
        if not name.startswith("qwen_asr_realtime")
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and (_known(_absolute(name, node)) or "").startswith("qwen_asr_realtime.")
    ]
    assert not reaching_in
