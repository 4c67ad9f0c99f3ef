"""authenticatorConfig (0x0D), CTAP 2.1 section 6.11: toggleAlwaysUv and setMinPINLength."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vauth.ctap import cbor, pin_uv
from vauth.ctap.parse import optional, required
from vauth.ctap.pin_state import ACFG, PinState
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator

ENABLE_ENTERPRISE_ATTESTATION = 0x01
TOGGLE_ALWAYS_UV = 0x02
SET_MIN_PIN_LENGTH = 0x03


async def handle(authenticator: Authenticator, params: dict[Any, Any]) -> None:
    sub_command = required(params, 0x01, int, "subCommand")
    sub_params = optional(params, 0x02, dict, "subCommandParams")
    version = optional(params, 0x03, int, "pinUvAuthProtocol")
    pin_uv_auth_param = optional(params, 0x04, bytes, "pinUvAuthParam")
    if sub_command not in (TOGGLE_ALWAYS_UV, SET_MIN_PIN_LENGTH):
        # Enterprise attestation is not offered: there is no enterprise CA to attest with.
        raise CtapError(CtapStatus.INVALID_SUBCOMMAND, f"subCommand {sub_command}")
    pin = await authenticator.pin_state()
    if pin_uv.is_protected(authenticator, pin) or pin.always_uv:
        if pin_uv_auth_param is None:
            raise CtapError(CtapStatus.PUAT_REQUIRED, "config needs a pinUvAuthToken")
        message = b"\xff" * 32 + bytes([0x0D, sub_command])
        if sub_params is not None:
            message += cbor.encode(sub_params)
        pin_uv.verify_token(authenticator, version, message, pin_uv_auth_param, ACFG)
    if sub_command == TOGGLE_ALWAYS_UV:
        pin.always_uv = not pin.always_uv
    else:
        _set_min_pin_length(authenticator, pin, sub_params or {})
    await authenticator.save_pin_state()


def _set_min_pin_length(
    authenticator: Authenticator, pin: PinState, params: dict[Any, Any]
) -> None:
    """Raise the minimum PIN length (never lower it), name the RPs that may read it through
    the minPinLength extension, and force a PIN change where asked or needed."""
    new_length = optional(params, 0x01, int, "newMinPINLength")
    rp_ids = optional(params, 0x02, list, "minPinLengthRPIDs")
    force = optional(params, 0x03, bool, "forceChangePin") or False
    if rp_ids is not None:
        for rp_id in rp_ids:
            required({0: rp_id}, 0, str, "minPinLengthRPIDs[]")
        if len(rp_ids) > authenticator.config.max_rp_ids_for_set_min_pin_length:
            raise CtapError(CtapStatus.PIN_POLICY_VIOLATION, "too many minPinLengthRPIDs")
    if new_length is None:
        new_length = pin.min_pin_length
    if new_length < pin.min_pin_length:
        raise CtapError(CtapStatus.PIN_POLICY_VIOLATION, "the minimum PIN length cannot go down")
    if force and not pin.is_set:
        raise CtapError(CtapStatus.PIN_NOT_SET, "forceChangePin without a PIN")
    pin.min_pin_length = new_length
    if rp_ids is not None:
        pin.min_pin_length_rp_ids = list(rp_ids)
    if pin.is_set and (force or pin.pin_length < new_length):
        pin.force_pin_change = True
