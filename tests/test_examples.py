"""The recipes in examples/ run as a user would run them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import support

EXAMPLES = support.ROOT / "examples"


def test_python_fido2_over_ctaphid_recipe() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "python_fido2_ctaphid.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=support.ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "signed in over CTAPHID: the server verified the assertion",
        "a bogus signature was refused, as a relying party must",
    ]


@pytest.mark.skipif(
    not os.access("/dev/uhid", os.R_OK | os.W_OK),
    reason="needs read and write access to /dev/uhid (not in this container)",
)
@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs OpenSSH's ssh-keygen")
def test_ssh_keygen_ed25519_sk_over_uhid(tmp_path: Path) -> None:
    env = support.environment(tmp_path)
    key = tmp_path / "id_vauth"
    done = subprocess.run(
        ["sh", str(EXAMPLES / "ssh_keygen_uhid.sh"), str(key)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert key.exists() and "ED25519-SK" in done.stdout
