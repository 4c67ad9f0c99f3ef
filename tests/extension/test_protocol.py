"""The extension against the Python side: extension/shared/protocol.js names every daemon action
and error code, the content scripts' copies of its message names agree with it, both manifests
are what the browsers need, and no extension file loads or evaluates code at run time."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from vauth.app.service import ErrorCode
from vauth.daemon.actions import ACTIONS
from vauth.webauthn.errors import DOM_EXCEPTION_NAMES

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extension"
PROTOCOL = EXTENSION / "shared" / "protocol.js"
EXTENSION_ID_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzv0WBRJHgvVv/GAQW32MzWaGagBFDKj8CGxpCvu3HZRr/O7G"
    "K3AfXBfDg5CqYe54Nc9j9JFTFZoGnpIncLSB1pOD8FnIsPsIFpebccqfUCj3yXSZh80SHDJTTwIh7sLlAOvv+JlNEnM3"
    "mU0ED6YIZMmIsDJF+oNprsySxHHxmMqYFUCI6AP/rQOJBkL3MPwhKPAQa0eY0jfXc65RETrgYBEYDLtSrBhyhnALkCIu"
    "8uCzqU1QOsY+cjM25JhG0krrYi4T/sn4oSS+79mt57zK80THy/T8jaKLTo2HO4b4VSj3I/nThLQILfsdnCifcztxX7su"
    "2eajn+TvlfwLuvPQNwIDAQAB"
)
HOST_ACTIONS = {"host.hello"}
HOST_ERRORS = {"daemon_unavailable", "forbidden_origin", "bad_message"}
MATCHES = {"https://*/*", "http://localhost/*", "http://127.0.0.1/*", "http://*.localhost/*"}


# -- reading protocol.js ---------------------------------------------------------------------------


def _object_block(source: str, name: str) -> str:
    """The `{...}` after `const NAME = Object.freeze(` or `const NAME = `."""
    match = re.search(rf"const {name} = (?:Object\.freeze\()?\{{", source)
    assert match, f"{name} is not defined"
    depth, start = 0, match.end() - 1
    for i in range(start, len(source)):
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        if depth == 0:
            return source[start : i + 1]
    raise AssertionError(f"{name} is not closed")


def string_object(source: str, name: str) -> dict[str, str]:
    """KEY: "value" members of an object literal (spread members are resolved separately)."""
    block = _object_block(source, name)
    return dict(re.findall(r'\b([A-Z_][A-Z0-9_]*):\s*"([^"]*)"', block))


def spreads(source: str, name: str) -> list[str]:
    return re.findall(r"\.\.\.([A-Z_]+)", _object_block(source, name))


@pytest.fixture(scope="module")
def protocol() -> str:
    return PROTOCOL.read_text()


def test_host_name(protocol: str) -> None:
    assert re.search(r'export const HOST_NAME = "dev\.vauth\.host";', protocol)


def test_actions_are_the_daemons_and_the_hosts(protocol: str) -> None:
    names = set(string_object(protocol, "ACTIONS").values())
    assert names == set(ACTIONS) | HOST_ACTIONS


def _python_error_codes() -> set[str]:
    """vauth.app.service.ErrorCode (every code a daemon reply carries), and the codes the
    transports' framing answers with (a malformed frame, before any action runs)."""
    codes: set[str] = {code.value for code in ErrorCode}
    for path in sorted((ROOT / "vauth" / "transport").glob("*.py")):
        codes |= set(re.findall(r'_error\(\s*[^,]+,\s*"([^"]+)"', path.read_text()))
    return codes


def test_error_codes_cover_the_python_side(protocol: str) -> None:
    errors = set(string_object(protocol, "ERRORS").values())
    for spread in spreads(protocol, "ERRORS"):
        errors |= set(string_object(protocol, spread).values())
    python = _python_error_codes()
    assert "vault_locked" in python  # the grep still finds what it is meant to
    assert python - errors == set()
    assert HOST_ERRORS - errors == set()
    assert set(DOM_EXCEPTION_NAMES) - errors == set()


def test_dom_errors_are_webauthns(protocol: str) -> None:
    assert set(string_object(protocol, "DOM_ERRORS").values()) == set(DOM_EXCEPTION_NAMES)


def test_ui_actions_are_actions(protocol: str) -> None:
    actions = string_object(protocol, "ACTIONS")
    block = re.search(r"UI_ACTIONS = Object\.freeze\(\[(.*?)\]\)", protocol, re.DOTALL)
    assert block
    members = re.findall(r"ACTIONS\.([A-Z_]+)", block.group(1))
    assert members and set(members) <= set(actions)
    # ceremonies and signals start only from pages, with the origin from `sender`
    assert not {"CREATE", "GET", "CTAP"} & set(members)
    assert not any(m.startswith("SIGNAL_") for m in members)


@pytest.mark.parametrize("script", ["page/page.js", "content/bridge.js"])
def test_content_script_copies_agree(protocol: str, script: str) -> None:
    source = (EXTENSION / script).read_text()
    copied = re.search(
        r"// protocol:page-messages begin.*?\n(.*?)// protocol:page-messages end", source, re.DOTALL
    )
    assert copied, f"{script} has no protocol:page-messages block"
    block = copied.group(1)
    names = re.findall(r"const ([A-Z_]+) = \{", block)
    assert {"PAGE_MESSAGES", "PAGE_OPS"} <= set(names)
    for name in names:
        copy = string_object(block, name)
        original = string_object(protocol, name)
        assert copy, name
        assert copy.items() <= original.items(), f"{script}: {name} differs from protocol.js"
        if name in {"PAGE_MESSAGES", "PAGE_OPS"}:
            assert copy == original, f"{script}: {name} differs from protocol.js"


# -- manifests -----------------------------------------------------------------------------------


def _manifest(path: Path) -> dict[str, Any]:
    manifest = json.loads(path.read_text())
    assert isinstance(manifest, dict)
    return manifest


def _referenced_files(manifest: dict[str, Any]) -> list[str]:
    files = [f for cs in manifest["content_scripts"] for f in cs["js"]]
    background = manifest["background"]
    files += [*background.get("scripts", []), background.get("service_worker", "")]
    files += [manifest["action"]["default_popup"]]
    files += [manifest.get("options_page") or manifest["options_ui"]["page"]]
    return [f for f in files if f]


def _check_common(manifest: dict[str, Any]) -> None:
    assert manifest["manifest_version"] == 3
    permissions = set(manifest["permissions"])
    assert {"nativeMessaging", "storage"} <= permissions
    assert "<all_urls>" not in permissions
    assert "tabs" not in permissions  # activeTab and the host permissions suffice
    hosts = set(manifest.get("host_permissions", []))
    assert "<all_urls>" not in hosts
    assert hosts <= MATCHES  # nothing beyond where the content scripts run

    scripts = manifest["content_scripts"]
    worlds = {cs.get("world", "ISOLATED"): cs for cs in scripts}
    assert worlds["MAIN"]["js"] == ["page/page.js"]
    assert worlds["ISOLATED"]["js"] == ["content/bridge.js"]
    # the bridge is injected first, so it listens when the page script says hello
    assert [cs.get("world", "ISOLATED") for cs in scripts] == ["ISOLATED", "MAIN"]
    for cs in scripts:
        assert cs["run_at"] == "document_start"
        assert cs["all_frames"] is True
        assert cs["match_about_blank"] is True
        assert set(cs["matches"]) == MATCHES

    assert manifest["background"].get("type") == "module"
    csp = manifest.get("content_security_policy", {}).get("extension_pages", "script-src 'self'")
    assert "unsafe-eval" not in csp and "http" not in csp
    for file in _referenced_files(manifest):
        assert (EXTENSION / file).is_file(), file


def test_chromium_manifest() -> None:
    manifest = _manifest(EXTENSION / "manifest.json")
    assert manifest["key"] == EXTENSION_ID_KEY
    assert manifest["background"]["service_worker"] == "background/sw.js"
    _check_common(manifest)


def test_firefox_manifest() -> None:
    manifest = _manifest(EXTENSION / "firefox" / "manifest.json")
    assert manifest["browser_specific_settings"]["gecko"]["id"] == "vauth@vauth.dev"
    assert manifest["background"]["scripts"] == ["background/sw.js"]
    assert "key" not in manifest
    _check_common(manifest)
    chromium = _manifest(EXTENSION / "manifest.json")
    assert manifest["version"] == chromium["version"]
    # Firefox has no chrome.webAuthenticationProxy (proxy mode is Chromium's, issue 14)
    chromium_only = {"webAuthenticationProxy"}
    assert manifest["permissions"] == [p for p in chromium["permissions"] if p not in chromium_only]


def test_extension_id_is_pinned() -> None:
    """The ID Chromium derives from the key is the one the native host allows."""
    import base64
    import hashlib

    digest = hashlib.sha256(base64.b64decode(EXTENSION_ID_KEY)).hexdigest()[:32]
    ext_id = "".join(chr(ord("a") + int(c, 16)) for c in digest)
    assert ext_id == "bompmoifgjflchfcefcfnmejiaempafp"


# -- no code from elsewhere ----------------------------------------------------------------------

JS_FILES = sorted(EXTENSION.rglob("*.js"))
HTML_FILES = sorted(EXTENSION.rglob("*.html"))
FORBIDDEN = [
    (re.compile(r"\beval\s*\("), "eval"),
    (re.compile(r"\bnew\s+Function\s*\("), "new Function"),
    (re.compile(r"\bFunction\s*\(\s*['\"`]"), "Function(string)"),
    (re.compile(r"set(?:Timeout|Interval)\s*\(\s*['\"`]"), "string timer"),
    (re.compile(r"import\s*\(\s*['\"`]https?:"), "remote import"),
    (re.compile(r"from\s+['\"]https?:"), "remote import"),
    (re.compile(r"importScripts\s*\("), "importScripts"),
    (re.compile(r"\.src\s*=\s*['\"`]https?:"), "remote script"),
]


def test_files_exist() -> None:
    assert len(JS_FILES) >= 10 and HTML_FILES


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: str(p.relative_to(EXTENSION)))
def test_no_eval_or_remote_code(path: Path) -> None:
    source = path.read_text()
    for pattern, what in FORBIDDEN:
        assert not pattern.search(source), f"{what} in {path.relative_to(EXTENSION)}"


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: str(p.relative_to(EXTENSION)))
def test_pages_load_only_their_own_scripts(path: Path) -> None:
    html = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    for src in re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html):
        assert not re.match(r"[a-z]+:", src), f"remote resource {src}"
        assert (path.parent / src).is_file(), src


# -- syntax, when node is at hand -----------------------------------------------------------------

NODE = shutil.which("node")
CLASSIC = {"page/page.js", "content/bridge.js"}


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: str(p.relative_to(EXTENSION)))
def test_javascript_parses(path: Path) -> None:
    assert NODE is not None
    relative = str(path.relative_to(EXTENSION))
    if relative in CLASSIC:
        command = [NODE, "--check", str(path)]
    else:
        command = [NODE, "--input-type=module", "--check"]
    result = subprocess.run(
        command,
        input=None if relative in CLASSIC else path.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_firefox_assembly_copies_every_source_directory() -> None:
    script = (EXTENSION / "firefox" / "assemble.sh").read_text()
    copied = set(re.search(r"for dir in ([a-z ]+); do", script).group(1).split())  # type: ignore[union-attr]
    sources = {p.name for p in EXTENSION.iterdir() if p.is_dir() and p.name != "firefox"}
    assert copied == sources


def test_every_dom_exception_name_is_an_error_code() -> None:
    """WebAuthn's DOMException names reach a front end as ErrorCodes, as they are."""
    assert {code.value for code in ErrorCode} >= DOM_EXCEPTION_NAMES
