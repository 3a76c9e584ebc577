"""The protocol client's package is its one public face, and its imports run short.

Read from the source with ``ast`` (module-level imports; ``TYPE_CHECKING`` blocks are for
the type checker only and excluded), as ``import-chain`` measures them.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REALTIME = ROOT / "custom_components" / "qwen_asr" / "realtime"
# The Wyoming server imports the client as qwen_asr_realtime, the integration as .realtime.
PRODUCT = [
    *sorted((ROOT / "wyoming_server").rglob("*.py")),
    *sorted((ROOT / "custom_components" / "qwen_asr").glob("*.py")),
]
MAX_CHAIN = 5  # a module of realtime/ > ... > the deepest module it loads


def _runtime_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    """Return the module-level ``from`` imports outside ``if TYPE_CHECKING:``."""
    found: list[ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
            found += [n for n in node.body if isinstance(n, ast.ImportFrom)]
    return found


def _reaches_into_submodule(node: ast.ImportFrom) -> bool:
    module = node.module or ""
    if node.level == 0:
        return module.startswith("qwen_asr_realtime.")
    return module.startswith("realtime.")


def test_the_server_and_the_integration_import_the_client_only_through_its_package() -> None:
    """No product module names a submodule of realtime/ (the package exports it)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}"
        for path in PRODUCT
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        if _reaches_into_submodule(node)
    ]
    assert offenders == []


def _package_imports(name: str) -> set[str]:
    """Return the modules of realtime/ that ``name`` imports at run time."""
    path = REALTIME / f"{name}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    targets: set[str] = set()
    for node in _runtime_imports(tree):
        if node.level != 1:
            continue
        if node.module:
            targets.add(node.module.split(".")[0])
        else:  # from . import x
            targets.update(alias.name for alias in node.names)
    return {target for target in targets if (REALTIME / f"{target}.py").exists()}


@functools.cache
def _longest_chain(name: str) -> tuple[str, ...]:
    chains = [_longest_chain(target) for target in sorted(_package_imports(name))]
    return (name, *max(chains, key=len, default=()))


def test_the_client_packages_longest_import_chain_is_short() -> None:
    """From any module of realtime/ down to the deepest it loads, at most five modules
    (the package itself imports each name's module when the name is first used)."""
    chains = [_longest_chain(path.stem) for path in sorted(REALTIME.glob("*.py"))]
    longest = max(chains, key=len)
    assert len(longest) <= MAX_CHAIN, " > ".join(longest)


def test_the_package_exports_what_it_lists_and_loads_only_what_is_used() -> None:
    """``__all__`` is the list of imports the type checker reads; a name's module loads when
    the name is first used, so a light import (redact) loads neither the client nor
    websockets."""
    code = (
        "import sys, qwen_asr_realtime as q\n"
        "assert sorted(q.__all__) == sorted(q._MODULES), set(q.__all__) ^ set(q._MODULES)\n"
        "q.redact('x')\n"
        "loaded = [m for m in sys.modules if m.startswith(('qwen_asr_realtime', 'websockets'))]\n"
        "assert 'qwen_asr_realtime.client' not in loaded, loaded\n"
        "assert not [m for m in loaded if m.startswith('websockets')], loaded\n"
        "[getattr(q, name) for name in q.__all__]  # every name resolves\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
