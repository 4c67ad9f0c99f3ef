"""Issue 20: the README's Run section, typed as written. Its command block is read from README.md
as it stands and run by bash, in a copy of the tree (what a person who cloned it has) with a
home of its own, where nothing of vauth's is installed: it must end with `vauth serve` running,
and `vauth status`, as the README says to type it next, must answer. Like the wheel test, it
needs the package registries (pipx installs vauth's dependencies; Debian's pipx comes with apt
when it is missing and the test runs as root)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".bench-venvs", "node_modules", "__pycache__", "*.egg-info", "build",
    "dist", "artifacts", ".mypy_cache", ".ruff_cache", ".pytest_cache",
)  # fmt: skip
DEFAULT_HTTP_PORT = 8732  # `vauth serve` as typed in Run takes the default port
READY_WITHIN_S = 600


def run_block() -> str:
    """The shell block of README.md's "## Run" section, as a person copies it."""
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("\n## Run\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(.*?)\n```", section, re.S)
    assert found is not None, "README's Run section has no sh block"
    return found.group(1)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_readme_run_command_ends_with_vauth_serving_and_status_answering(
    tmp_path: Path,
) -> None:
    if shutil.which("pipx") is None and os.getuid() != 0:
        pytest.skip("pipx is not installed, and only root may let the Run command install it")
    if not port_free(DEFAULT_HTTP_PORT):
        pytest.skip(f"port {DEFAULT_HTTP_PORT}, the one `vauth serve` takes, is in use here")
    tree = tmp_path / "vauth"
    shutil.copytree(ROOT, tree, ignore=NOT_COPIED, symlinks=True)
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "LANG": "C.UTF-8",
        # nobody is at a terminal to type the new vault's passphrase twice
        "VAUTH_PASSPHRASE": "the README's own passphrase",
        # the machine's download cache, so that a run costs no more traffic than it must
        "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip"),
    }
    log = tmp_path / "run.log"
    with log.open("w") as out:
        person = subprocess.Popen(
            ["bash", "-c", run_block()],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while "vauth: ready" not in log.read_text(errors="replace"):
            assert person.poll() is None, f"the Run command ended:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"vauth was not serving:\n{log.read_text()}"
            time.sleep(1)
        vauth = home / ".local" / "bin" / "vauth"  # where pipx put it; `pipx ensurepath` adds it
        status = subprocess.run(
            [str(vauth), "status"], env=env, capture_output=True, text=True, timeout=60
        )
        assert status.returncode == 0, status.stderr
        assert "The daemon is running" in status.stdout and "unlocked" in status.stdout
        assert "Traceback" not in log.read_text()
    finally:
        os.killpg(person.pid, signal.SIGTERM)
        person.wait(30)
