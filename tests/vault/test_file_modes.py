"""Every file the vault writes is 0600 from its first byte, whatever the umask (issue 10,
item 5): the database and its SQLCipher -wal and -shm (SQLite gives them the database file's
mode), the key file, and a backup's database and key file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vault.conftest import PASSPHRASE, fast_kdf
from vauth.vault import Vault


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A common desktop umask (0022): files are 0644 unless vauth says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(*paths: Path) -> dict[str, str]:
    return {p.name: f"{stat.S_IMODE(p.stat().st_mode):04o}" for p in paths}


def test_vault_files_are_private_under_a_loose_umask(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "data" / "vault.db"
    vault = Vault.open(path, PASSPHRASE, kdf=fast_kdf())
    try:
        vault.with_database_sync(lambda db: db.execute("CREATE TABLE t (x)"))
        files = [path, Path(f"{path}.keys"), Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert modes(*files) == dict.fromkeys((f.name for f in files), "0600")
        backup = vault.backup(tmp_path / "copies" / "vault-copy.db")
        copies = [backup, Path(f"{backup}.keys")]
        assert modes(*copies) == dict.fromkeys((f.name for f in copies), "0600")
        assert modes(path.parent, backup.parent) == {"data": "0700", "copies": "0700"}
    finally:
        vault.close()
    reopened = Vault.open(backup, PASSPHRASE)  # the copy is whole
    reopened.close()
