"""base64url without padding (RFC 4648 section 5), as WebAuthn's JSON forms and the export
formats use it; a shared leaf: it imports nothing from vauth."""

from __future__ import annotations

import binascii

_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = bytes.maketrans(b"-_", b"+/")


def encode(data: bytes) -> str:
    # binascii directly: base64.urlsafe_b64encode checks and converts its argument first.
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Decode base64url; padding is optional. ValueError on anything else.

    binascii's strict mode checks the alphabet and the padding (it refuses whitespace, a
    character outside the alphabet, and padding that is not at the end or is too much), once
    the two URL-safe characters are mapped to the standard ones, and only those; padding that
    is there must make a multiple of 4."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("not base64url") from None
    if b"+" in raw or b"/" in raw:
        raise ValueError("not base64url")
    if not raw.endswith(b"="):
        raw += b"=" * (-len(raw) % 4)
    elif len(raw) % 4 or raw.endswith(b"==="):
        raise ValueError("bad base64url padding")
    try:
        return binascii.a2b_base64(raw.translate(_FROM_URL), strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64url") from None
