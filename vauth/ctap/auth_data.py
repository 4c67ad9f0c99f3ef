"""Authenticator data (WebAuthn L3 section 6.1) built and parsed."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntFlag
from typing import Any

from vauth.ctap import cbor


class Flags(IntFlag):
    UP = 0x01  # user present
    UV = 0x04  # user verified
    BE = 0x08  # backup eligible
    BS = 0x10  # backup state
    AT = 0x40  # attested credential data included
    ED = 0x80  # extension data included


# Plain ints of the same flags, for the hot path (IntFlag arithmetic costs microseconds).
UP, UV, BE, BS, AT, ED = (int(f) for f in Flags)
_HEAD = struct.Struct(">BI")  # flags, signCount


@dataclass(frozen=True, slots=True)
class AttestedCredentialData:
    aaguid: bytes
    credential_id: bytes
    credential_public_key: dict[int, Any]

    def to_bytes(self) -> bytes:
        return (
            self.aaguid
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + cbor.encode(self.credential_public_key)
        )


def build(
    rp_id_hash: bytes,
    flags: int,
    sign_count: int,
    attested: AttestedCredentialData | None = None,
    extensions: dict[str, Any] | None = None,
) -> bytes:
    """Serialise authenticator data; AT and ED follow from what is included."""
    if attested is not None:
        flags |= AT
    if extensions:
        flags |= ED
    data = rp_id_hash + _HEAD.pack(flags, sign_count & 0xFFFFFFFF)
    if attested is not None:
        data += attested.to_bytes()
    if extensions:
        data += cbor.encode(extensions)
    return data


@dataclass(frozen=True, slots=True)
class AuthenticatorData:
    """Parsed view of authenticator data bytes (used by the client layer and tests)."""

    raw: bytes

    @property
    def rp_id_hash(self) -> bytes:
        return self.raw[:32]

    @property
    def flags(self) -> Flags:
        return Flags(self.raw[32])

    @property
    def sign_count(self) -> int:
        return int(struct.unpack(">I", self.raw[33:37])[0])

    @property
    def credential_id(self) -> bytes | None:
        """The credential ID of the attested credential data (None without AT), read without
        decoding the public key: aaguid(16) || credentialIdLength(2) || credentialId."""
        if not self.raw[32] & AT:
            return None
        (length,) = struct.unpack_from(">H", self.raw, 37 + 16)
        return self.raw[37 + 18 : 37 + 18 + length]

    def attested_credential_data(self) -> tuple[AttestedCredentialData | None, dict[str, Any]]:
        """The attested credential data (if AT) and the extension outputs (if ED)."""
        flags = self.raw[32]  # an int: no Flags(...) on the hot path
        rest = self.raw[37:]
        attested = None
        if flags & AT:
            aaguid, (length,) = rest[:16], struct.unpack(">H", rest[16:18])
            credential_id = rest[18 : 18 + length]
            rest = rest[18 + length :]
            public_key, rest = _decode_prefix(rest)
            attested = AttestedCredentialData(aaguid, credential_id, public_key)
        extensions: dict[str, Any] = {}
        if flags & ED:
            extensions, rest = _decode_prefix(rest)
        if rest:
            raise ValueError("trailing bytes in authenticator data")
        return attested, extensions


def _decode_prefix(data: bytes) -> tuple[Any, bytes]:
    """Decode the first CBOR item of ``data`` and return it with the bytes after it."""
    import io

    import cbor2

    stream = io.BytesIO(data)
    value = cbor2.CBORDecoder(stream).decode()
    return value, data[stream.tell() :]
