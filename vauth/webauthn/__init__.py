"""The client side of a ceremony: options JSON to CTAP, origin and rpId checks, response JSON."""

from vauth.webauthn.client import WebAuthnClient
from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.options import parse_creation_options, parse_request_options
from vauth.webauthn.origin import check_rp_id, parse_origin

__all__ = [
    "WebAuthnClient",
    "WebAuthnError",
    "check_rp_id",
    "parse_creation_options",
    "parse_origin",
    "parse_request_options",
]
