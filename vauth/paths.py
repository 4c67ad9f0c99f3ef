"""Where vauth keeps its files (XDG base directories), each overridable."""

from __future__ import annotations

import os
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
