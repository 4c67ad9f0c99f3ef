"""authenticatorGetNextAssertion (0x08), CTAP 2.1 section 6.3."""

from __future__ import annotations

from dataclasses import dataclass

from vauth.ctap.commands.get_assertion import assert_credential
from vauth.ctap.messages.command import NoParameters
from vauth.ctap.messages.get_assertion import GetAssertionResponse
from vauth.ctap.ports import Clock, CredentialStore, ResponsePort
from vauth.ctap.state import CommandState
from vauth.ctap.status import CtapError, CtapStatus


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorGetNextAssertion uses: the getAssertion it continues, and signing."""

    store: CredentialStore
    clock: Clock
    state: CommandState
    responses: ResponsePort


async def handle(ctx: Context, _: NoParameters) -> GetAssertionResponse:
    pending = ctx.state.assertions
    # 1-3. Only straight after getAssertion (or getNextAssertion), within its timer.
    if pending is None or not pending.credentials:
        raise CtapError(CtapStatus.NOT_ALLOWED, "no pending assertions")
    if ctx.clock.monotonic() > pending.expires_at:
        ctx.state.clear()
        raise CtapError(CtapStatus.NOT_ALLOWED, "getNextAssertion timer expired")
    credential = pending.credentials.pop(0)
    return await assert_credential(
        ctx,
        credential,
        pending.rp_id_hash,
        pending.client_data_hash,
        pending.flags,
        pending.identify_user,
        pending.extensions,
    )
