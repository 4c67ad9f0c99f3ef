"""Vault fixtures: real SQLCipher files in a temporary directory, with cheap Argon2id
parameters so the suite stays fast (the production parameters are measured in bench/)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vauth import VirtualAuthenticator
from vauth.vault import Vault
from vauth.vault.kdf import KdfParams

PASSPHRASE = "correct horse battery staple"


def fast_kdf() -> KdfParams:
    return KdfParams(os.urandom(16), opslimit=1, memlimit=8 << 20)


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    """A path where a new vault (with fast KDF parameters) exists, closed."""
    path = tmp_path / "vault.db"
    Vault.open(path, PASSPHRASE, kdf=fast_kdf()).close()
    return path


@pytest.fixture
def vault(vault_path: Path) -> Iterator[Vault]:
    opened = Vault.open(vault_path, PASSPHRASE)
    yield opened
    opened.close()


@pytest.fixture
def va(vault_path: Path) -> Iterator[VirtualAuthenticator]:
    """An authenticator on a new, empty vault."""
    opened = VirtualAuthenticator(vault=vault_path, passphrase=PASSPHRASE)
    yield opened
    opened.close()
