"""The encrypted vault: the only importer of sqlcipher3."""

from vauth.vault.errors import VaultError, VaultLockedError, VaultVersionError, WrongPassphraseError
from vauth.vault.store import VaultStore
from vauth.vault.vault import Vault

__all__ = [
    "Vault",
    "VaultError",
    "VaultLockedError",
    "VaultStore",
    "VaultVersionError",
    "WrongPassphraseError",
]
