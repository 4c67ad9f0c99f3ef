"""The encrypted vault: the only importer of sqlcipher3."""

from vauth.vault.errors import (
    ExchangeError,
    ExportDecryptionError,
    VaultError,
    VaultLockedError,
    VaultVersionError,
    WrongPassphraseError,
)
from vauth.vault.store import VaultStore
from vauth.vault.vault import Vault

__all__ = [
    "ExchangeError",
    "ExportDecryptionError",
    "Vault",
    "VaultError",
    "VaultLockedError",
    "VaultStore",
    "VaultVersionError",
    "WrongPassphraseError",
]
