"""authenticatorSelection (0x0B), CTAP 2.1 section 6.9: "is this the key you meant?"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vauth.ctap.ports import Ceremony, PresenceRequest
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator


async def handle(authenticator: Authenticator, params: dict[Any, Any]) -> None:
    response = await authenticator.env.presence.confirm(PresenceRequest(Ceremony.SELECTION))
    if not response.present:
        raise CtapError(CtapStatus.OPERATION_DENIED, "user declined selection")
