"""``vauth service install|uninstall``: a systemd user unit that starts the daemon at login.

The unit (``$XDG_CONFIG_HOME/systemd/user/vauth.service``) runs the absolute path of this
installation's ``vauth`` (beside this Python: a venv's or pipx's, never a name looked up on
PATH at login), on the vault and configuration directories of the person who installed it.
The vault starts locked (unlocked later by its owner), or, if they ask for it, unlocked with
the passphrase from a file only they can read. Its text comes from vauth/share/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from string import Template

from vauth import paths

UNIT = "vauth.service"
WRITTEN = "# vauth-passphrase-file (written by vauth service install): "
SYSTEMCTL_TIMEOUT_S = 60


class UnitError(Exception):
    """The unit cannot be installed or removed (the message says why, and what to do)."""


def unit_path() -> Path:
    """Where systemd's user manager reads a person's own units."""
    return paths.config_dir().parent / "systemd" / "user" / UNIT


def executable() -> Path:
    """This installation's ``vauth``: beside this Python (a venv's, pipx's), else on PATH."""
    beside = Path(os.path.abspath(sys.executable)).parent / "vauth"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("vauth")
    if found is None:
        raise UnitError(f"the vauth command is not installed beside {sys.executable} nor on PATH")
    return Path(os.path.abspath(found))


def quoted(word: str) -> str:
    """One argument of ExecStart= or Environment=, as systemd reads it back."""
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def unit_text(program: Path, vault: Path, passphrase_file: Path | None, written: bool) -> str:
    """The unit: ``vauth serve`` on ``vault``, locked until someone unlocks it, or with its
    passphrase from ``passphrase_file`` (``written``: by ``install``, so that ``uninstall``
    removes it too)."""
    command = [str(program), "serve", "--vault", str(vault)]
    if passphrase_file is None:
        command += ["--locked"]
    else:
        command += ["--vault-passphrase-file", str(passphrase_file)]
    command += ["--idle-lock", "900"]
    environment = {
        "XDG_DATA_HOME": str(paths.data_dir().parent),
        "XDG_CONFIG_HOME": str(paths.config_dir().parent),
    }
    template = resources.files("vauth").joinpath("share", UNIT).read_text("utf-8")
    return Template(template).substitute(
        written=WRITTEN + str(passphrase_file) if written and passphrase_file else "",
        exec_start=" ".join(quoted(word) for word in command),
        environment=" ".join(quoted(f"{k}={v}") for k, v in environment.items()),
    )


def written_passphrase_file(text: str) -> Path | None:
    """The passphrase file a unit's ``install`` wrote (None: the person's own file)."""
    for line in text.splitlines():
        if line.startswith(WRITTEN):
            return Path(line.removeprefix(WRITTEN))
    return None


def manager_problem() -> str | None:
    """Why systemd's user manager cannot be asked here (None when it can)."""
    if shutil.which("systemctl") is None:
        return "this system has no systemd (no systemctl command)"
    try:
        done = systemctl("show-environment")
    except UnitError as exc:
        return str(exc)
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        return f"systemd's user manager does not answer ({said[-1] if said else 'no reason given'})"
    return None


def systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    """``systemctl --user ARGS``."""
    try:
        return subprocess.run(  # noqa: S603 - systemctl from PATH, our own arguments
            ["systemctl", "--user", *args],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=SYSTEMCTL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UnitError(f"systemctl --user {' '.join(args)} failed: {exc}") from None


def run_systemctl(*args: str) -> None:
    """``systemctl --user ARGS``; UnitError with systemd's own words if it refuses."""
    done = systemctl(*args)
    if done.returncode != 0:
        raise UnitError(f"systemctl --user {' '.join(args)} failed: {done.stderr.strip()}")


def write_unit(text: str) -> Path:
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o644)
    temporary.replace(path)
    return path
