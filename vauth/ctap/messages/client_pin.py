"""authenticatorClientPIN (0x06): subcommands, parameter and response keys, permissions, the
request and the response (CTAP 2.1 section 6.5.5)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from vauth.ctap.messages.base import BOOL, BYTES, INT, MAP, TEXT, Request, Response, member


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
class ClientPinRequest(Request):
    """Every member typed; which ones a subcommand needs is the subcommand's to say (a missing
    one is MISSING_PARAMETER in the order its steps read them)."""

    sub_command: int = member(Key.SUB_COMMAND, INT, "subCommand")
    pin_uv_auth_protocol: int | None = member(
        Key.PIN_UV_AUTH_PROTOCOL, INT, "pinUvAuthProtocol", default=None
    )
    key_agreement: dict[Any, Any] | None = member(
        Key.KEY_AGREEMENT, MAP, "keyAgreement", default=None
    )
    pin_uv_auth_param: bytes | None = member(
        Key.PIN_UV_AUTH_PARAM, BYTES, "pinUvAuthParam", default=None
    )
    new_pin_enc: bytes | None = member(Key.NEW_PIN_ENC, BYTES, "newPinEnc", default=None)
    pin_hash_enc: bytes | None = member(Key.PIN_HASH_ENC, BYTES, "pinHashEnc", default=None)
    permissions: int | None = member(Key.PERMISSIONS, INT, "permissions", default=None)
    rp_id: str | None = member(Key.RP_ID, TEXT, "rpId", default=None)


@dataclass(frozen=True, slots=True)
class ClientPinResponse(Response):
    """The members a subcommand answers with; the others are absent."""

    key_agreement: dict[Any, Any] | None = member(
        ResponseKey.KEY_AGREEMENT, MAP, "keyAgreement", default=None
    )
    pin_uv_auth_token: bytes | None = member(
        ResponseKey.PIN_UV_AUTH_TOKEN, BYTES, "pinUvAuthToken", default=None
    )
    pin_retries: int | None = member(ResponseKey.PIN_RETRIES, INT, "pinRetries", default=None)
    power_cycle_state: bool | None = member(
        ResponseKey.POWER_CYCLE_STATE, BOOL, "powerCycleState", default=None
    )
    uv_retries: int | None = member(ResponseKey.UV_RETRIES, INT, "uvRetries", default=None)
