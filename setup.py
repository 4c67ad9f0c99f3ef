"""The one build step pyproject.toml cannot declare: vauth's wheel carries its browser extension.

The extension lives at the top of the source tree (extension/), outside the package, so the
build copies it in as package data: the Chromium extension to vauth/share/extension/chromium/
and the Firefox add-on, assembled by extension/firefox/assemble.sh (the same sources, Firefox's
manifest), to vauth/share/extension/firefox/. vauth.testing.browsers.extension finds them there. An
editable install skips this and reads the tree's extension/.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "extension"


class BuildWithExtension(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "vauth" / "share" / "extension"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(SOURCE, target / "chromium", ignore=shutil.ignore_patterns("firefox"))
        subprocess.run(  # noqa: S603 - the tree's own script
            ["/bin/sh", str(SOURCE / "firefox" / "assemble.sh"), str(target / "firefox")],
            check=True,
            stdout=subprocess.DEVNULL,
        )


setup(cmdclass={"build_py": BuildWithExtension})
