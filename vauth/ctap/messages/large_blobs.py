"""authenticatorLargeBlobs (0x0C): request and response keys, the request, the response and
the message a set's pinUvAuthParam authenticates, CTAP 2.1 section 6.10."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Self

from vauth.ctap.messages.base import BYTES, INT, Request, Response, maybe, member
from vauth.ctap.parse import optional
from vauth.ctap.status import CtapError, CtapStatus

MESSAGE_OVERHEAD = 64  # maxFragmentLength = maxMsgSize - 64


class Key(IntEnum):
    """Request parameters (section 6.10)."""

    GET = 0x01
    SET = 0x02
    OFFSET = 0x03
    LENGTH = 0x04
    PIN_UV_AUTH_PARAM = 0x05
    PIN_UV_AUTH_PROTOCOL = 0x06


class ResponseKey(IntEnum):
    """Response members (section 6.10)."""

    CONFIG = 0x01


def write_message(offset: int, fragment: bytes) -> bytes:
    """What a largeBlobs set's pinUvAuthParam authenticates (section 6.10.2):
    ``32 x 0xff || h'0c00' || uint32LE(offset) || SHA-256(set)``."""
    return (
        b"\xff" * 32
        + b"\x0c\x00"
        + struct.pack("<I", offset & 0xFFFFFFFF)
        + hashlib.sha256(fragment).digest()
    )


@dataclass(frozen=True, slots=True)
class LargeBlobsRequest(Request):
    offset: int = member(Key.OFFSET, INT, "offset")
    get: int | None = maybe(Key.GET, INT, "get")
    set: bytes | None = maybe(Key.SET, BYTES, "set")
    length: int | None = maybe(Key.LENGTH, INT, "length")
    pin_uv_auth_param: bytes | None = maybe(Key.PIN_UV_AUTH_PARAM, BYTES, "pinUvAuthParam")
    pin_uv_auth_protocol: int | None = maybe(Key.PIN_UV_AUTH_PROTOCOL, INT, "pinUvAuthProtocol")

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> Self:
        """Parse strictly: get, set, offset and length, then their rules (section 6.10: a
        missing offset, both or neither of get and set, or a negative value is
        INVALID_PARAMETER), then the pinUvAuth pair."""
        get = optional(params, Key.GET, int, "get")
        set_ = optional(params, Key.SET, bytes, "set")
        offset = optional(params, Key.OFFSET, int, "offset")
        length = optional(params, Key.LENGTH, int, "length")
        if offset is None:
            raise CtapError(CtapStatus.INVALID_PARAMETER, "offset is missing")
        if (get is None) == (set_ is None):
            raise CtapError(CtapStatus.INVALID_PARAMETER, "exactly one of get and set")
        if offset < 0 or (get is not None and get < 0) or (length is not None and length < 0):
            raise CtapError(CtapStatus.INVALID_PARAMETER, "negative get, offset or length")
        return cls(
            get=get,
            set=set_,
            offset=offset,
            length=length,
            pin_uv_auth_param=optional(params, Key.PIN_UV_AUTH_PARAM, bytes, "pinUvAuthParam"),
            pin_uv_auth_protocol=optional(
                params, Key.PIN_UV_AUTH_PROTOCOL, int, "pinUvAuthProtocol"
            ),
        )


@dataclass(frozen=True, slots=True)
class LargeBlobsResponse(Response):
    """A get's answer: a slice of the serialized large-blob array."""

    config: bytes = member(ResponseKey.CONFIG, BYTES, "config")
