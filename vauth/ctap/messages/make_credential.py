"""authenticatorMakeCredential (0x01) request and response, CTAP 2.1 section 6.1."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Self

from vauth.ctap.config import MAX_USER_ID_LENGTH
from vauth.ctap.messages.base import (
    BYTES,
    DESCRIPTORS,
    EXTENSIONS,
    INT,
    LIST,
    MAP,
    OPTIONS,
    TEXT,
    Codec,
    Request,
    Response,
    maybe,
    member,
)
from vauth.ctap.parse import descriptor_list, extension_map, optional, options, required, typed
from vauth.ctap.status import CtapError, CtapStatus


class Key(IntEnum):
    """Request parameters (section 6.1)."""

    CLIENT_DATA_HASH = 0x01
    RP = 0x02
    USER = 0x03
    PUB_KEY_CRED_PARAMS = 0x04
    EXCLUDE_LIST = 0x05
    EXTENSIONS = 0x06
    OPTIONS = 0x07
    PIN_UV_AUTH_PARAM = 0x08
    PIN_UV_AUTH_PROTOCOL = 0x09
    ENTERPRISE_ATTESTATION = 0x0A


class ResponseKey(IntEnum):
    """Response members (section 6.1)."""

    FMT = 0x01
    AUTH_DATA = 0x02
    ATT_STMT = 0x03
    EP_ATT = 0x04
    LARGE_BLOB_KEY = 0x05


def _algorithms(pairs: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"alg": alg, "type": kind} for kind, alg in pairs]


# pubKeyCredParams as (type, alg) pairs; parsed by MakeCredentialRequest.from_cbor, in its order.
CREDENTIAL_PARAMETERS = Codec(_algorithms, LIST.read, LIST.parse)


@dataclass(frozen=True, slots=True)
class MakeCredentialRequest(Request):
    client_data_hash: bytes = member(Key.CLIENT_DATA_HASH, BYTES, "clientDataHash")
    rp_id: str = member(Key.RP, TEXT, "rp.id", within="id")
    user_id: bytes = member(Key.USER, BYTES, "user.id", within="id")
    pub_key_cred_params: tuple[tuple[str, int], ...] = member(  # (type, alg)
        Key.PUB_KEY_CRED_PARAMS, CREDENTIAL_PARAMETERS, "pubKeyCredParams"
    )
    rp_name: str | None = maybe(Key.RP, TEXT, "rp.name", within="name")
    user_name: str | None = maybe(Key.USER, TEXT, "user.name", within="name")
    user_display_name: str | None = maybe(Key.USER, TEXT, "user.displayName", within="displayName")
    exclude_list: tuple[tuple[str, bytes], ...] = member(  # (type, id)
        Key.EXCLUDE_LIST, DESCRIPTORS, "excludeList", default=()
    )
    extensions: dict[str, Any] = member(
        Key.EXTENSIONS, EXTENSIONS, "extensions", default_factory=dict
    )
    options: dict[str, bool] = member(Key.OPTIONS, OPTIONS, "options", default_factory=dict)
    pin_uv_auth_param: bytes | None = maybe(Key.PIN_UV_AUTH_PARAM, BYTES, "pinUvAuthParam")
    pin_uv_auth_protocol: int | None = maybe(Key.PIN_UV_AUTH_PROTOCOL, INT, "pinUvAuthProtocol")
    enterprise_attestation: int | None = maybe(
        Key.ENTERPRISE_ATTESTATION, INT, "enterpriseAttestation"
    )

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> Self:
        """Parse strictly, in the order that decides which error a malformed request gets:
        the four required members, then inside rp, user and pubKeyCredParams, then the rest."""
        client_data_hash = required(params, Key.CLIENT_DATA_HASH, bytes, "clientDataHash")
        rp = required(params, Key.RP, dict, "rp")
        user = required(params, Key.USER, dict, "user")
        cred_params = required(params, Key.PUB_KEY_CRED_PARAMS, list, "pubKeyCredParams")
        rp_id = required(rp, "id", str, "rp.id")
        user_id = required(user, "id", bytes, "user.id")
        if len(user_id) > MAX_USER_ID_LENGTH:
            raise CtapError(CtapStatus.INVALID_LENGTH, "user.id is longer than 64 bytes")
        algorithms = []
        for i, entry in enumerate(cred_params):
            # Members of exactly the right type pass at once; anything else gets the checked
            # path (and its name) in the same order: the entry, alg, then type.
            if type(entry) is not dict:
                entry = typed(entry, dict, f"pubKeyCredParams[{i}]")
            alg = entry.get("alg")
            if type(alg) is not int:
                alg = required(entry, "alg", int, f"pubKeyCredParams[{i}].alg")
            kind = entry.get("type")
            if type(kind) is not str:
                kind = required(entry, "type", str, f"pubKeyCredParams[{i}].type")
            algorithms.append((kind, alg))
        extensions = extension_map(params, Key.EXTENSIONS)
        return cls(
            client_data_hash=client_data_hash,
            rp_id=rp_id,
            rp_name=optional(rp, "name", str, "rp.name"),
            user_id=user_id,
            user_name=optional(user, "name", str, "user.name"),
            user_display_name=optional(user, "displayName", str, "user.displayName"),
            pub_key_cred_params=tuple(algorithms),
            exclude_list=tuple(descriptor_list(params, Key.EXCLUDE_LIST, "excludeList") or ()),
            extensions=extensions,
            options=options(params, Key.OPTIONS),
            pin_uv_auth_param=optional(params, Key.PIN_UV_AUTH_PARAM, bytes, "pinUvAuthParam"),
            pin_uv_auth_protocol=optional(
                params, Key.PIN_UV_AUTH_PROTOCOL, int, "pinUvAuthProtocol"
            ),
            enterprise_attestation=optional(
                params, Key.ENTERPRISE_ATTESTATION, int, "enterpriseAttestation"
            ),
        )


@dataclass(frozen=True, slots=True)
class MakeCredentialResponse(Response):
    fmt: str = member(ResponseKey.FMT, TEXT, "fmt")
    auth_data: bytes = member(ResponseKey.AUTH_DATA, BYTES, "authData")
    att_stmt: dict[str, Any] = member(ResponseKey.ATT_STMT, MAP, "attStmt")
    large_blob_key: bytes | None = maybe(ResponseKey.LARGE_BLOB_KEY, BYTES, "largeBlobKey")
