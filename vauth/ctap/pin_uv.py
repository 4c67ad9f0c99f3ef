"""What several commands share about PIN/UV auth: choosing the protocol, checking a
pinUvAuthParam against the pinUvAuthToken, and the UV-or-PIN rules of makeCredential and
getAssertion (CTAP 2.1 sections 6.1.2 and 6.2.2, steps 1-6 and 11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vauth.ctap.pin_protocol import PinUvAuthProtocol
from vauth.ctap.pin_state import GA, MC, PinState
from vauth.ctap.ports import Ceremony, PresenceRequest
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator


def is_protected(authenticator: Authenticator, pin: PinState) -> bool:
    """Whether a PIN or built-in user verification guards the authenticator."""
    return pin.is_set or authenticator.config.has_user_verification


def protocol_for(authenticator: Authenticator, version: int | None) -> PinUvAuthProtocol:
    if version is None:
        raise CtapError(CtapStatus.MISSING_PARAMETER, "pinUvAuthProtocol is missing")
    protocol = authenticator.pin_protocols.get(version)
    if protocol is None:
        raise CtapError(CtapStatus.INVALID_PARAMETER, f"pinUvAuthProtocol {version}")
    return protocol


def verify_token(
    authenticator: Authenticator,
    version: int | None,
    message: bytes,
    pin_uv_auth_param: bytes,
    permission: int,
    rp_id: str | None = None,
) -> None:
    """Check a pinUvAuthParam made with the current pinUvAuthToken, and that the token may do
    ``permission`` (for ``rp_id``, binding it to that RP if it was issued without one)."""
    protocol = protocol_for(authenticator, version)
    token = authenticator.token
    token.observe(authenticator.env.clock.monotonic())
    if token.protocol != protocol.version or not protocol.verify(
        protocol.token, message, pin_uv_auth_param
    ):
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "pinUvAuthParam does not verify")
    if not token.permissions & permission:
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token lacks the permission")
    if rp_id is not None:
        if token.rp_id is not None and token.rp_id != rp_id:
            raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token is bound to another RP")
        token.rp_id = rp_id
    token.used = True


@dataclass(frozen=True, slots=True)
class Verification:
    """How a ceremony's user verification was settled before user presence is asked."""

    uv_by_token: bool  # the pinUvAuthParam verified: UV done, maybe UP too
    builtin_uv: bool  # built-in UV is to be performed with the presence prompt
    up_done: bool  # the token carried user presence already


async def settle(
    authenticator: Authenticator,
    ceremony: Ceremony,
    rp_id: str,
    client_data_hash: bytes,
    pin_uv_auth_param: bytes | None,
    version: int | None,
    uv_option: bool,
    requires_uv: bool,
) -> Verification:
    """Steps 1-7 and 11 of makeCredential / getAssertion. ``requires_uv``: whether this request
    needs UV on a protected authenticator (a discoverable credential, under makeCredUvNotRqd;
    in CTAP 2.0 mode any makeCredential once a PIN is set)."""
    config, env = authenticator.config, authenticator.env
    pin = await authenticator.pin_state()
    # 1. A zero-length pinUvAuthParam asks "is this the authenticator?": touch, then say why not.
    if pin_uv_auth_param is not None and not pin_uv_auth_param:
        response = await env.presence.confirm(PresenceRequest(Ceremony.SELECTION, rp_id=rp_id))
        if not response.present:
            raise CtapError(CtapStatus.OPERATION_DENIED, "user declined")
        raise CtapError(CtapStatus.PIN_INVALID if pin.is_set else CtapStatus.PIN_NOT_SET)
    # 2. The protocol must be one of ours.
    if pin_uv_auth_param is not None:
        protocol_for(authenticator, version)
        uv_option = False  # the token stands for UV; the uv option is ignored
    # 5. Built-in UV must exist to be asked for.
    if uv_option and not config.has_user_verification:
        ctap20 = not config.ctap21
        status = CtapStatus.UNSUPPORTED_OPTION if ctap20 else CtapStatus.INVALID_OPTION
        raise CtapError(status, "no built-in user verification")
    # 6-7. alwaysUv, and UV for what the request needs it (makeCredUvNotRqd: only
    #      discoverable credentials need UV on a protected authenticator).
    if pin_uv_auth_param is None and not uv_option:
        if pin.always_uv:
            if config.has_user_verification:
                uv_option = True  # built-in UV, performed with the presence prompt
            else:
                raise CtapError(
                    CtapStatus.PUAT_REQUIRED if pin.is_set else CtapStatus.PIN_NOT_SET,
                    "alwaysUv: user verification is required",
                )
        elif requires_uv and is_protected(authenticator, pin):
            raise CtapError(CtapStatus.PUAT_REQUIRED, "user verification is required")
    # 11. Verify the pinUvAuthParam.
    if pin_uv_auth_param is not None:
        permission = MC if ceremony is Ceremony.MAKE_CREDENTIAL else GA
        verify_token(authenticator, version, client_data_hash, pin_uv_auth_param, permission, rp_id)
        token = authenticator.token
        if not token.user_verified:
            raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token no longer carries UV")
        return Verification(uv_by_token=True, builtin_uv=False, up_done=token.user_present)
    return Verification(uv_by_token=False, builtin_uv=uv_option, up_done=False)
