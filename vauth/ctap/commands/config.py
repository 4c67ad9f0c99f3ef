"""authenticatorConfig (0x0D), CTAP 2.1 section 6.11: toggleAlwaysUv and setMinPINLength."""

from __future__ import annotations

from dataclasses import dataclass

from vauth.ctap import cbor
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.messages.command import Command
from vauth.ctap.messages.config import ConfigRequest, SetMinPinLengthParams, Subcommand
from vauth.ctap.pin_state import ACFG, PinState
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.status import CtapError, CtapStatus

ENABLE_ENTERPRISE_ATTESTATION = Subcommand.ENABLE_ENTERPRISE_ATTESTATION
TOGGLE_ALWAYS_UV = Subcommand.TOGGLE_ALWAYS_UV
SET_MIN_PIN_LENGTH = Subcommand.SET_MIN_PIN_LENGTH


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorConfig uses."""

    config: AuthenticatorConfig
    pin_uv: PinUvAuth


async def handle(ctx: Context, request: ConfigRequest) -> None:
    """authenticatorConfig, CTAP 2.1 section 6.11 (the request parsed first)."""
    sub_command = request.sub_command
    if sub_command not in (TOGGLE_ALWAYS_UV, SET_MIN_PIN_LENGTH):
        # Enterprise attestation is not offered: there is no enterprise CA to attest with.
        raise CtapError(CtapStatus.INVALID_SUBCOMMAND, f"subCommand {sub_command}")
    pin = await ctx.pin_uv.pin_state()
    if ctx.pin_uv.is_protected(pin) or pin.always_uv:
        if request.pin_uv_auth_param is None:
            raise CtapError(CtapStatus.PUAT_REQUIRED, "config needs a pinUvAuthToken")
        # 32 x 0xff || 0x0d || uint8(subCommand) || subCommandParams (section 6.11.1)
        message = b"\xff" * 32 + bytes([Command.CONFIG, sub_command])
        if request.sub_command_params is not None:
            message += cbor.encode(request.sub_command_params)
        ctx.pin_uv.verify_token(
            request.pin_uv_auth_protocol, message, request.pin_uv_auth_param, ACFG
        )
    if sub_command == TOGGLE_ALWAYS_UV:
        pin.always_uv = not pin.always_uv
    else:
        params = SetMinPinLengthParams.from_cbor(request.sub_command_params or {})
        _set_min_pin_length(ctx, pin, params)
    await ctx.pin_uv.save_pin_state()


def _set_min_pin_length(ctx: Context, pin: PinState, params: SetMinPinLengthParams) -> None:
    """Raise the minimum PIN length (never lower it), name the RPs that may read it through
    the minPinLength extension, and force a PIN change where asked or needed."""
    rp_ids = params.min_pin_length_rp_ids
    if rp_ids is not None and len(rp_ids) > ctx.config.max_rp_ids_for_set_min_pin_length:
        raise CtapError(CtapStatus.PIN_POLICY_VIOLATION, "too many minPinLengthRPIDs")
    new_length = params.new_min_pin_length
    if new_length is None:
        new_length = pin.min_pin_length
    if new_length < pin.min_pin_length:
        raise CtapError(CtapStatus.PIN_POLICY_VIOLATION, "the minimum PIN length cannot go down")
    if params.force_change_pin and not pin.is_set:
        raise CtapError(CtapStatus.PIN_NOT_SET, "forceChangePin without a PIN")
    pin.min_pin_length = new_length
    if rp_ids is not None:
        pin.min_pin_length_rp_ids = list(rp_ids)
    if pin.is_set and (params.force_change_pin or pin.pin_length < new_length):
        pin.force_pin_change = True
