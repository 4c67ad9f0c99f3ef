"""authenticatorGetInfo (0x04) response, CTAP 2.1 section 6.4."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Self

from vauth.ctap.messages.base import (
    BOOL,
    BYTES,
    INFO_OPTIONS,
    INT,
    INTS,
    LIST,
    PUBLIC_KEY,
    STRINGS,
    Codec,
    Response,
    maybe,
    member,
)


class ResponseKey(IntEnum):
    """Response members (section 6.4)."""

    VERSIONS = 0x01
    EXTENSIONS = 0x02
    AAGUID = 0x03
    OPTIONS = 0x04
    MAX_MSG_SIZE = 0x05
    PIN_UV_AUTH_PROTOCOLS = 0x06
    MAX_CREDENTIAL_COUNT_IN_LIST = 0x07
    MAX_CREDENTIAL_ID_LENGTH = 0x08
    TRANSPORTS = 0x09
    ALGORITHMS = 0x0A
    MAX_SERIALIZED_LARGE_BLOB_ARRAY = 0x0B
    FORCE_PIN_CHANGE = 0x0C
    MIN_PIN_LENGTH = 0x0D
    FIRMWARE_VERSION = 0x0E
    MAX_CRED_BLOB_LENGTH = 0x0F
    MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH = 0x10
    REMAINING_DISCOVERABLE_CREDENTIALS = 0x14


def _algorithms(algorithms: tuple[int, ...]) -> list[dict[str, Any]] | None:
    return [{"alg": alg, "type": PUBLIC_KEY} for alg in algorithms] or None


def _algorithms_read(value: Any) -> Any:
    if type(value) is not list:
        return ()
    return tuple(
        a["alg"]
        for a in value
        if type(a) is dict and a.get("type") == PUBLIC_KEY and type(a.get("alg")) is int
    )


# Public-key COSE algorithm identifiers, carried as PublicKeyCredentialParameters.
ALGORITHMS = Codec(_algorithms, _algorithms_read, LIST.parse)


@dataclass(frozen=True, slots=True)
class GetInfoResponse(Response):
    """Every member vauth sends or reads; None (or empty) means absent. Read back from any
    authenticator, a member of the wrong type is treated as absent (the client then falls back
    to the spec's default)."""

    versions: tuple[str, ...] = member(ResponseKey.VERSIONS, STRINGS, "versions", absent=())
    aaguid: bytes = member(ResponseKey.AAGUID, BYTES, "aaguid", absent=b"")
    extensions: tuple[str, ...] = member(ResponseKey.EXTENSIONS, STRINGS, "extensions", default=())
    options: dict[str, bool] = member(
        ResponseKey.OPTIONS, INFO_OPTIONS, "options", default_factory=dict
    )
    max_msg_size: int | None = maybe(ResponseKey.MAX_MSG_SIZE, INT, "maxMsgSize")
    pin_uv_auth_protocols: tuple[int, ...] = member(
        ResponseKey.PIN_UV_AUTH_PROTOCOLS, INTS, "pinUvAuthProtocols", default=()
    )
    max_credential_count_in_list: int | None = maybe(
        ResponseKey.MAX_CREDENTIAL_COUNT_IN_LIST, INT, "maxCredentialCountInList"
    )
    max_credential_id_length: int | None = maybe(
        ResponseKey.MAX_CREDENTIAL_ID_LENGTH, INT, "maxCredentialIdLength"
    )
    transports: tuple[str, ...] = member(ResponseKey.TRANSPORTS, STRINGS, "transports", default=())
    algorithms: tuple[int, ...] = member(
        ResponseKey.ALGORITHMS, ALGORITHMS, "algorithms", default=()
    )
    max_serialized_large_blob_array: int | None = maybe(
        ResponseKey.MAX_SERIALIZED_LARGE_BLOB_ARRAY, INT, "maxSerializedLargeBlobArray"
    )
    force_pin_change: bool | None = maybe(ResponseKey.FORCE_PIN_CHANGE, BOOL, "forcePINChange")
    min_pin_length: int | None = maybe(ResponseKey.MIN_PIN_LENGTH, INT, "minPINLength")
    firmware_version: int | None = maybe(ResponseKey.FIRMWARE_VERSION, INT, "firmwareVersion")
    max_cred_blob_length: int | None = maybe(
        ResponseKey.MAX_CRED_BLOB_LENGTH, INT, "maxCredBlobLength"
    )
    max_rp_ids_for_set_min_pin_length: int | None = maybe(
        ResponseKey.MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH, INT, "maxRPIDsForSetMinPINLength"
    )
    remaining_discoverable_credentials: int | None = maybe(
        ResponseKey.REMAINING_DISCOVERABLE_CREDENTIALS, INT, "remainingDiscoverableCredentials"
    )

    @classmethod
    def from_cbor(cls, body: dict[Any, Any]) -> Self:
        """Never malformed: a required member absent is read as empty."""
        return cls.read(body) or cls(versions=(), aaguid=b"")
