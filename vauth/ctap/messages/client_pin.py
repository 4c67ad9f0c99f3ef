"""authenticatorClientPIN (0x06): subcommands, parameter and response keys, permissions, the
request and the response (CTAP 2.1 section 6.5.5)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from vauth.ctap.parse import optional, required


class Subcommand(IntEnum):
    GET_PIN_RETRIES = 0x01
    GET_KEY_AGREEMENT = 0x02
    SET_PIN = 0x03
    CHANGE_PIN = 0x04
    GET_PIN_TOKEN = 0x05
    GET_PIN_UV_AUTH_TOKEN_USING_UV_WITH_PERMISSIONS = 0x06
    GET_UV_RETRIES = 0x07
    GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS = 0x09


class Key(IntEnum):
    """Request parameters (section 6.5.5.1)."""

    PIN_UV_AUTH_PROTOCOL = 0x01
    SUB_COMMAND = 0x02
    KEY_AGREEMENT = 0x03
    PIN_UV_AUTH_PARAM = 0x04
    NEW_PIN_ENC = 0x05
    PIN_HASH_ENC = 0x06
    PERMISSIONS = 0x09
    RP_ID = 0x0A


class ResponseKey(IntEnum):
    """Response members (section 6.5.5.2)."""

    KEY_AGREEMENT = 0x01
    PIN_UV_AUTH_TOKEN = 0x02
    PIN_RETRIES = 0x03
    POWER_CYCLE_STATE = 0x04
    UV_RETRIES = 0x05


class Permission(IntFlag):
    """pinUvAuthToken permissions (section 6.5.5.7)."""

    MC = 0x01  # makeCredential
    GA = 0x02  # getAssertion
    CM = 0x04  # credentialManagement
    BE = 0x08  # bioEnrollment
    LBW = 0x10  # largeBlobWrite
    ACFG = 0x20  # authenticatorConfig


@dataclass(frozen=True, slots=True)
class ClientPinRequest:
    """Every member typed; which ones a subcommand needs is the subcommand's to say (a missing
    one is MISSING_PARAMETER in the order its steps read them)."""

    sub_command: int
    pin_uv_auth_protocol: int | None = None
    key_agreement: dict[Any, Any] | None = None
    pin_uv_auth_param: bytes | None = None
    new_pin_enc: bytes | None = None
    pin_hash_enc: bytes | None = None
    permissions: int | None = None
    rp_id: str | None = None

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> ClientPinRequest:
        """Parse strictly, in the order that decides which error a malformed request gets."""
        protocol = optional(params, Key.PIN_UV_AUTH_PROTOCOL, int, "pinUvAuthProtocol")
        return cls(
            sub_command=required(params, Key.SUB_COMMAND, int, "subCommand"),
            pin_uv_auth_protocol=protocol,
            key_agreement=optional(params, Key.KEY_AGREEMENT, dict, "keyAgreement"),
            pin_uv_auth_param=optional(params, Key.PIN_UV_AUTH_PARAM, bytes, "pinUvAuthParam"),
            new_pin_enc=optional(params, Key.NEW_PIN_ENC, bytes, "newPinEnc"),
            pin_hash_enc=optional(params, Key.PIN_HASH_ENC, bytes, "pinHashEnc"),
            permissions=optional(params, Key.PERMISSIONS, int, "permissions"),
            rp_id=optional(params, Key.RP_ID, str, "rpId"),
        )

    def to_cbor(self) -> dict[int, Any]:
        """The request map a client sends (absent members left out)."""
        members = (
            (Key.PIN_UV_AUTH_PROTOCOL, self.pin_uv_auth_protocol),
            (Key.SUB_COMMAND, self.sub_command),
            (Key.KEY_AGREEMENT, self.key_agreement),
            (Key.PIN_UV_AUTH_PARAM, self.pin_uv_auth_param),
            (Key.NEW_PIN_ENC, self.new_pin_enc),
            (Key.PIN_HASH_ENC, self.pin_hash_enc),
            (Key.PERMISSIONS, self.permissions),
            (Key.RP_ID, self.rp_id),
        )
        return {key: value for key, value in members if value is not None}


@dataclass(frozen=True, slots=True)
class ClientPinResponse:
    """The members a subcommand answers with; the others are absent."""

    key_agreement: dict[Any, Any] | None = None
    pin_uv_auth_token: bytes | None = None
    pin_retries: int | None = None
    power_cycle_state: bool | None = None
    uv_retries: int | None = None

    def to_cbor(self) -> dict[int, Any]:
        """The response map, keys in canonical order."""
        members = (
            (ResponseKey.KEY_AGREEMENT, self.key_agreement),
            (ResponseKey.PIN_UV_AUTH_TOKEN, self.pin_uv_auth_token),
            (ResponseKey.PIN_RETRIES, self.pin_retries),
            (ResponseKey.POWER_CYCLE_STATE, self.power_cycle_state),
            (ResponseKey.UV_RETRIES, self.uv_retries),
        )
        return {key: value for key, value in members if value is not None}
