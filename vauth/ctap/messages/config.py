"""authenticatorConfig (0x0D): its subcommands, keys and typed request (CTAP 2.1 section 6.11)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from vauth.ctap.messages.subcommand import Key as Key
from vauth.ctap.messages.subcommand import SubcommandRequest
from vauth.ctap.parse import optional, typed


class Subcommand(IntEnum):
    ENABLE_ENTERPRISE_ATTESTATION = 0x01
    TOGGLE_ALWAYS_UV = 0x02
    SET_MIN_PIN_LENGTH = 0x03
    VENDOR_PROTOTYPE = 0xFF


class SetMinPinLengthKey(IntEnum):
    """setMinPINLength's subCommandParams (section 6.11.4)."""

    NEW_MIN_PIN_LENGTH = 0x01
    MIN_PIN_LENGTH_RP_IDS = 0x02
    FORCE_CHANGE_PIN = 0x03


@dataclass(frozen=True, slots=True)
class ConfigRequest(SubcommandRequest):
    """authenticatorConfig's request (section 6.11)."""


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
