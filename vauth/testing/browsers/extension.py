"""Where vauth's browser extension is, for the browser to load: in the installed package.

The build (setup.py) puts the extension into the wheel as package data: the Chromium extension
in ``vauth/share/extension/chromium/`` and the Firefox add-on, assembled by
extension/firefox/assemble.sh, in ``vauth/share/extension/firefox/``. An editable install has
no such copy (the build does not run for it) and reads the source tree's ``extension/``, where
the add-on for Firefox is assembled on demand.

    chromium_extension()   # the folder for "Load unpacked" / --load-extension
    firefox_addon()        # the folder whose manifest.json "Load Temporary Add-on" takes
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from vauth import paths

PACKAGED = Path(__file__).resolve().parents[2] / "share" / "extension"  # vauth/share/extension
SOURCE = Path(__file__).resolve().parents[3] / "extension"  # an editable install's checkout
BROWSERS = ("chromium", "firefox")


class ExtensionMissing(RuntimeError):
    """The installation carries no extension (the message says what to do)."""


def chromium_extension() -> Path:
    """The unpacked Chromium extension (its manifest pins vauth's extension ID)."""
    if (PACKAGED / "chromium" / "manifest.json").is_file():
        return PACKAGED / "chromium"
    if (SOURCE / "manifest.json").is_file():
        return SOURCE
    raise ExtensionMissing(_missing())


def firefox_addon(scratch: Path | None = None) -> Path:
    """The Firefox add-on, assembled. From a source tree it is assembled (again) into
    ``scratch`` (by default ``$XDG_CACHE_HOME/vauth/firefox-addon``), from the sources as they
    are now."""
    if (PACKAGED / "firefox" / "manifest.json").is_file():
        return PACKAGED / "firefox"
    script = SOURCE / "firefox" / "assemble.sh"
    if not script.is_file():
        raise ExtensionMissing(_missing())
    if scratch is None:
        paths.cache_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = paths.cache_dir() / "firefox-addon"
    done = subprocess.run(  # noqa: S603 - the source tree's own script
        ["/bin/sh", str(script), str(scratch)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ExtensionMissing(f"the Firefox add-on could not be assembled: {done.stderr.strip()}")
    return scratch


def path(browser: str) -> Path:
    """The folder to load in ``browser`` ("chromium" or "firefox")."""
    if browser == "firefox":
        return firefox_addon()
    if browser == "chromium":
        return chromium_extension()
    raise ValueError(f"the browser must be one of {', '.join(BROWSERS)}, not {browser!r}")


def _missing() -> str:
    return (
        f"this installation of vauth has no browser extension ({PACKAGED} is missing): "
        "reinstall vauth from its wheel or its source"
    )
