"""credBlob (CTAP 2.1 section 12.2): a few opaque bytes kept with a discoverable credential."""

from __future__ import annotations

from typing import Any

from vauth.ctap.parse import required

NAME = "credBlob"
GET_NAME = "getCredBlob"


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
    """Whether getAssertion asks for the blob ("getCredBlob": true)."""
    if GET_NAME not in extensions:
        return False
    return required(extensions, GET_NAME, bool, GET_NAME)
