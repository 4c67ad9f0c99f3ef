"""authenticatorLargeBlobs (0x0C), CTAP 2.1 section 6.10.

The authenticator keeps one opaque serialized large-blob array, ``CBOR array ||
LEFT(SHA-256(CBOR array), 16)``, that platforms read and write in fragments of at most
maxFragmentLength (maxMsgSize - 64) bytes. A write is committed only once the whole declared
length has arrived and its trailing hash checks; until then the old array stays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.large_blob_array import EMPTY_ARRAY, HASH_LENGTH, SETTING, load
from vauth.ctap.messages.large_blobs import (
    MESSAGE_OVERHEAD,
    LargeBlobsRequest,
    LargeBlobsResponse,
    write_message,
)
from vauth.ctap.pin_state import LBW
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import CredentialStore
from vauth.ctap.state import LargeBlobWrite, PendingWrite
from vauth.ctap.status import CtapError, CtapStatus


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorLargeBlobs uses."""

    config: AuthenticatorConfig
    store: CredentialStore
    pin_uv: PinUvAuth
    large_blob_write: LargeBlobWrite


async def clear(store: CredentialStore, write: LargeBlobWrite) -> None:
    """authenticatorReset: back to the empty array, and no write in progress."""
    write.pending = None
    await store.set_setting(SETTING, EMPTY_ARRAY)


def max_fragment_length(config: AuthenticatorConfig) -> int:
    return config.max_msg_size - MESSAGE_OVERHEAD


async def handle(ctx: Context, request: LargeBlobsRequest) -> LargeBlobsResponse | None:
    """authenticatorLargeBlobs, CTAP 2.1 section 6.10 (the request parsed first)."""
    if request.get is not None:
        return await _get(ctx, request, request.get)
    assert request.set is not None
    await _set(ctx, request, request.set)
    return None


async def _get(ctx: Context, request: LargeBlobsRequest, get: int) -> LargeBlobsResponse:
    """Steps for get: a slice of the stored array."""
    if request.length is not None:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "length is not a get parameter")
    if get > max_fragment_length(ctx.config):
        raise CtapError(CtapStatus.INVALID_LENGTH, "get exceeds maxFragmentLength")
    array = await load(ctx.store)
    if request.offset > len(array):
        raise CtapError(CtapStatus.INVALID_PARAMETER, "offset is beyond the array")
    return LargeBlobsResponse(array[request.offset : request.offset + get])


async def _set(ctx: Context, request: LargeBlobsRequest, fragment: bytes) -> None:
    """Steps for set: one fragment of a new array, committed with the last one."""
    config = ctx.config
    if len(fragment) > max_fragment_length(ctx.config):
        raise CtapError(CtapStatus.INVALID_LENGTH, "set exceeds maxFragmentLength")
    pending = ctx.large_blob_write.pending
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
    await _check_permission(ctx, request, fragment)
    if request.offset + len(fragment) > expected_length:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "more data than the declared length")
    if request.offset == 0:
        pending = PendingWrite(expected_length, bytearray())
        ctx.large_blob_write.pending = pending
    assert pending is not None
    pending.buffer += fragment
    if len(pending.buffer) < pending.expected_length:
        return
    ctx.large_blob_write.pending = None
    array = bytes(pending.buffer)
    body, digest = array[:-HASH_LENGTH], array[-HASH_LENGTH:]
    if hashlib.sha256(body).digest()[:HASH_LENGTH] != digest:
        raise CtapError(CtapStatus.INTEGRITY_FAILURE, "the array's hash does not match")
    await ctx.store.set_setting(SETTING, array)


async def _check_permission(ctx: Context, request: LargeBlobsRequest, fragment: bytes) -> None:
    """A protected authenticator wants a pinUvAuthToken with the lbw permission over
    :func:`write_message`."""
    pin = await ctx.pin_uv.pin_state()
    if not ctx.pin_uv.is_protected(pin) and request.pin_uv_auth_param is None:
        return
    if request.pin_uv_auth_param is None:
        raise CtapError(CtapStatus.PUAT_REQUIRED, "largeBlobs set needs a pinUvAuthParam")
    ctx.pin_uv.verify_token(
        request.pin_uv_auth_protocol,
        write_message(request.offset, fragment),
        request.pin_uv_auth_param,
        LBW,
    )
