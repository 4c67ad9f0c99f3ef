"""credBlob (CTAP 2.1 section 12.2): a few opaque bytes kept with a discoverable credential.

One CTAP identifier serves both commands: makeCredential's input is the blob, getAssertion's
input is ``"credBlob": true``. ``getCredBlob`` is the WebAuthn client extension's name only
and never goes to an authenticator.
"""

from __future__ import annotations

from typing import Any

from vauth.ctap.parse import required

NAME = "credBlob"


def requested(extensions: dict[str, Any]) -> bytes | None:
    """The blob makeCredential asks to keep, if any."""
    if NAME not in extensions:
        return None
    return required(extensions, NAME, bytes, NAME)


def storable(blob: bytes, discoverable: bool, max_length: int) -> bool:
    """Kept only on a discoverable credential and only up to maxCredBlobLength bytes; otherwise
    the output says false and the blob is dropped (not an error)."""
    return discoverable and len(blob) <= max_length


def get_requested(extensions: dict[str, Any]) -> bool:
    """Whether getAssertion asks for the blob ("credBlob": true)."""
    if NAME not in extensions:
        return False
    return required(extensions, NAME, bool, NAME)
