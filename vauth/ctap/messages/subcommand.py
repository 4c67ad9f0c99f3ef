"""The request shape authenticatorCredentialManagement and authenticatorConfig share: a
subcommand, its parameters and the pinUvAuth pair (CTAP 2.1 sections 6.8 and 6.11)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Self

from vauth.ctap.parse import optional, required


class Key(IntEnum):
    """Request parameters, numbered alike in sections 6.8 and 6.11."""

    SUB_COMMAND = 0x01
    SUB_COMMAND_PARAMS = 0x02
    PIN_UV_AUTH_PROTOCOL = 0x03
    PIN_UV_AUTH_PARAM = 0x04


@dataclass(frozen=True, slots=True)
class SubcommandRequest:
    """The subcommand stays an int (an unknown one is found by the handler after the request
    parsed); subCommandParams stays the map it came as: pinUvAuthParam authenticates its
    encoding."""

    sub_command: int
    sub_command_params: dict[Any, Any] | None = None
    pin_uv_auth_protocol: int | None = None
    pin_uv_auth_param: bytes | None = None

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> Self:
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
