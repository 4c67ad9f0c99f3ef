"""authenticatorGetNextAssertion (0x08), CTAP 2.1 section 6.3."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vauth.ctap.commands.get_assertion import assert_credential
from vauth.ctap.messages.get_assertion import GetAssertionResponse
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator


async def handle(authenticator: Authenticator, params: dict[Any, Any]) -> GetAssertionResponse:
    pending = authenticator.state.assertions
    # 1-3. Only straight after getAssertion (or getNextAssertion), within its timer.
    if pending is None or not pending.credentials:
        raise CtapError(CtapStatus.NOT_ALLOWED, "no pending assertions")
    if authenticator.env.clock.monotonic() > pending.expires_at:
        authenticator.state.clear()
        raise CtapError(CtapStatus.NOT_ALLOWED, "getNextAssertion timer expired")
    credential = pending.credentials.pop(0)
    return await assert_credential(
        authenticator,
        credential,
        pending.rp_id_hash,
        pending.client_data_hash,
        pending.flags,
        pending.identify_user,
        pending.extensions,
    )
