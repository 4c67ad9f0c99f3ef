"""authenticatorGetInfo (0x04) response, CTAP 2.1 section 6.4."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


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


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _canonical(options: dict[str, bool]) -> dict[str, bool]:
    """Text keys in CTAP2 canonical order: shorter first, then bytewise (section 8)."""
    return dict(sorted(options.items(), key=lambda item: (len(item[0].encode()), item[0].encode())))


@dataclass(frozen=True, slots=True)
class GetInfoResponse:
    """Every member vauth sends or reads; None (or empty) means absent."""

    versions: tuple[str, ...]
    aaguid: bytes
    extensions: tuple[str, ...] = ()
    options: dict[str, bool] = field(default_factory=dict)
    max_msg_size: int | None = None
    pin_uv_auth_protocols: tuple[int, ...] = ()
    max_credential_count_in_list: int | None = None
    max_credential_id_length: int | None = None
    transports: tuple[str, ...] = ()
    algorithms: tuple[int, ...] = ()  # public-key COSE algorithm identifiers
    max_serialized_large_blob_array: int | None = None
    force_pin_change: bool | None = None
    min_pin_length: int | None = None
    firmware_version: int | None = None
    max_cred_blob_length: int | None = None
    max_rp_ids_for_set_min_pin_length: int | None = None
    remaining_discoverable_credentials: int | None = None

    def to_cbor(self) -> dict[int, Any]:
        """The response map, keys (and the options' keys) in canonical order."""
        members: list[tuple[ResponseKey, Any]] = [
            (ResponseKey.VERSIONS, list(self.versions)),
            (ResponseKey.EXTENSIONS, list(self.extensions) or None),
            (ResponseKey.AAGUID, self.aaguid),
            (ResponseKey.OPTIONS, _canonical(self.options) if self.options else None),
            (ResponseKey.MAX_MSG_SIZE, self.max_msg_size),
            (ResponseKey.PIN_UV_AUTH_PROTOCOLS, list(self.pin_uv_auth_protocols) or None),
            (ResponseKey.MAX_CREDENTIAL_COUNT_IN_LIST, self.max_credential_count_in_list),
            (ResponseKey.MAX_CREDENTIAL_ID_LENGTH, self.max_credential_id_length),
            (ResponseKey.TRANSPORTS, list(self.transports) or None),
            (
                ResponseKey.ALGORITHMS,
                [{"alg": alg, "type": "public-key"} for alg in self.algorithms] or None,
            ),
            (ResponseKey.MAX_SERIALIZED_LARGE_BLOB_ARRAY, self.max_serialized_large_blob_array),
            (ResponseKey.FORCE_PIN_CHANGE, self.force_pin_change),
            (ResponseKey.MIN_PIN_LENGTH, self.min_pin_length),
            (ResponseKey.FIRMWARE_VERSION, self.firmware_version),
            (ResponseKey.MAX_CRED_BLOB_LENGTH, self.max_cred_blob_length),
            (ResponseKey.MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH, self.max_rp_ids_for_set_min_pin_length),
            (
                ResponseKey.REMAINING_DISCOVERABLE_CREDENTIALS,
                self.remaining_discoverable_credentials,
            ),
        ]
        return {key: value for key, value in members if value is not None}

    @classmethod
    def from_cbor(cls, info: dict[Any, Any]) -> GetInfoResponse:
        """The response as a client reads it from any authenticator: a member of the wrong
        type is treated as absent (the client then falls back to the spec's default)."""
        options = info.get(ResponseKey.OPTIONS)
        aaguid = info.get(ResponseKey.AAGUID)
        force_pin_change = info.get(ResponseKey.FORCE_PIN_CHANGE)
        algorithms = info.get(ResponseKey.ALGORITHMS)
        return cls(
            versions=_strings(info.get(ResponseKey.VERSIONS)),
            aaguid=aaguid if isinstance(aaguid, bytes) else b"",
            extensions=_strings(info.get(ResponseKey.EXTENSIONS)),
            options=(
                {k: v for k, v in options.items() if isinstance(k, str) and isinstance(v, bool)}
                if isinstance(options, dict)
                else {}
            ),
            max_msg_size=_int(info.get(ResponseKey.MAX_MSG_SIZE)),
            pin_uv_auth_protocols=tuple(
                v for v in info.get(ResponseKey.PIN_UV_AUTH_PROTOCOLS, ()) if _int(v) is not None
            )
            if isinstance(info.get(ResponseKey.PIN_UV_AUTH_PROTOCOLS), list)
            else (),
            max_credential_count_in_list=_int(info.get(ResponseKey.MAX_CREDENTIAL_COUNT_IN_LIST)),
            max_credential_id_length=_int(info.get(ResponseKey.MAX_CREDENTIAL_ID_LENGTH)),
            transports=_strings(info.get(ResponseKey.TRANSPORTS)),
            algorithms=tuple(
                a["alg"]
                for a in algorithms
                if isinstance(a, dict)
                and a.get("type") == "public-key"
                and _int(a.get("alg")) is not None
            )
            if isinstance(algorithms, list)
            else (),
            max_serialized_large_blob_array=_int(
                info.get(ResponseKey.MAX_SERIALIZED_LARGE_BLOB_ARRAY)
            ),
            force_pin_change=force_pin_change if isinstance(force_pin_change, bool) else None,
            min_pin_length=_int(info.get(ResponseKey.MIN_PIN_LENGTH)),
            firmware_version=_int(info.get(ResponseKey.FIRMWARE_VERSION)),
            max_cred_blob_length=_int(info.get(ResponseKey.MAX_CRED_BLOB_LENGTH)),
            max_rp_ids_for_set_min_pin_length=_int(
                info.get(ResponseKey.MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH)
            ),
            remaining_discoverable_credentials=_int(
                info.get(ResponseKey.REMAINING_DISCOVERABLE_CREDENTIALS)
            ),
        )
