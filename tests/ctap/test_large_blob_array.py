"""The serialized large-blob array and its entries (CTAP 2.1 section 6.10.3), the format the
authenticator stores, the platform reads and writes, and the vault exports."""

from __future__ import annotations

import hashlib
import os
import zlib

from fido2.ctap2 import blob as fido2_blob

from vauth.ctap import cbor, large_blob_array


class TestLargeBlobArray:
    """The array encoding against python-fido2's fido2/ctap2/blob.py."""

    def test_entries_open_both_ways(self) -> None:
        key = os.urandom(32)
        ours = large_blob_array.seal(key, b"hello " * 10)
        compressed, size = fido2_blob._lb_unpack(key, ours)
        assert fido2_blob._decompress(compressed) == b"hello " * 10 and size == 60
        assert (
            large_blob_array.open_entry(key, fido2_blob._lb_pack(key, b"peer blob")) == b"peer blob"
        )

    def test_entry_format(self) -> None:
        key, nonce = bytes(range(32)), bytes(12)
        entry = large_blob_array.seal(key, b"abc", nonce)
        assert entry[2] == nonce and entry[3] == 3
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        deflated = AESGCM(key).decrypt(nonce, entry[1], b"blob" + (3).to_bytes(8, "little"))
        assert zlib.decompress(deflated, wbits=-15) == b"abc"

    def test_wrong_key_or_tampering_does_not_open(self) -> None:
        key = os.urandom(32)
        entry = large_blob_array.seal(key, b"secret")
        assert large_blob_array.open_entry(os.urandom(32), entry) is None
        assert (
            large_blob_array.open_entry(key, {**entry, 3: 7}) is None
        )  # origSize is authenticated
        assert large_blob_array.open_entry(key, {**entry, 2: b"short"}) is None
        assert large_blob_array.open_entry(key, "not a map") is None

    def test_serialization_matches_the_peer(self) -> None:
        key = os.urandom(32)
        entries = [fido2_blob._lb_pack(key, b"a"), large_blob_array.seal(key, b"b")]
        body = cbor.encode(entries)
        assert large_blob_array.serialize(entries) == body + hashlib.sha256(body).digest()[:16]
        assert large_blob_array.serialize([]) == bytes.fromhex(
            "80 76be8b528d0075f7aae98d6fa57a6d3c"
        )
        assert large_blob_array.deserialize(large_blob_array.serialize(entries)) == entries

    def test_a_bad_hash_is_the_empty_array(self) -> None:
        serialized = bytearray(
            large_blob_array.serialize([large_blob_array.seal(os.urandom(32), b"x")])
        )
        serialized[-1] ^= 1
        assert large_blob_array.deserialize(bytes(serialized)) == []

    def test_replace_keeps_other_credentials(self) -> None:
        mine, theirs = os.urandom(32), os.urandom(32)
        entries = [large_blob_array.seal(mine, b"old"), large_blob_array.seal(theirs, b"kept")]
        replaced = large_blob_array.replace(mine, entries, b"new")
        assert len(replaced) == 2
        assert large_blob_array.find(mine, replaced) == b"new"
        assert large_blob_array.find(theirs, replaced) == b"kept"
