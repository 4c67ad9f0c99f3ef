"""The vault's own errors, mapped to messages at its edge."""

from __future__ import annotations


class VaultError(Exception):
    """Anything the vault refuses or cannot do; the message says what and why, plainly."""


class WrongPassphraseError(VaultError):
    def __init__(self, what: str = "passphrase") -> None:
        super().__init__(f"wrong {what}: the vault was not opened and nothing was changed")


class VaultLockedError(VaultError):
    def __init__(self) -> None:
        super().__init__("the vault is locked: unlock it with its passphrase first")


class VaultVersionError(VaultError):
    """A vault written by a newer vauth: refused rather than misread."""
