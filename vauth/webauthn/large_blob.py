"""The platform's side of large-blob storage (CTAP 2.1 sections 6.10 and 12.3), behind the
WebAuthn largeBlob extension (L3 section 10.1.5): the array (``vauth.ctap.large_blob_array``)
read and written in fragments of maxFragmentLength (maxMsgSize - 64) bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from vauth.ctap.authenticator import Command
from vauth.ctap.large_blob_array import LargeBlobError, deserialize, find, replace, serialize
from vauth.ctap.messages.base import EmptyResponse
from vauth.ctap.messages.large_blobs import (
    MESSAGE_OVERHEAD,
    LargeBlobsRequest,
    LargeBlobsResponse,
    write_message,
)
from vauth.ctap.status import CtapError
from vauth.webauthn.ctap_messages import Channel, MalformedResponse

# pinUvAuthParam and pinUvAuthProtocol for one fragment's message, or None when unprotected.
Authorize = Callable[[bytes], tuple[bytes, int] | None]


class LargeBlobArray:
    """authenticatorLargeBlobs get and set, fragment by fragment."""

    def __init__(self, channel: Channel, max_msg_size: int) -> None:
        self._channel = channel
        self.max_fragment_length = max_msg_size - MESSAGE_OVERHEAD
        if self.max_fragment_length <= 0:
            raise LargeBlobError("maxMsgSize leaves no room for a fragment")

    async def _request(self, request: LargeBlobsRequest) -> LargeBlobsResponse | None:
        """The response to a get (None to a set, which answers with nothing)."""
        try:
            if request.get is None:
                await self._channel.exchange(Command.LARGE_BLOBS, request, EmptyResponse)
                return None
            return await self._channel.exchange(Command.LARGE_BLOBS, request, LargeBlobsResponse)
        except CtapError as exc:
            raise LargeBlobError(f"largeBlobs failed: {exc.status.name}") from None
        except MalformedResponse:
            raise LargeBlobError("malformed largeBlobs response") from None

    async def read(self) -> bytes:
        """The whole serialized array."""
        serialized = b""
        while True:
            response = await self._request(
                LargeBlobsRequest(offset=len(serialized), get=self.max_fragment_length)
            )
            if response is None or len(response.config) > self.max_fragment_length:
                raise LargeBlobError("malformed largeBlobs response")
            fragment = response.config
            serialized += fragment
            if len(fragment) < self.max_fragment_length:
                return serialized

    async def write(self, serialized: bytes, authorize: Authorize) -> None:
        """Replace the array: the first fragment carries the total length."""
        for offset in range(0, len(serialized), self.max_fragment_length):
            fragment = serialized[offset : offset + self.max_fragment_length]
            auth = authorize(write_message(offset, fragment))
            await self._request(
                LargeBlobsRequest(
                    offset=offset,
                    set=fragment,
                    length=len(serialized) if offset == 0 else None,
                    pin_uv_auth_param=auth[0] if auth is not None else None,
                    pin_uv_auth_protocol=auth[1] if auth is not None else None,
                )
            )


async def read_blob(array: LargeBlobArray, key: bytes) -> bytes | None:
    """The blob stored for the credential whose largeBlobKey is ``key``, if any."""
    try:
        return find(key, deserialize(await array.read()))
    except LargeBlobError:
        return None


async def write_blob(
    array: LargeBlobArray, key: bytes, blob: bytes, authorize: Authorize, limit: int | None
) -> bool:
    """Store ``blob`` for ``key``, replacing its earlier entries; whether it was written."""
    try:
        serialized = serialize(replace(key, deserialize(await array.read()), blob))
        if limit is not None and len(serialized) > limit:
            return False
        await array.write(serialized, authorize)
    except LargeBlobError:
        return False
    return True
