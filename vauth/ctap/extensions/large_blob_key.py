"""largeBlobKey (CTAP 2.1 section 12.3): a per-credential key for the large-blob array.

The key goes out as a top-level response member (makeCredential 0x05, getAssertion 0x07),
never in the authenticator data, and only discoverable credentials can have one.
"""

from __future__ import annotations

from typing import Any

from vauth.ctap.parse import required
from vauth.ctap.status import CtapError, CtapStatus

NAME = "largeBlobKey"
KEY_LENGTH = 32


def requested(extensions: dict[str, Any]) -> bool:
    """Whether the request asks for the key: the only valid value is true."""
    if NAME not in extensions:
        return False
    if not required(extensions, NAME, bool, NAME):
        raise CtapError(CtapStatus.INVALID_OPTION, "largeBlobKey must be true when present")
    return True


def check_make_credential(rk: bool) -> None:
    """A largeBlobKey needs a discoverable credential."""
    if not rk:
        raise CtapError(CtapStatus.INVALID_OPTION, "largeBlobKey needs a discoverable credential")
