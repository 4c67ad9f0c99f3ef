"""Register the host with a browser: write its manifest where the browser looks for it, and
record the origins (or add-on ids) it allows for the host's own check."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from native_host import DEFAULT_EXTENSION_ID, DEFAULT_FIREFOX_ID, EXECUTABLE, HOST_NAME, callers

BROWSERS = ("chromium", "chrome", "firefox")
_CHROMIUM_ID = re.compile(r"[a-p]{32}")
_FIREFOX_ID = re.compile(r"[A-Za-z0-9._+@{}-]{1,200}")
_CHROMIUM_ORIGIN = re.compile(r"chrome-extension://([a-p]{32})/?")


class InstallError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Installed:
    browser: str
    manifest: Path
    executable: Path
    allowed: dict[str, list[str]]  # {"allowed_origins": [...]} or {"allowed_extensions": [...]}
    config: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": str(self.manifest),
            "browser": self.browser,
            "name": HOST_NAME,
            "path": str(self.executable),
            **self.allowed,
            "config": str(self.config),
        }


FIREFOX_ONLY_HOME = (
    "Firefox does not read native-messaging hosts from a profile: on Linux it reads only "
    "~/.mozilla/native-messaging-hosts (and the system directory), so leave out "
    "--user-data-dir (to install for a Firefox run with another HOME, run this with that HOME)"
)


def manifest_directory(browser: str, user_data_dir: Path | None = None) -> Path:
    if user_data_dir is not None and browser == "firefox":
        raise InstallError(FIREFOX_ONLY_HOME)
    if user_data_dir is not None:
        return user_data_dir.expanduser().absolute() / "NativeMessagingHosts"
    home = Path.home()
    if browser == "chromium":
        return home / ".config" / "chromium" / "NativeMessagingHosts"
    if browser == "chrome":
        return home / ".config" / "google-chrome" / "NativeMessagingHosts"
    if browser == "firefox":
        return home / ".mozilla" / "native-messaging-hosts"
    raise InstallError(f"the browser must be one of {', '.join(BROWSERS)}, not {browser!r}")


def find_executable() -> Path:
    """``vauth-native-host`` of this installation: next to this Python, else on PATH."""
    beside = Path(os.path.abspath(sys.executable)).parent / EXECUTABLE
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(EXECUTABLE)
    if found is None:
        raise InstallError(
            f"{EXECUTABLE} is not installed (neither next to {sys.executable} nor on PATH); "
            "install vauth with pip first"
        )
    return Path(os.path.abspath(found))


def allowed_callers(browser: str, extension_id: str | None) -> dict[str, list[str]]:
    if browser == "firefox":
        addon = extension_id or DEFAULT_FIREFOX_ID
        if not _FIREFOX_ID.fullmatch(addon):
            raise InstallError(f"{addon!r} is not a Firefox add-on id")
        return {"allowed_extensions": [addon]}
    chosen = extension_id or DEFAULT_EXTENSION_ID
    origin = _CHROMIUM_ORIGIN.fullmatch(chosen)
    if origin is not None:
        chosen = origin.group(1)
    if not _CHROMIUM_ID.fullmatch(chosen):
        raise InstallError(f"{chosen!r} is not an extension ID (32 letters a to p)")
    return {"allowed_origins": [f"chrome-extension://{chosen}/"]}


def manifest_text(browser: str, executable: Path, allowed: dict[str, list[str]]) -> str:
    template = "firefox.json" if browser == "firefox" else "chromium.json"
    manifest = json.loads(
        resources.files("native_host").joinpath("manifests", template).read_text("utf-8")
    )
    manifest["path"] = str(executable)
    manifest.update(allowed)
    return json.dumps(manifest, indent=2) + "\n"


def install(
    browser: str,
    user_data_dir: Path | None = None,
    extension_id: str | None = None,
    executable: Path | None = None,
) -> Installed:
    directory = manifest_directory(browser, user_data_dir)
    allowed = allowed_callers(browser, extension_id)
    program = executable or find_executable()
    manifest = directory / f"{HOST_NAME}.json"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = manifest.with_name(manifest.name + ".tmp")
        temporary.write_text(manifest_text(browser, program, allowed), encoding="utf-8")
        temporary.chmod(0o644)
        temporary.replace(manifest)
        config = callers.config_path()
        callers.record(manifest, browser, allowed, config)
    except OSError as exc:
        raise InstallError(f"cannot write {exc.filename or manifest}: {exc.strerror}") from None
    return Installed(browser, manifest, program, allowed, config)


MANIFEST_LIMIT = 64 * 1024  # a host manifest is a few hundred bytes


def uninstall(browser: str | None = None, user_data_dir: Path | None = None) -> list[Path]:
    """Undo ``install``: remove the manifests it wrote and forget the callers they allowed.
    ``browser`` None: every browser's; ``user_data_dir``: only that Chromium profile's. The
    manifests removed (none: nothing was installed). A file in a manifest's place that is
    not vauth's host manifest is left alone (InstallError says so)."""
    config = callers.config_path()
    if user_data_dir is not None:
        if browser is None:
            raise InstallError("--user-data-dir needs --browser (chromium or chrome)")
        targets = {manifest_directory(browser, user_data_dir) / f"{HOST_NAME}.json"}
    else:
        wanted = BROWSERS if browser is None else (browser,)
        targets = {manifest_directory(b) / f"{HOST_NAME}.json" for b in wanted}
        targets |= {m for m, b in callers.recorded(config).items() if b in wanted}
    removed: list[Path] = []
    try:
        for manifest in sorted(targets):
            if _ours(manifest):
                manifest.unlink()
                removed.append(manifest)
            callers.forget(manifest, config)
    except OSError as exc:
        raise InstallError(f"cannot remove {exc.filename}: {exc.strerror}") from None
    return removed


def _ours(manifest: Path) -> bool:
    """Whether ``manifest`` is vauth's host manifest (False: there is none); InstallError for
    anything else in its place."""
    try:
        info = os.lstat(manifest)
    except FileNotFoundError:
        return False
    refused = InstallError(f"{manifest} is not vauth's native-host manifest: it was left as it is")
    if not stat.S_ISREG(info.st_mode) or info.st_size > MANIFEST_LIMIT:
        raise refused
    try:
        written = json.loads(manifest.read_bytes())
    except (OSError, ValueError):
        raise refused from None
    if not isinstance(written, dict) or written.get("name") != HOST_NAME:
        raise refused
    return True
