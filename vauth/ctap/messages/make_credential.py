"""authenticatorMakeCredential (0x01) request and response, CTAP 2.1 section 6.1."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from vauth.ctap.config import MAX_USER_ID_LENGTH
from vauth.ctap.parse import descriptor_list, extension_map, optional, options, required, typed
from vauth.ctap.status import CtapError, CtapStatus

PUBLIC_KEY = "public-key"


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


@dataclass(frozen=True, slots=True)
class MakeCredentialRequest:
    client_data_hash: bytes
    rp_id: str
    user_id: bytes
    pub_key_cred_params: tuple[tuple[str, int], ...]  # (type, alg)
    rp_name: str | None = None
    user_name: str | None = None
    user_display_name: str | None = None
    exclude_list: tuple[tuple[str, bytes], ...] = ()  # (type, id)
    extensions: dict[str, Any] = field(default_factory=dict)
    options: dict[str, bool] = field(default_factory=dict)
    pin_uv_auth_param: bytes | None = None
    pin_uv_auth_protocol: int | None = None
    enterprise_attestation: int | None = None

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> MakeCredentialRequest:
        """Parse strictly, in the order that decides which error a malformed request gets."""
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

    def to_cbor(self) -> dict[int, Any]:
        """The request map a client sends (absent members left out)."""
        rp: dict[str, Any] = {"id": self.rp_id}
        if self.rp_name is not None:
            rp["name"] = self.rp_name
        user: dict[str, Any] = {"id": self.user_id}
        if self.user_name is not None:
            user["name"] = self.user_name
        if self.user_display_name is not None:
            user["displayName"] = self.user_display_name
        params: dict[int, Any] = {
            Key.CLIENT_DATA_HASH: self.client_data_hash,
            Key.RP: rp,
            Key.USER: user,
            Key.PUB_KEY_CRED_PARAMS: [
                {"alg": alg, "type": kind} for kind, alg in self.pub_key_cred_params
            ],
        }
        if self.exclude_list:
            params[Key.EXCLUDE_LIST] = [{"id": i, "type": t} for t, i in self.exclude_list]
        if self.extensions:
            params[Key.EXTENSIONS] = self.extensions
        if self.options:
            params[Key.OPTIONS] = self.options
        if self.pin_uv_auth_param is not None:
            params[Key.PIN_UV_AUTH_PARAM] = self.pin_uv_auth_param
        if self.pin_uv_auth_protocol is not None:
            params[Key.PIN_UV_AUTH_PROTOCOL] = self.pin_uv_auth_protocol
        if self.enterprise_attestation is not None:
            params[Key.ENTERPRISE_ATTESTATION] = self.enterprise_attestation
        return params


@dataclass(frozen=True, slots=True)
class MakeCredentialResponse:
    fmt: str
    auth_data: bytes
    att_stmt: dict[str, Any]
    large_blob_key: bytes | None = None

    def to_cbor(self) -> dict[int, Any]:
        """The response map, keys in canonical order."""
        result: dict[int, Any] = {
            ResponseKey.FMT: self.fmt,
            ResponseKey.AUTH_DATA: self.auth_data,
            ResponseKey.ATT_STMT: self.att_stmt,
        }
        if self.large_blob_key is not None:
            result[ResponseKey.LARGE_BLOB_KEY] = self.large_blob_key
        return result

    @classmethod
    def from_cbor(cls, body: dict[Any, Any]) -> MakeCredentialResponse | None:
        """The response as a client reads it; None if a member has the wrong type."""
        fmt = body.get(ResponseKey.FMT)
        auth_data = body.get(ResponseKey.AUTH_DATA)
        att_stmt = body.get(ResponseKey.ATT_STMT)
        large_blob_key = body.get(ResponseKey.LARGE_BLOB_KEY)
        if not (
            isinstance(fmt, str) and isinstance(auth_data, bytes) and isinstance(att_stmt, dict)
        ):
            return None
        return cls(
            fmt, auth_data, att_stmt, large_blob_key if isinstance(large_blob_key, bytes) else None
        )
