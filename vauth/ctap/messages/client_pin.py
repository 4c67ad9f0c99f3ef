"""authenticatorClientPIN (0x06): subcommands, parameter and response keys, permissions, the
request and the response (CTAP 2.1 section 6.5.5)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from vauth.ctap.messages.base import BOOL, BYTES, INT, MAP, TEXT, Request, Response, maybe, member


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
    pin_uv_auth_protocol: int | None = maybe(Key.PIN_UV_AUTH_PROTOCOL, INT, "pinUvAuthProtocol")
    key_agreement: dict[Any, Any] | None = maybe(Key.KEY_AGREEMENT, MAP, "keyAgreement")
    pin_uv_auth_param: bytes | None = maybe(Key.PIN_UV_AUTH_PARAM, BYTES, "pinUvAuthParam")
    new_pin_enc: bytes | None = maybe(Key.NEW_PIN_ENC, BYTES, "newPinEnc")
    pin_hash_enc: bytes | None = maybe(Key.PIN_HASH_ENC, BYTES, "pinHashEnc")
    permissions: int | None = maybe(Key.PERMISSIONS, INT, "permissions")
    rp_id: str | None = maybe(Key.RP_ID, TEXT, "rpId")


@dataclass(frozen=True, slots=True)
class ClientPinResponse(Response):
    """The members a subcommand answers with; the others are absent."""

    key_agreement: dict[Any, Any] | None = maybe(ResponseKey.KEY_AGREEMENT, MAP, "keyAgreement")
    pin_uv_auth_token: bytes | None = maybe(ResponseKey.PIN_UV_AUTH_TOKEN, BYTES, "pinUvAuthToken")
    pin_retries: int | None = maybe(ResponseKey.PIN_RETRIES, INT, "pinRetries")
    power_cycle_state: bool | None = maybe(ResponseKey.POWER_CYCLE_STATE, BOOL, "powerCycleState")
    uv_retries: int | None = maybe(ResponseKey.UV_RETRIES, INT, "uvRetries")
