"""Where vauth keeps its files (XDG base directories), each overridable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_HTTP_PORT = 8732


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "vauth"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "vauth"


def cache_dir() -> Path:
    """What vauth can fetch or rebuild again (the Firefox driver's packages)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vauth"


def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    return Path(base) / "vauth" if base else Path(f"/tmp/vauth-{os.getuid()}")  # noqa: S108


def default_vault() -> Path:
    return Path(os.environ.get("VAUTH_VAULT") or data_dir() / "vault.db")


def default_socket() -> Path:
    return Path(os.environ.get("VAUTH_SOCKET") or runtime_dir() / "vauth.sock")


def token_file() -> Path:
    return Path(os.environ.get("VAUTH_TOKEN_FILE") or config_dir() / "token")


# -- the commands a person is told to type ------------------------------------------------------


def vauth_command() -> str:
    """The ``vauth`` of this installation as a person should type it: plain ``vauth`` when that
    is what PATH finds, else its full path (installed into a virtual environment and not on
    PATH, say), else this Python running the module (no script installed: a source tree)."""
    import shlex
    import shutil

    installed = _installed_script("vauth")
    if installed is None:
        return f"{shlex.quote(sys.executable)} -m vauth.cli"
    found = shutil.which("vauth")
    if found is not None and _same_file(found, installed):
        return "vauth"
    return shlex.quote(str(installed))


def systemd_unit() -> Path:
    """Where a systemd user unit that starts the daemon at login lives (``vauth.service``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "systemd" / "user" / "vauth.service"


def start_command() -> str:
    """The command that starts the daemon here: systemd's, when its user unit is installed,
    else ``vauth serve`` as ``vauth_command`` spells it."""
    if systemd_unit().is_file():
        return "systemctl --user start vauth"
    return f"{vauth_command()} serve"


def _installed_script(name: str) -> Path | None:
    """The script ``name`` that this Python's installation of vauth put in place, if any: beside
    the interpreter (a virtual environment, pipx), or in its scheme's scripts folder."""
    import sysconfig

    folders = [
        Path(os.path.abspath(sys.executable)).parent,
        Path(sysconfig.get_path("scripts")),
        Path(sysconfig.get_path("scripts", f"{os.name}_user")),
    ]
    for folder in folders:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
