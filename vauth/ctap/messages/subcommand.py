"""The request shape authenticatorCredentialManagement and authenticatorConfig share: a
subcommand, its parameters and the pinUvAuth pair (CTAP 2.1 sections 6.8 and 6.11)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from vauth.ctap.messages.base import BYTES, INT, MAP, Request, maybe, member


class Key(IntEnum):
    """Request parameters, numbered alike in sections 6.8 and 6.11."""

    SUB_COMMAND = 0x01
    SUB_COMMAND_PARAMS = 0x02
    PIN_UV_AUTH_PROTOCOL = 0x03
    PIN_UV_AUTH_PARAM = 0x04


@dataclass(frozen=True, slots=True)
class SubcommandRequest(Request):
    """The subcommand stays an int (an unknown one is found by the handler after the request
    parsed); subCommandParams stays the map it came as: pinUvAuthParam authenticates its
    encoding."""

    sub_command: int = member(Key.SUB_COMMAND, INT, "subCommand")
    sub_command_params: dict[Any, Any] | None = maybe(
        Key.SUB_COMMAND_PARAMS, MAP, "subCommandParams"
    )
    pin_uv_auth_protocol: int | None = maybe(Key.PIN_UV_AUTH_PROTOCOL, INT, "pinUvAuthProtocol")
    pin_uv_auth_param: bytes | None = maybe(Key.PIN_UV_AUTH_PARAM, BYTES, "pinUvAuthParam")
