"""authenticatorReset (0x07), CTAP 2.1 section 6.6."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vauth.ctap.commands import large_blobs
from vauth.ctap.ports import Ceremony, PresenceRequest
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator


async def handle(authenticator: Authenticator, params: dict[Any, Any]) -> None:
    env, window = authenticator.env, authenticator.config.reset_window_s
    # 1. Only within the window after power-up (10 s by the specification).
    if window is not None and env.clock.monotonic() - authenticator.powered_at > window:
        raise CtapError(CtapStatus.NOT_ALLOWED, "reset is only allowed just after power-up")
    # 2. User presence is required.
    response = await env.presence.confirm(PresenceRequest(Ceremony.RESET))
    if not response.present:
        raise CtapError(CtapStatus.OPERATION_DENIED, "user declined reset")
    # 3. Forget every credential, the PIN and the large-blob array, and make every
    #    non-discoverable credential ID (and the hmac-secret CredRandom derived from it) unusable.
    await env.store.clear()
    await authenticator.rotate_wrap_key()
    await authenticator.forget_pin()
    await large_blobs.clear(authenticator)
