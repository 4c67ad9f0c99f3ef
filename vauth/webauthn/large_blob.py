"""The platform's side of large-blob storage (CTAP 2.1 sections 6.10 and 12.3), behind the
WebAuthn largeBlob extension (L3 section 10.1.5).

The authenticator keeps one serialized large-blob array, ``CBOR array || LEFT(SHA-256(array),
16)``, read and written in fragments of maxFragmentLength (maxMsgSize - 64) bytes. Each entry is
one credential's blob, deflated and sealed with AES-256-GCM under its largeBlobKey:
``{1: ciphertext, 2: nonce, 3: origSize}`` with associated data ``"blob" || uint64LE(origSize)``.
A client finds a credential's entry by trying its key on each one.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vauth.ctap import cbor
from vauth.ctap.authenticator import Command
from vauth.ctap.commands.large_blobs import HASH_LENGTH, MESSAGE_OVERHEAD, write_message
from vauth.ctap.status import CtapError
from vauth.webauthn.ctap_messages import Channel

NONCE_LENGTH = 12

Entry = dict[int, Any]
# pinUvAuthParam and pinUvAuthProtocol for one fragment's message, or None when unprotected.
Authorize = Callable[[bytes], tuple[bytes, int] | None]


class LargeBlobError(Exception):
    """Reading or writing the array failed (the ceremony itself still succeeds)."""


def _associated_data(orig_size: int) -> bytes:
    return b"blob" + struct.pack("<Q", orig_size)


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _inflate(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
    return decompressor.decompress(data) + decompressor.flush()


def seal(key: bytes, blob: bytes, nonce: bytes | None = None) -> Entry:
    """A large-blob map holding ``blob`` for the credential whose largeBlobKey is ``key``."""
    nonce = os.urandom(NONCE_LENGTH) if nonce is None else nonce
    ciphertext = AESGCM(key).encrypt(nonce, _deflate(blob), _associated_data(len(blob)))
    return {1: ciphertext, 2: nonce, 3: len(blob)}


def open_entry(key: bytes, entry: Any) -> bytes | None:
    """The blob in ``entry`` if it was sealed under ``key`` (and inflates to origSize)."""
    if not isinstance(entry, dict):
        return None
    ciphertext, nonce, orig_size = entry.get(1), entry.get(2), entry.get(3)
    if not (
        isinstance(ciphertext, bytes)
        and isinstance(nonce, bytes)
        and len(nonce) == NONCE_LENGTH
        and isinstance(orig_size, int)
        and not isinstance(orig_size, bool)
        and 0 <= orig_size < 1 << 64
    ):
        return None
    try:
        compressed = AESGCM(key).decrypt(nonce, ciphertext, _associated_data(orig_size))
        blob = _inflate(compressed)
    except (InvalidTag, zlib.error, ValueError):
        return None
    return blob if len(blob) == orig_size else None


def serialize(entries: list[Any]) -> bytes:
    """The serialized large-blob array: canonical CBOR and its truncated SHA-256."""
    body = cbor.encode(entries)
    return body + hashlib.sha256(body).digest()[:HASH_LENGTH]


def deserialize(serialized: bytes) -> list[Any]:
    """The entries of a serialized array. One whose hash does not check is the empty array
    (CTAP 2.1 section 6.10.3); an intact one that is not a CBOR array is an error, so that a
    write never wipes data it could not read."""
    body, digest = serialized[:-HASH_LENGTH], serialized[-HASH_LENGTH:]
    if len(serialized) <= HASH_LENGTH or hashlib.sha256(body).digest()[:HASH_LENGTH] != digest:
        return []
    try:
        entries = cbor.decode(body)
    except CtapError:
        raise LargeBlobError("the large-blob array is not canonical CBOR") from None
    if not isinstance(entries, list):
        raise LargeBlobError("the large-blob array is not an array")
    return entries


def find(key: bytes, entries: list[Any]) -> bytes | None:
    """The first entry's blob that ``key`` opens."""
    for entry in entries:
        blob = open_entry(key, entry)
        if blob is not None:
            return blob
    return None


def replace(key: bytes, entries: list[Any], blob: bytes) -> list[Any]:
    """``entries`` without those ``key`` opens, and with a new one holding ``blob``."""
    kept = [entry for entry in entries if open_entry(key, entry) is None]
    return [*kept, seal(key, blob)]


class LargeBlobArray:
    """authenticatorLargeBlobs get and set, fragment by fragment."""

    def __init__(self, channel: Channel, max_msg_size: int) -> None:
        self._channel = channel
        self.max_fragment_length = max_msg_size - MESSAGE_OVERHEAD
        if self.max_fragment_length <= 0:
            raise LargeBlobError("maxMsgSize leaves no room for a fragment")

    async def _request(self, params: dict[int, Any]) -> dict[Any, Any]:
        try:
            return await self._channel.request(Command.LARGE_BLOBS, params)
        except CtapError as exc:
            raise LargeBlobError(f"largeBlobs failed: {exc.status.name}") from None

    async def read(self) -> bytes:
        """The whole serialized array."""
        serialized = b""
        while True:
            response = await self._request({0x01: self.max_fragment_length, 0x03: len(serialized)})
            fragment = response.get(0x01)
            if not isinstance(fragment, bytes) or len(fragment) > self.max_fragment_length:
                raise LargeBlobError("malformed largeBlobs response")
            serialized += fragment
            if len(fragment) < self.max_fragment_length:
                return serialized

    async def write(self, serialized: bytes, authorize: Authorize) -> None:
        """Replace the array: the first fragment carries the total length."""
        for offset in range(0, len(serialized), self.max_fragment_length):
            fragment = serialized[offset : offset + self.max_fragment_length]
            auth = authorize(write_message(offset, fragment))
            params: dict[int, Any] = {0x02: fragment, 0x03: offset}
            if offset == 0:
                params[0x04] = len(serialized)
            if auth is not None:
                params[0x05], params[0x06] = auth
            await self._request(params)


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
