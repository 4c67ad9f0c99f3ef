"""authenticatorGetAssertion (0x02) request, and the response it shares with
authenticatorGetNextAssertion (0x08), CTAP 2.1 sections 6.2 and 6.3."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from vauth.ctap.messages.base import (
    BOOL,
    BYTES,
    DESCRIPTOR,
    DESCRIPTORS,
    EXTENSIONS,
    INT,
    MAP,
    OPTIONS,
    TEXT,
    Request,
    Response,
    maybe,
    member,
)


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
class GetAssertionRequest(Request):
    rp_id: str = member(Key.RP_ID, TEXT, "rpId")
    client_data_hash: bytes = member(Key.CLIENT_DATA_HASH, BYTES, "clientDataHash")
    allow_list: tuple[tuple[str, bytes], ...] | None = member(  # (type, id)
        Key.ALLOW_LIST, DESCRIPTORS, "allowList", default=None
    )
    extensions: dict[str, Any] = member(
        Key.EXTENSIONS, EXTENSIONS, "extensions", default_factory=dict
    )
    options: dict[str, bool] = member(Key.OPTIONS, OPTIONS, "options", default_factory=dict)
    pin_uv_auth_param: bytes | None = maybe(Key.PIN_UV_AUTH_PARAM, BYTES, "pinUvAuthParam")
    pin_uv_auth_protocol: int | None = maybe(Key.PIN_UV_AUTH_PROTOCOL, INT, "pinUvAuthProtocol")


@dataclass(frozen=True, slots=True)
class GetAssertionResponse(Response):
    # The credential may be left out when the allowList had one entry: read back as b"".
    credential_id: bytes = member(ResponseKey.CREDENTIAL, DESCRIPTOR, "credential", absent=b"")
    auth_data: bytes = member(ResponseKey.AUTH_DATA, BYTES, "authData")
    signature: bytes = member(ResponseKey.SIGNATURE, BYTES, "signature")
    user: dict[str, Any] | None = member(  # PublicKeyCredentialUserEntity: id, name, displayName
        ResponseKey.USER, MAP, "user", default=None
    )
    number_of_credentials: int | None = maybe(
        ResponseKey.NUMBER_OF_CREDENTIALS, INT, "numberOfCredentials"
    )
    user_selected: bool | None = maybe(ResponseKey.USER_SELECTED, BOOL, "userSelected")
    large_blob_key: bytes | None = maybe(ResponseKey.LARGE_BLOB_KEY, BYTES, "largeBlobKey")
