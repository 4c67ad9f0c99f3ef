"""CTAP extensions, one module each."""

from __future__ import annotations

from vauth.ctap.config import AuthenticatorConfig

# Extensions CTAP 2.0 already had; the others are offered only in CTAP 2.1 mode.
_CTAP20_EXTENSIONS = frozenset({"credProtect", "hmac-secret"})


def enabled(config: AuthenticatorConfig, name: str) -> bool:
    """Whether this authenticator processes extension ``name`` (else it ignores the input)."""
    return name in config.extensions and (config.ctap21 or name in _CTAP20_EXTENSIONS)
