"""The vault's own errors, mapped to messages at its edge."""

from __future__ import annotations

from vauth.ctap.ports import PortError


class VaultError(Exception):
    """Anything the vault refuses or cannot do; the message says what and why, plainly."""


class WrongPassphraseError(VaultError):
    def __init__(self, what: str = "passphrase") -> None:
        super().__init__(f"wrong {what}: the vault was not opened and nothing was changed")


class VaultLockedError(VaultError, PortError):
    def __init__(self) -> None:
        super().__init__("the vault is locked: unlock it with its passphrase first")


class VaultVersionError(VaultError):
    """A vault written by a newer vauth: refused rather than misread."""


class ExchangeError(VaultError):
    """An export or import refused: bad arguments, a file that is not an export, over a limit.
    An import that raises it has written nothing."""


class ExportDecryptionError(ExchangeError):
    """The export did not decrypt: a wrong passphrase, or a file altered since it was written
    (AES-GCM cannot tell the two apart)."""

    def __init__(
        self,
        message: str = (
            "wrong passphrase, or the export file was altered or damaged: nothing was imported"
        ),
    ) -> None:
        super().__init__(message)
