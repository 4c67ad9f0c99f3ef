"""vauth: a software FIDO2/passkey authenticator you own.

The names below load on first use (PEP 562), so that importing one part (``vauth.ctap.cbor``,
the native host) does not load the vault, SQLCipher and the WebAuthn client with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vauth.testing.virtual import VirtualAuthenticator
    from vauth.vault.errors import VaultError, VaultLockedError, WrongPassphraseError
    from vauth.webauthn.errors import WebAuthnError

__all__ = [
    "VaultError",
    "VaultLockedError",
    "VirtualAuthenticator",
    "WebAuthnError",
    "WrongPassphraseError",
]
__version__ = "0.1.0"

# Each public name and the module that defines it.
_LAZY = {
    "VaultError": "vauth.vault.errors",
    "VaultLockedError": "vauth.vault.errors",
    "VirtualAuthenticator": "vauth.testing.virtual",
    "WebAuthnError": "vauth.webauthn.errors",
    "WrongPassphraseError": "vauth.vault.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vauth' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
