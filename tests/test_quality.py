"""The codebase stays as designed: lint-clean, type-clean, and the core imports nothing outward."""

from __future__ import annotations

import ast
import json
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
    "vauth.actions",
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


# What importing each part may not load, checked in a fresh interpreter: what an import pulls in
# at run time, through every package __init__, is what a user of that part pays for.
HEAVY = ("sqlcipher3", "aiohttp", "publicsuffixlist", "ada_url", "zxcvbn")
OUTER = (
    "vauth.vault",
    "vauth.webauthn",
    "vauth.transport",
    "vauth.api",
    "vauth.virtual",
    "vauth.service",
    "vauth.daemon",
    "vauth.cli",
    "vauth.testing",
    "vauth.actions",
)
CORE_MACHINERY = (
    "vauth.ctap.authenticator",
    "vauth.ctap.commands",
    "vauth.ctap.extensions",
    "vauth.ctap.ctap1",
)
RUNTIME_LAYERS = {
    # The package itself: its public names load on first use (PEP 562).
    "vauth": ("vauth.ctap", "nacl", *HEAVY, *OUTER),
    # The core: nothing outward and no I/O library (it hashes PINs with Argon2id, from nacl).
    "vauth.ctap.cbor": ("nacl", *HEAVY, *OUTER),
    "vauth.ctap.authenticator": (*HEAVY, *OUTER),
    # The client side of a ceremony: the core, never the vault or a transport.
    "vauth.webauthn.client": ("sqlcipher3", "aiohttp", *OUTER[:1], *OUTER[2:]),
    # The vault: the core's ports and shared types, never its command machinery or WebAuthn.
    "vauth.vault": ("aiohttp", *CORE_MACHINERY, *OUTER[1:]),
    "vauth.vault.exchange": ("aiohttp", *CORE_MACHINERY, *OUTER[1:]),
    # Sync: the vault and shared types; no server, no WebAuthn, no command machinery.
    "vauth.sync": ("aiohttp", *CORE_MACHINERY, *OUTER[1:]),
    # The native host relays bytes: no core, no vault, no crypto.
    "native_host.host": ("vauth.ctap", "cryptography", "nacl", *HEAVY, *OUTER[:2], *OUTER[3:]),
    # Loaded by every pytest run (entry point pytest11): only the package itself.
    "vauth.pytest_plugin": ("vauth.ctap", "cryptography", "nacl", *HEAVY, *OUTER),
}


def _loaded_by(module: str) -> list[str]:
    code = f"import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


@pytest.mark.parametrize("module", sorted(RUNTIME_LAYERS))
def test_import_loads_only_its_layer(module: str) -> None:
    forbidden = RUNTIME_LAYERS[module]
    loaded = _loaded_by(module)
    bad = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert not bad, f"import {module} loads {bad}"


def test_import_contracts_kept() -> None:
    """The layering in pyproject.toml's [tool.importlinter] contracts, import by import (including
    the ones only a function body makes): ctap/ imports nothing outward, webauthn/ only ctap/,
    vault/ only ctap/'s ports and shared types, the shared leaves nothing, the edges not the
    vault or WebAuthn, the native host no core."""
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True, no_logo=True))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# What transport/, api/ and the socket's actions may use (issue 12): the production "device" unit
# and the service over it, the shared leaves, and the core's shared protocol types (status codes,
# ports, CTAP limits), never the core's commands, the vault or the WebAuthn client.
DEVICE_INTERFACE = (
    "vauth.ctap.status",
    "vauth.ctap.ports",
    "vauth.ctap.config",
    "vauth.service",
    "vauth.device",
    "vauth.operations",
    "vauth.inputs",
    "vauth.secret",
    "vauth.paths",
    "vauth.base64url",
)


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *(ROOT / "vauth" / "transport").rglob("*.py"),
            *(ROOT / "vauth" / "api").rglob("*.py"),
            ROOT / "vauth" / "actions.py",
        ]
    ),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_edges_use_only_the_device_interface(path: Path) -> None:
    own = ".".join(path.relative_to(ROOT).with_suffix("").parts[:2])
    # The socket's actions answer in the request and reply shapes its framing defines.
    answers_in = ("vauth.transport.framing",) if own == "vauth.actions" else ()
    bad = {
        name
        for name in _imports(path)
        if name.startswith("vauth.")
        and not name.startswith(own)
        and name not in answers_in
        and not any(name == f or name.startswith(f + ".") for f in DEVICE_INTERFACE)
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
