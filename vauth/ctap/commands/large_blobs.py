"""authenticatorLargeBlobs (0x0C), CTAP 2.1 section 6.10."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator


async def handle(authenticator: Authenticator, params: dict[Any, Any]) -> dict[int, Any] | None:
    raise CtapError(CtapStatus.INVALID_COMMAND, "largeBlobs is being built")
