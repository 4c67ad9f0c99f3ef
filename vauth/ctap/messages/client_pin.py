"""authenticatorClientPIN (0x06): subcommands, parameter and response keys, permissions
(CTAP 2.1 section 6.5.5)."""

from __future__ import annotations

from enum import IntEnum, IntFlag


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
