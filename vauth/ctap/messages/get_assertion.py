"""authenticatorGetAssertion (0x02) request, and the response it shares with
authenticatorGetNextAssertion (0x08), CTAP 2.1 sections 6.2 and 6.3."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from vauth.ctap.parse import descriptor_list, extension_map, optional, options, required

PUBLIC_KEY = "public-key"


class Key(IntEnum):
    """Request parameters (section 6.2)."""

    RP_ID = 0x01
    CLIENT_DATA_HASH = 0x02
    ALLOW_LIST = 0x03
    EXTENSIONS = 0x04
    OPTIONS = 0x05
    PIN_UV_AUTH_PARAM = 0x06
    PIN_UV_AUTH_PROTOCOL = 0x07


class ResponseKey(IntEnum):
    """Response members (section 6.2)."""

    CREDENTIAL = 0x01
    AUTH_DATA = 0x02
    SIGNATURE = 0x03
    USER = 0x04
    NUMBER_OF_CREDENTIALS = 0x05
    USER_SELECTED = 0x06
    LARGE_BLOB_KEY = 0x07


@dataclass(frozen=True, slots=True)
class GetAssertionRequest:
    rp_id: str
    client_data_hash: bytes
    allow_list: tuple[tuple[str, bytes], ...] | None = None  # (type, id)
    extensions: dict[str, Any] = field(default_factory=dict)
    options: dict[str, bool] = field(default_factory=dict)
    pin_uv_auth_param: bytes | None = None
    pin_uv_auth_protocol: int | None = None

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> GetAssertionRequest:
        """Parse strictly, in the order that decides which error a malformed request gets."""
        rp_id = required(params, Key.RP_ID, str, "rpId")
        client_data_hash = required(params, Key.CLIENT_DATA_HASH, bytes, "clientDataHash")
        allow_list = descriptor_list(params, Key.ALLOW_LIST, "allowList")
        extensions = extension_map(params, Key.EXTENSIONS)
        return cls(
            rp_id=rp_id,
            client_data_hash=client_data_hash,
            allow_list=tuple(allow_list) if allow_list is not None else None,
            extensions=extensions,
            options=options(params, Key.OPTIONS),
            pin_uv_auth_param=optional(params, Key.PIN_UV_AUTH_PARAM, bytes, "pinUvAuthParam"),
            pin_uv_auth_protocol=optional(
                params, Key.PIN_UV_AUTH_PROTOCOL, int, "pinUvAuthProtocol"
            ),
        )

    def to_cbor(self) -> dict[int, Any]:
        """The request map a client sends (absent members left out)."""
        params: dict[int, Any] = {
            Key.RP_ID: self.rp_id,
            Key.CLIENT_DATA_HASH: self.client_data_hash,
        }
        if self.allow_list:
            params[Key.ALLOW_LIST] = [{"id": i, "type": t} for t, i in self.allow_list]
        if self.extensions:
            params[Key.EXTENSIONS] = self.extensions
        if self.options:
            params[Key.OPTIONS] = self.options
        if self.pin_uv_auth_param is not None:
            params[Key.PIN_UV_AUTH_PARAM] = self.pin_uv_auth_param
        if self.pin_uv_auth_protocol is not None:
            params[Key.PIN_UV_AUTH_PROTOCOL] = self.pin_uv_auth_protocol
        return params


@dataclass(frozen=True, slots=True)
class GetAssertionResponse:
    credential_id: bytes
    auth_data: bytes
    signature: bytes
    user: dict[str, Any] | None = None  # PublicKeyCredentialUserEntity: id, name, displayName
    number_of_credentials: int | None = None
    user_selected: bool | None = None
    large_blob_key: bytes | None = None

    def to_cbor(self) -> dict[int, Any]:
        """The response map, keys in canonical order."""
        result: dict[int, Any] = {
            ResponseKey.CREDENTIAL: {"id": self.credential_id, "type": PUBLIC_KEY},
            ResponseKey.AUTH_DATA: self.auth_data,
            ResponseKey.SIGNATURE: self.signature,
        }
        if self.user is not None:
            result[ResponseKey.USER] = self.user
        if self.number_of_credentials is not None:
            result[ResponseKey.NUMBER_OF_CREDENTIALS] = self.number_of_credentials
        if self.user_selected is not None:
            result[ResponseKey.USER_SELECTED] = self.user_selected
        if self.large_blob_key is not None:
            result[ResponseKey.LARGE_BLOB_KEY] = self.large_blob_key
        return result
