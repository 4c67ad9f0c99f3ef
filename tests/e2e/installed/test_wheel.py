"""Issue 20: vauth as installed, not as checked out (house style 22: ship what the tests use).
A wheel built from the tree is installed into a fresh virtual environment outside it, and a
tester's project (tester_project/: its own relying party, verified by py_webauthn) runs there
with the installed plugin's vauth_page, vauth_daemon and vauth_authenticator marker, in Chromium
and in Firefox. A file the package forgets (the extension, the Firefox add-on or driver, what the
native host needs) fails these runs, where the tree's own tests would still pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
PROJECT = Path(__file__).resolve().parent / "tester_project"
# The tester's own test dependencies, at the versions this suite runs with (pip's cache has them).
TESTER_PACKAGES = [f"{name}=={version(name)}" for name in ("pytest", "webauthn", "playwright")]


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment, outside the tree, with the wheel and a tester's packages."""
    work = tmp_path_factory.mktemp("installed")
    assert not work.is_relative_to(ROOT)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(ROOT)], work)
    (wheel,) = (work / "dist").glob("vauth-*.whl")
    run([sys.executable, "-m", "venv", str(work / "venv")], work)
    venv_pip = [str(work / "venv" / "bin" / "python"), "-m", "pip", "-q"]
    run([*venv_pip, "install", "--disable-pip-version-check", str(wheel), *TESTER_PACKAGES], work)
    yield work / "venv"
    shutil.rmtree(work / "venv", ignore_errors=True)


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without anything pointing into the tree or its venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not Path(p).is_relative_to(ROOT)
    )
    return env | extra


def test_the_installed_package_carries_the_extension_add_on_and_driver(installed: Path) -> None:
    python = str(installed / "bin" / "python")
    code = "import vauth; print(vauth.__file__)"
    where = run([python, "-c", code], installed, clean_environment())
    assert Path(where.strip()).is_relative_to(installed)
    vauth = str(installed / "bin" / "vauth")
    for browser in ("chromium", "firefox"):
        folder = Path(run([vauth, "extension", "path", "--browser", browser], installed).strip())
        assert folder.is_relative_to(installed), folder
        assert (folder / "manifest.json").is_file() and (folder / "page" / "page.js").is_file()
    driver = installed.glob(
        "lib/python*/site-packages/vauth/testing/browsers/firefox-driver/driver.mjs"
    )
    assert next(driver, None) is not None


@pytest.mark.parametrize("browser", ["chromium", "firefox"])
def test_a_testers_project_runs_on_the_installed_wheel(
    installed: Path, tmp_path: Path, browser: str
) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    env = clean_environment(TESTER_BROWSER=browser, TESTER_TESTS="2")
    python = str(installed / "bin" / "python")
    command = [python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "5 passed" in done.stdout and "skipped" not in done.stdout, output
