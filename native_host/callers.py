"""Who may start the host: the extension origins and add-on ids it was installed for.

``vauth native-host install`` records them in ``$XDG_CONFIG_HOME/vauth/native-host.json``
(or ``$VAUTH_NATIVE_HOST_CONFIG``), one entry per manifest it wrote. Without that file the
host accepts the pinned extension (``DEFAULT_ORIGIN``) and the Firefox add-on
(``DEFAULT_FIREFOX_ID``) only. The browser enforces its manifest's list too; this check is the
second lock on the same door.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from native_host import DEFAULT_FIREFOX_ID, DEFAULT_ORIGIN
from vauth import paths

CONFIG_ENV = "VAUTH_NATIVE_HOST_CONFIG"
CONFIG_VERSION = 1


class ConfigError(Exception):
    """The recorded configuration cannot be read: the host refuses every caller."""


@dataclass(frozen=True, slots=True)
class Allowed:
    origins: frozenset[str]  # chrome-extension://ID/
    extensions: frozenset[str]  # Firefox add-on ids


DEFAULT = Allowed(frozenset({DEFAULT_ORIGIN}), frozenset({DEFAULT_FIREFOX_ID}))


@dataclass(frozen=True, slots=True)
class Caller:
    browser: str  # "chromium" or "firefox"
    identity: str  # the origin (Chromium) or the add-on id (Firefox)


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or paths.config_dir() / "native-host.json")


def identify(argv: Sequence[str]) -> Caller | None:
    """Chromium passes ``chrome-extension://ID/`` first (then, on Windows, --parent-window);
    Firefox passes the manifest's path and then the add-on id."""
    if argv and argv[0].startswith("chrome-extension://"):
        return Caller("chromium", argv[0])
    if len(argv) >= 2 and argv[1]:
        return Caller("firefox", argv[1])
    return None


def permitted(caller: Caller, allowed: Allowed) -> bool:
    if caller.browser == "chromium":
        return caller.identity in allowed.origins
    return caller.identity in allowed.extensions


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("manifests"), dict):
        raise ConfigError(f"{path} is not a native-host configuration")
    return data


def load(path: Path | None = None) -> Allowed:
    path = path or config_path()
    if not path.exists():
        return DEFAULT
    origins: set[str] = set()
    extensions: set[str] = set()
    for entry in _read(path)["manifests"].values():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path} has an entry that is not an object")
        origins.update(_strings(entry.get("allowed_origins", []), path))
        extensions.update(_strings(entry.get("allowed_extensions", []), path))
    return Allowed(frozenset(origins), frozenset(extensions))


def _strings(value: object, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: allowed_origins and allowed_extensions must be string lists")
    return value


def record(manifest: Path, browser: str, allowed: dict[str, list[str]], path: Path) -> None:
    """Remember what one manifest allows (replacing what it allowed before)."""
    manifests = _recorded(path)
    manifests[str(manifest)] = {"browser": browser, **allowed}
    _write(manifests, path)


def recorded(path: Path) -> dict[Path, str]:
    """Each manifest recorded, with the browser it was written for."""
    return {Path(name): str(entry.get("browser")) for name, entry in _recorded(path).items()}


def forget(manifest: Path, path: Path) -> bool:
    """Forget what one manifest allowed (the file goes once none is left); whether it was
    recorded."""
    manifests = _recorded(path)
    if manifests.pop(str(manifest), None) is None:
        return False
    if manifests:
        _write(manifests, path)
    else:
        path.unlink()
    return True


def _recorded(path: Path) -> dict[str, Any]:
    try:
        data = _read(path) if path.exists() else {}
    except ConfigError:
        data = {}  # the installer is the authority: a broken file is rewritten
    manifests: dict[str, Any] = data.get("manifests", {})
    return {name: entry for name, entry in manifests.items() if isinstance(entry, dict)}


def _write(manifests: dict[str, Any], path: Path) -> None:
    text = json.dumps({"version": CONFIG_VERSION, "manifests": manifests}, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    temporary.replace(path)
