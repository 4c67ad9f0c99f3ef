"""authenticatorConfig (0x0D): its subcommands, keys and typed request (CTAP 2.1 section 6.11)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from vauth.ctap.parse import optional, required, typed


class Subcommand(IntEnum):
    ENABLE_ENTERPRISE_ATTESTATION = 0x01
    TOGGLE_ALWAYS_UV = 0x02
    SET_MIN_PIN_LENGTH = 0x03
    VENDOR_PROTOTYPE = 0xFF


class Key(IntEnum):
    """Request parameters (section 6.11)."""

    SUB_COMMAND = 0x01
    SUB_COMMAND_PARAMS = 0x02
    PIN_UV_AUTH_PROTOCOL = 0x03
    PIN_UV_AUTH_PARAM = 0x04


class SetMinPinLengthKey(IntEnum):
    """setMinPINLength's subCommandParams (section 6.11.4)."""

    NEW_MIN_PIN_LENGTH = 0x01
    MIN_PIN_LENGTH_RP_IDS = 0x02
    FORCE_CHANGE_PIN = 0x03


@dataclass(frozen=True, slots=True)
class ConfigRequest:
    """subCommandParams stays the map it came as: pinUvAuthParam authenticates its encoding."""

    sub_command: int
    sub_command_params: dict[Any, Any] | None = None
    pin_uv_auth_protocol: int | None = None
    pin_uv_auth_param: bytes | None = None

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> ConfigRequest:
        """Parse strictly, in the order that decides which error a malformed request gets."""
        return cls(
            sub_command=required(params, Key.SUB_COMMAND, int, "subCommand"),
            sub_command_params=optional(params, Key.SUB_COMMAND_PARAMS, dict, "subCommandParams"),
            pin_uv_auth_protocol=optional(
                params, Key.PIN_UV_AUTH_PROTOCOL, int, "pinUvAuthProtocol"
            ),
            pin_uv_auth_param=optional(params, Key.PIN_UV_AUTH_PARAM, bytes, "pinUvAuthParam"),
        )

    def to_cbor(self) -> dict[int, Any]:
        """The request map a client sends (absent members left out)."""
        members = (
            (Key.SUB_COMMAND, self.sub_command),
            (Key.SUB_COMMAND_PARAMS, self.sub_command_params),
            (Key.PIN_UV_AUTH_PROTOCOL, self.pin_uv_auth_protocol),
            (Key.PIN_UV_AUTH_PARAM, self.pin_uv_auth_param),
        )
        return {key: value for key, value in members if value is not None}


@dataclass(frozen=True, slots=True)
class SetMinPinLengthParams:
    new_min_pin_length: int | None = None
    min_pin_length_rp_ids: tuple[str, ...] | None = None
    force_change_pin: bool = False

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> SetMinPinLengthParams:
        """Parse strictly (each RP ID a text string)."""
        new_length = optional(params, SetMinPinLengthKey.NEW_MIN_PIN_LENGTH, int, "newMinPINLength")
        rp_ids = optional(
            params, SetMinPinLengthKey.MIN_PIN_LENGTH_RP_IDS, list, "minPinLengthRPIDs"
        )
        force = optional(params, SetMinPinLengthKey.FORCE_CHANGE_PIN, bool, "forceChangePin")
        if rp_ids is not None:
            for rp_id in rp_ids:
                typed(rp_id, str, "minPinLengthRPIDs[]")
        return cls(new_length, tuple(rp_ids) if rp_ids is not None else None, force or False)
