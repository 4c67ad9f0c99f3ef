"""authenticatorReset (0x07), CTAP 2.1 section 6.6."""

from __future__ import annotations

from dataclasses import dataclass

from vauth.ctap.commands import large_blobs
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.messages.command import NoParameters
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import Ceremony, Clock, CredentialStore, PresenceRequest, UserPresence
from vauth.ctap.secrets import Secrets
from vauth.ctap.state import LargeBlobWrite, Power
from vauth.ctap.status import CtapError, CtapStatus


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorReset uses: it clears everything that persists."""

    config: AuthenticatorConfig
    store: CredentialStore
    presence: UserPresence
    clock: Clock
    power: Power
    secrets: Secrets
    pin_uv: PinUvAuth
    large_blob_write: LargeBlobWrite


async def handle(ctx: Context, _: NoParameters) -> None:
    window = ctx.config.reset_window_s
    # 1. Only within the window after power-up (10 s by the specification).
    if window is not None and ctx.clock.monotonic() - ctx.power.powered_at > window:
        raise CtapError(CtapStatus.NOT_ALLOWED, "reset is only allowed just after power-up")
    # 2. User presence is required.
    response = await ctx.presence.confirm(PresenceRequest(Ceremony.RESET))
    if not response.present:
        raise CtapError(CtapStatus.OPERATION_DENIED, "user declined reset")
    # 3. Forget every credential, the PIN and the large-blob array, and make every
    #    non-discoverable credential ID (and the hmac-secret CredRandom derived from it) unusable.
    await ctx.store.clear()
    await ctx.secrets.rotate_wrap_key()
    await ctx.pin_uv.forget_pin()
    await large_blobs.clear(ctx.store, ctx.large_blob_write)
