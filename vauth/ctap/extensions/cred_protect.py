"""credProtect (CTAP 2.1 section 12.1): how much a credential hides without UV."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

NAME = "credProtect"


class CredProtect(IntEnum):
    UV_OPTIONAL = 1
    UV_OPTIONAL_WITH_CREDENTIAL_ID_LIST = 2
    UV_REQUIRED = 3


def requested(extensions: dict[str, Any]) -> CredProtect | None:
    """The level asked for at makeCredential; values outside 1..3 are ignored."""
    value = extensions.get(NAME)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 3:
        return CredProtect(value)
    return None


def usable(level: int, user_verified: bool, by_allow_list: bool) -> bool:
    """Whether a credential of this level may be used (CTAP 2.1 section 6.2.2, step 7)."""
    if user_verified or level == CredProtect.UV_OPTIONAL:
        return True
    if level == CredProtect.UV_OPTIONAL_WITH_CREDENTIAL_ID_LIST:
        return by_allow_list
    return False
