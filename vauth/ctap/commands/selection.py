"""authenticatorSelection (0x0B), CTAP 2.1 section 6.9: "is this the key you meant?"."""

from __future__ import annotations

from dataclasses import dataclass

from vauth.ctap.messages.command import NoParameters
from vauth.ctap.ports import Ceremony, PresenceRequest, UserPresence
from vauth.ctap.status import CtapError, CtapStatus


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorSelection uses: a touch."""

    presence: UserPresence


async def handle(ctx: Context, _: NoParameters) -> None:
    response = await ctx.presence.confirm(PresenceRequest(Ceremony.SELECTION))
    if not response.present:
        raise CtapError(CtapStatus.OPERATION_DENIED, "user declined selection")
