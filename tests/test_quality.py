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
    "vauth.webauthn",
    "vauth.sync",
    "vauth.transport",
    "vauth.app",
    "vauth.daemon",
    "vauth.testing",
    "vauth.cli",
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
    "vauth.app",
    "vauth.daemon",
    "vauth.testing",
    "vauth.cli",
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
    # The folders' own packages load nothing: the CLI and the plugin take only the part they use.
    "vauth.app": ("vauth.ctap", "nacl", *HEAVY, *OUTER),
    "vauth.daemon": ("vauth.ctap", "nacl", *HEAVY, *OUTER),
    "vauth.testing": ("vauth.ctap", "fido2", "cryptography", "nacl", *HEAVY, *OUTER),
    # Loaded by every pytest run (entry point pytest11): only the package itself.
    "vauth.testing.pytest_plugin": ("vauth.ctap", "fido2", "cryptography", "nacl", *HEAVY, *OUTER),
    # The Firefox driver's wrapper (issue 15's vauth_page in Firefox): subprocesses and JSON only.
    "vauth.testing.browsers.firefox": (
        "vauth.ctap",
        "cryptography",
        "nacl",
        "pytest",
        *HEAVY,
        *OUTER,
    ),
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
    # A module's own packages load with it (vauth.testing with vauth.testing.pytest_plugin).
    loaded = [m for m in _loaded_by(module) if not (m == module or module.startswith(m + "."))]
    bad = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert not bad, f"import {module} loads {bad}"


def test_import_contracts_kept() -> None:
    """The layering in pyproject.toml's [tool.importlinter] contracts, import by import (including
    the ones only a function body makes): the CLI over daemon/ and testing/, over transport/, over
    app/, over sync/, over vault/ and webauthn/, over ctap/, over the shared leaves; the edges
    reach the vault and WebAuthn only through app/, the native host no core."""
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True, no_logo=True))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# What transport/, daemon/api/ and the socket's actions may use (issue 12): the production
# "device" unit and the service over it, the shared leaves, and the core's shared protocol types
# (status codes, ports, CTAP limits), never the core's commands, the vault or the WebAuthn client.
DEVICE_INTERFACE = (
    "vauth.ctap.status",
    "vauth.ctap.ports",
    "vauth.ctap.config",
    "vauth.app.service",
    "vauth.app.device",
    "vauth.app.operations",
    "vauth.app.tester",  # a tester's controls: the HTTP API's tester routes take their types
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
            *(ROOT / "vauth" / "daemon" / "api").rglob("*.py"),
            ROOT / "vauth" / "daemon" / "actions.py",
        ]
    ),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_edges_use_only_the_device_interface(path: Path) -> None:
    parts = path.relative_to(ROOT).with_suffix("").parts
    own = ".".join(parts[:3] if parts[1] == "daemon" else parts[:2])  # transport, api, actions
    # The socket's actions answer in the request and reply shapes its framing defines.
    answers_in = ("vauth.transport.framing",) if own == "vauth.daemon.actions" else ()
    bad = {
        name
        for name in _imports(path)
        if name.startswith("vauth.")
        and not (name == own or name.startswith(own + "."))
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


# -- issue 12 item 2: handlers see state components through narrow contexts ---------------------

# Modules a handler is made of: they get components, never the whole Authenticator.
HANDLER_MODULES = sorted(
    [
        *(CORE / "commands").glob("*.py"),
        *(CORE / "extensions").glob("*.py"),
        *(CORE / name for name in ("dispatch.py", "lookup.py", "pin_uv.py", "secrets.py")),
        CORE / "state.py",
    ]
)


@pytest.mark.parametrize("path", HANDLER_MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_no_handler_imports_or_receives_the_authenticator(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    assert "vauth.ctap.authenticator" not in _imports(path)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert "Authenticator" not in names, f"{path.name} names the whole Authenticator"


def _context_fields(tree: ast.Module) -> set[str]:
    """The fields of the module's ``class Context`` (annotated names in its body)."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Context":
            return {
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            }
    return set()


@pytest.mark.parametrize("path", sorted((CORE / "commands").glob("[!_]*.py")), ids=lambda p: p.stem)
def test_each_handler_uses_only_what_its_context_declares(path: Path) -> None:
    """Every command module declares a Context; ``ctx.<name>`` reads only its fields."""
    tree = ast.parse(path.read_text(), str(path))
    fields = _context_fields(tree)
    assert fields, f"{path.name} declares no Context"
    used = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "ctx"
    }
    assert used <= fields, f"{path.name} reaches {used - fields} outside its Context"


def test_the_core_names_its_settings_once() -> None:
    """get_setting/set_setting take a ``Setting`` from settings.py, never a string literal."""
    literal = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get_setting", "set_setting")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                literal.append(f"{path.name}:{node.lineno}")
    assert not literal, f"setting names as literals: {literal}"


def _int_constant(node: ast.AST | None) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


# Maps keyed by a number that is a value on the wire, not a map key: protocol versions, curves.
INT_KEYED_MAPS_ALLOWED = {"pin_uv.py", "pin.py", "public_key.py"}


@pytest.mark.parametrize("package", ["ctap", "webauthn"])
def test_no_hex_key_literals_outside_the_message_types(package: str) -> None:
    """A CBOR map key is a name defined once (messages/, cose.Label, hmac_secret.Key, ...):
    no ``m.get(0x05)``, ``required(params, 0x02, ...)`` or ``{1: ...}`` elsewhere."""
    found = []
    for path in sorted((ROOT / "vauth" / package).rglob("*.py")):
        if "messages" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            call = isinstance(node, ast.Call)
            if call and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                hit = bool(node.args) and _int_constant(node.args[0])
            elif (
                call
                and isinstance(node.func, ast.Name)
                and node.func.id
                in (
                    "required",
                    "optional",
                )
            ):
                hit = len(node.args) > 1 and _int_constant(node.args[1])
            elif isinstance(node, ast.Dict) and path.name not in INT_KEYED_MAPS_ALLOWED:
                hit = any(_int_constant(key) for key in node.keys)
            else:
                hit = False
            if hit:
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    assert not found, f"hex-key literals: {found}"
