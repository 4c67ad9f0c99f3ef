"""authenticatorCredentialManagement (0x0A, and the 0x41 preview alias): subcommands, request,
subCommandParams and response keys, CTAP 2.1 section 6.8."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from vauth.ctap import cbor
from vauth.ctap.messages.base import BYTES, DESCRIPTOR, INT, MAP, Response, maybe, member
from vauth.ctap.messages.subcommand import Key as Key
from vauth.ctap.messages.subcommand import SubcommandRequest
from vauth.ctap.parse import optional, required
from vauth.ctap.status import CtapError, CtapStatus


class Subcommand(IntEnum):
    GET_CREDS_METADATA = 0x01
    ENUMERATE_RPS_BEGIN = 0x02
    ENUMERATE_RPS_GET_NEXT_RP = 0x03
    ENUMERATE_CREDENTIALS_BEGIN = 0x04
    ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL = 0x05
    DELETE_CREDENTIAL = 0x06
    UPDATE_USER_INFORMATION = 0x07


class ParamKey(IntEnum):
    """subCommandParams members (section 6.8)."""

    RP_ID_HASH = 0x01
    CREDENTIAL_ID = 0x02
    USER = 0x03


class ResponseKey(IntEnum):
    """Response members (section 6.8, "authenticatorCredentialManagement response structure")."""

    EXISTING_RESIDENT_CREDENTIALS_COUNT = 0x01
    MAX_POSSIBLE_REMAINING_RESIDENT_CREDENTIALS_COUNT = 0x02
    RP = 0x03
    RP_ID_HASH = 0x04
    TOTAL_RPS = 0x05
    USER = 0x06
    CREDENTIAL_ID = 0x07
    PUBLIC_KEY = 0x08
    TOTAL_CREDENTIALS = 0x09
    CRED_PROTECT = 0x0A
    LARGE_BLOB_KEY = 0x0B


@dataclass(frozen=True, slots=True)
class UserEntity:
    """The PublicKeyCredentialUserEntity of updateUserInformation."""

    id: bytes
    name: str | None
    display_name: str | None

    @classmethod
    def from_cbor(cls, value: Any) -> UserEntity:
        entity = required({0: value}, 0, dict, "user")
        return cls(
            id=required(entity, "id", bytes, "user.id"),
            name=optional(entity, "name", str, "user.name"),
            display_name=optional(entity, "displayName", str, "user.displayName"),
        )


@dataclass(frozen=True, slots=True)
class CredentialManagementRequest(SubcommandRequest):
    """authenticatorCredentialManagement's request (section 6.8)."""

    def auth_message(self) -> bytes:
        """What pinUvAuthParam authenticates: subCommand || subCommandParams (section 6.8)."""
        message = bytes([self.sub_command])
        if self.sub_command_params is not None:
            message += cbor.encode(self.sub_command_params)
        return message

    def param(self, key: ParamKey, what: str) -> Any:
        """A subCommandParams member the subcommand requires: MISSING_PARAMETER if absent."""
        if self.sub_command_params is None:
            raise CtapError(CtapStatus.MISSING_PARAMETER, "subCommandParams is missing")
        if key not in self.sub_command_params:
            raise CtapError(CtapStatus.MISSING_PARAMETER, f"{what} is missing")
        return self.sub_command_params[key]


@dataclass(frozen=True, slots=True)
class CredentialManagementResponse(Response):
    """Every subcommand's response members; each subcommand fills its own (section 6.8)."""

    existing_resident_credentials_count: int | None = maybe(
        ResponseKey.EXISTING_RESIDENT_CREDENTIALS_COUNT, INT, "existingResidentCredentialsCount"
    )
    max_possible_remaining_resident_credentials_count: int | None = maybe(
        ResponseKey.MAX_POSSIBLE_REMAINING_RESIDENT_CREDENTIALS_COUNT,
        INT,
        "maxPossibleRemainingResidentCredentialsCount",
    )
    rp: dict[str, Any] | None = member(  # PublicKeyCredentialRpEntity: id, name
        ResponseKey.RP, MAP, "rp", default=None
    )
    rp_id_hash: bytes | None = maybe(ResponseKey.RP_ID_HASH, BYTES, "rpIDHash")
    total_rps: int | None = maybe(ResponseKey.TOTAL_RPS, INT, "totalRPs")
    user: dict[str, Any] | None = member(  # PublicKeyCredentialUserEntity: id, name, displayName
        ResponseKey.USER, MAP, "user", default=None
    )
    credential_id: bytes | None = maybe(ResponseKey.CREDENTIAL_ID, DESCRIPTOR, "credentialID")
    public_key: dict[int, Any] | None = member(  # COSE_Key
        ResponseKey.PUBLIC_KEY, MAP, "publicKey", default=None
    )
    total_credentials: int | None = maybe(ResponseKey.TOTAL_CREDENTIALS, INT, "totalCredentials")
    cred_protect: int | None = maybe(ResponseKey.CRED_PROTECT, INT, "credProtect")
    large_blob_key: bytes | None = maybe(ResponseKey.LARGE_BLOB_KEY, BYTES, "largeBlobKey")
