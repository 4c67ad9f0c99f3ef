"""vauth: a software FIDO2/passkey authenticator you own."""

from vauth.virtual import VirtualAuthenticator
from vauth.webauthn.errors import WebAuthnError

__all__ = ["VirtualAuthenticator", "WebAuthnError"]
__version__ = "0.1.0"
