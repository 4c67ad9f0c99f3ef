"""Sync test parts: real SQLCipher vaults in temporary directories sharing a plain folder (no
Syncthing: the folder is the carrier, so copying files between folders is what it does)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from vauth.sync import Sync
from vauth.vault import Vault
from vauth.vault.kdf import KdfParams
from vauth.virtual import VirtualAuthenticator

PASSPHRASE = "correct horse battery staple"


def new_vault(path: Path) -> Path:
    """A new vault at ``path`` (cheap Argon2id: the production cost is measured in bench/)."""
    Vault.open(
        path, PASSPHRASE, kdf=KdfParams(os.urandom(16), opslimit=1, memlimit=8 << 20)
    ).close()
    return path


class Device:
    """One computer: its vault, opened by a VirtualAuthenticator, and its Sync."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.va = VirtualAuthenticator(vault=new_vault(home / "vault.db"), passphrase=PASSPHRASE)
        assert self.va.vault is not None
        self.vault: Vault = self.va.vault
        self.sync = Sync(self.vault)

    def close(self) -> None:
        self.va.close()


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator[object]:
    made: list[Device] = []

    def make(name: str) -> Device:
        device = Device(tmp_path / name)
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "Sync"
    path.mkdir()
    return path


def pair(
    a: Device, b: Device, folder: Path, names: tuple[str, str] = ("laptop", "desktop")
) -> None:
    """a sets up the group in ``folder``; b asks to join; a approves with b's code; b merges."""
    a.sync.init(folder, names[0])
    request = b.sync.request_join(folder, names[1])
    assert [p.device_id for p in a.sync.pending()] == [request.device_id]
    a.sync.approve(request.device_id, request.fingerprint)
    b.sync.merge()
    assert b.sync.status().joined


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True)
