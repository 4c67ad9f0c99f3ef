"""authenticatorLargeBlobs (0x0C), CTAP 2.1 section 6.10.

The authenticator keeps one opaque serialized large-blob array, ``CBOR array ||
LEFT(SHA-256(CBOR array), 16)``, that platforms read and write in fragments of at most
maxFragmentLength (maxMsgSize - 64) bytes. A write is committed only once the whole declared
length has arrived and its trailing hash checks; until then the old array stays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vauth.ctap.large_blob_array import EMPTY_ARRAY, HASH_LENGTH, SETTING, load
from vauth.ctap.messages.large_blobs import (
    MESSAGE_OVERHEAD,
    LargeBlobsRequest,
    LargeBlobsResponse,
    write_message,
)
from vauth.ctap.pin_state import LBW
from vauth.ctap.pin_uv import is_protected, verify_token
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator


@dataclass(slots=True)
class PendingWrite:
    """A write in progress: what has arrived and how much is expected. It is volatile
    (``Authenticator.large_blob_write``): other commands leave it alone (the specification ties
    it to nothing else); a power cycle or a reset loses it."""

    expected_length: int
    buffer: bytearray

    @property
    def expected_next_offset(self) -> int:
        return len(self.buffer)


async def clear(authenticator: Authenticator) -> None:
    """authenticatorReset: back to the empty array, and no write in progress."""
    authenticator.large_blob_write = None
    await authenticator.env.store.set_setting(SETTING, EMPTY_ARRAY)


def max_fragment_length(authenticator: Authenticator) -> int:
    return authenticator.config.max_msg_size - MESSAGE_OVERHEAD


async def handle(
    authenticator: Authenticator, request: LargeBlobsRequest
) -> LargeBlobsResponse | None:
    """authenticatorLargeBlobs, CTAP 2.1 section 6.10 (the request parsed first)."""
    if request.get is not None:
        return await _get(authenticator, request, request.get)
    assert request.set is not None
    await _set(authenticator, request, request.set)
    return None


async def _get(
    authenticator: Authenticator, request: LargeBlobsRequest, get: int
) -> LargeBlobsResponse:
    """Steps for get: a slice of the stored array."""
    if request.length is not None:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "length is not a get parameter")
    if get > max_fragment_length(authenticator):
        raise CtapError(CtapStatus.INVALID_LENGTH, "get exceeds maxFragmentLength")
    array = await load(authenticator.env.store)
    if request.offset > len(array):
        raise CtapError(CtapStatus.INVALID_PARAMETER, "offset is beyond the array")
    return LargeBlobsResponse(array[request.offset : request.offset + get])


async def _set(authenticator: Authenticator, request: LargeBlobsRequest, fragment: bytes) -> None:
    """Steps for set: one fragment of a new array, committed with the last one."""
    config = authenticator.config
    if len(fragment) > max_fragment_length(authenticator):
        raise CtapError(CtapStatus.INVALID_LENGTH, "set exceeds maxFragmentLength")
    pending = authenticator.large_blob_write
    if request.offset == 0:
        if request.length is None:
            raise CtapError(CtapStatus.INVALID_PARAMETER, "the first fragment needs length")
        if request.length > config.max_serialized_large_blob_array:
            raise CtapError(CtapStatus.LARGE_BLOB_STORAGE_FULL)
        if request.length < HASH_LENGTH + 1:
            raise CtapError(CtapStatus.INVALID_PARAMETER, "length is below 17")
        expected_length, expected_next_offset = request.length, 0
    else:
        if request.length is not None:
            raise CtapError(CtapStatus.INVALID_PARAMETER, "length only with offset 0")
        if pending is None:
            raise CtapError(CtapStatus.INVALID_SEQ, "no write in progress")
        expected_length, expected_next_offset = (
            pending.expected_length,
            pending.expected_next_offset,
        )
    if request.offset != expected_next_offset:
        raise CtapError(CtapStatus.INVALID_SEQ, "unexpected offset")
    await _check_permission(authenticator, request, fragment)
    if request.offset + len(fragment) > expected_length:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "more data than the declared length")
    if request.offset == 0:
        pending = PendingWrite(expected_length, bytearray())
        authenticator.large_blob_write = pending
    assert pending is not None
    pending.buffer += fragment
    if len(pending.buffer) < pending.expected_length:
        return
    authenticator.large_blob_write = None
    array = bytes(pending.buffer)
    body, digest = array[:-HASH_LENGTH], array[-HASH_LENGTH:]
    if hashlib.sha256(body).digest()[:HASH_LENGTH] != digest:
        raise CtapError(CtapStatus.INTEGRITY_FAILURE, "the array's hash does not match")
    await authenticator.env.store.set_setting(SETTING, array)


async def _check_permission(
    authenticator: Authenticator, request: LargeBlobsRequest, fragment: bytes
) -> None:
    """A protected authenticator wants a pinUvAuthToken with the lbw permission over
    :func:`write_message`."""
    pin = await authenticator.pin_state()
    if not is_protected(authenticator, pin) and request.pin_uv_auth_param is None:
        return
    if request.pin_uv_auth_param is None:
        raise CtapError(CtapStatus.PUAT_REQUIRED, "largeBlobs set needs a pinUvAuthParam")
    verify_token(
        authenticator,
        request.pin_uv_auth_protocol,
        write_message(request.offset, fragment),
        request.pin_uv_auth_param,
        LBW,
    )
