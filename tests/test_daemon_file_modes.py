"""Every file a real run of vauth writes is the user's alone (issue 10, item 5): the vault, its
key file, SQLCipher's -wal and -shm, a backup and its key file, the API token and an export
are 0600, and the directories vauth makes are 0700, under a desktop's usual umask (0022). A
relative backup path means the caller's directory, never the daemon's."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT, Daemon, creation
from vauth.transport.unix_socket import Client


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the daemon and the CLI inherit it
    yield
    os.umask(old)


def vauth(daemon: Daemon, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "vauth.cli", *args],
        env=daemon.env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


async def call(socket: Path, action: str, **params: object) -> dict[str, object]:
    client = await Client.connect(socket)
    try:
        return await client.call(action, **params)
    finally:
        await client.close()


def mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def test_every_file_vauth_writes_is_private(tmp_path: Path, loose_umask: None) -> None:
    daemon = Daemon(tmp_path, "--presence", "auto")
    work = tmp_path / "work"
    work.mkdir()
    try:
        created = call(daemon.socket, "create", origin="https://example.com", options=creation("a"))
        assert asyncio.run(created)["ok"]
        passphrase_file = work / "export-passphrase"
        passphrase_file.write_text("export secret\n")
        vauth(
            daemon,
            work,
            "export",
            "-o",
            "passkeys.cxf",
            "--file-passphrase-file",
            "export-passphrase",
        )
        vauth(daemon, work, "token")
        backed_up = vauth(daemon, work, "backup", "copies/vault-copy.db")
        assert str(work / "copies" / "vault-copy.db") in backed_up.stdout
        data = tmp_path / "data" / "vauth"
        files = [
            data / "vault.db",
            data / "vault.db.keys",
            data / "vault.db-wal",
            data / "vault.db-shm",
            work / "copies" / "vault-copy.db",
            work / "copies" / "vault-copy.db.keys",
            work / "passkeys.cxf",
            tmp_path / "config" / "vauth" / "token",
        ]
        assert {str(f): mode(f) for f in files} == {str(f): "0600" for f in files}
        directories = [
            tmp_path / "data",
            data,
            tmp_path / "config",
            tmp_path / "config" / "vauth",
            daemon.socket.parent,
            work / "copies",
        ]
        assert {str(d): mode(d) for d in directories} == {str(d): "0700" for d in directories}
    finally:
        assert daemon.stop() == 0


def test_daemon_refuses_a_relative_backup_path(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, "--presence", "auto")
    try:
        reply = asyncio.run(call(daemon.socket, "backup", destination="vault-copy.db"))
        assert reply["ok"] is False
        error = reply["error"]
        assert isinstance(error, dict) and error["code"] == "invalid argument"
        assert "destination must be an absolute path" in error["message"]
        assert daemon.cli("status").returncode == 0  # and it keeps serving
    finally:
        assert daemon.stop() == 0
    assert not list(ROOT.glob("vault-copy.db*"))  # nothing landed in the daemon's directory
