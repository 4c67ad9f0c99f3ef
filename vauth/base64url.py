"""base64url without padding (RFC 4648 section 5), as WebAuthn's JSON forms and the export
formats use it; a shared leaf: it imports nothing from vauth."""

from __future__ import annotations

import binascii
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = str.maketrans("-_", "+/")


def encode(data: bytes) -> str:
    # binascii directly: base64.urlsafe_b64encode checks and converts its argument first.
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Decode base64url; padding is optional. ValueError on anything else."""
    if not _ALPHABET.fullmatch(text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1 or (text != stripped and len(text) % 4 != 0):
        raise ValueError("bad base64url length")
    # binascii directly, as encode does: the alphabet is checked above.
    return binascii.a2b_base64((stripped + "=" * (-len(stripped) % 4)).translate(_FROM_URL))
