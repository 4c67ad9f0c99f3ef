"""The serialized large-blob array and its entries (CTAP 2.1 section 6.10.3), shared by the
authenticator that stores it, the platform (``vauth.webauthn.large_blob``) that reads and writes
it, and the vault that exports and imports it.

The array is ``CBOR array || LEFT(SHA-256(CBOR array), 16)``. Each entry is one credential's blob,
deflated and sealed with AES-256-GCM under its largeBlobKey: ``{1: ciphertext, 2: nonce,
3: origSize}`` with associated data ``"blob" || uint64LE(origSize)``. A client finds a
credential's entry by trying its key on each one.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import zlib
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vauth.ctap import cbor
from vauth.ctap.settings import Setting
from vauth.ctap.status import CtapError

if TYPE_CHECKING:
    from vauth.ctap.ports import CredentialStore

SETTING = Setting.LARGE_BLOB_ARRAY  # the CredentialStore setting that holds the array
HASH_LENGTH = 16
# The initial serialized large-blob array: an empty CBOR array and its truncated hash.
EMPTY_ARRAY = b"\x80" + hashlib.sha256(b"\x80").digest()[:HASH_LENGTH]
NONCE_LENGTH = 12


class EntryKey:
    """A large-blob map's keys (CTAP 2.1 section 6.10.3); plain ints, so the codec's fast
    path encodes them."""

    CIPHERTEXT: Final = 0x01
    NONCE: Final = 0x02
    ORIG_SIZE: Final = 0x03


Entry = dict[int, Any]


class LargeBlobError(Exception):
    """Reading or writing the array failed (the ceremony itself still succeeds)."""


async def load(store: CredentialStore) -> bytes:
    """The stored serialized large-blob array (the empty one until the first write)."""
    return await store.get_setting(SETTING) or EMPTY_ARRAY


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
    nonce = secrets.token_bytes(NONCE_LENGTH) if nonce is None else nonce
    ciphertext = AESGCM(key).encrypt(nonce, _deflate(blob), _associated_data(len(blob)))
    return {EntryKey.CIPHERTEXT: ciphertext, EntryKey.NONCE: nonce, EntryKey.ORIG_SIZE: len(blob)}


def open_entry(key: bytes, entry: Any) -> bytes | None:
    """The blob in ``entry`` if it was sealed under ``key`` (and inflates to origSize)."""
    if not isinstance(entry, dict):
        return None
    ciphertext = entry.get(EntryKey.CIPHERTEXT)
    nonce, orig_size = entry.get(EntryKey.NONCE), entry.get(EntryKey.ORIG_SIZE)
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
