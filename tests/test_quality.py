"""The codebase stays as designed: lint-clean, type-clean, and the core imports nothing outward."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "vauth" / "ctap"
# The core is sans-I/O: no sockets, no sqlite, no aiohttp, no os, and nothing from outer layers.
FORBIDDEN_IN_CORE = {
    "os",
    "socket",
    "asyncio",
    "sqlite3",
    "sqlcipher3",
    "aiohttp",
    "subprocess",
    "threading",
    "vauth.vault",
    "vauth.api",
    "vauth.transport",
    "vauth.webauthn",
    "vauth.daemon",
    "vauth.cli",
    "vauth.virtual",
    "vauth.store",
    "vauth.keys",
    "vauth.presence",
    "vauth.clock",
    "vauth.testing",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_nothing_outward(path: Path) -> None:
    bad = {
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_CORE)
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_clean() -> None:
    for args in (("ruff", "check", "."), ("ruff", "format", "--check", ".")):
        result = _tool(*args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_clean() -> None:
    result = _tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
