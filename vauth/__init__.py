"""vauth: a software FIDO2/passkey authenticator you own."""

from vauth.vault.errors import VaultError, VaultLockedError, WrongPassphraseError
from vauth.virtual import VirtualAuthenticator
from vauth.webauthn.errors import WebAuthnError

__all__ = [
    "VaultError",
    "VaultLockedError",
    "VirtualAuthenticator",
    "WebAuthnError",
    "WrongPassphraseError",
]
__version__ = "0.1.0"
