"""Journal segments and group-key envelopes, sealed and opened.

A segment is one device's batch of entries:

    b"VSEG\\x01" | header length (4 bytes, big-endian) | header (CBOR) | nonce (24) |
    ciphertext | Ed25519 signature (64) over everything before it

The header names the group, the device, the segment's sequence number, the epoch of the group
key, the SHA-256 of the device's previous segment file (the chain) and the largest clock value
inside. The entries (CBOR) are encrypted with XChaCha20-Poly1305 (PyNaCl) under the epoch's
group key, with everything before the ciphertext as associated data, so no header byte can be
changed either. A key envelope (``keys/<epoch>/<device>.vkey``) carries the group keys sealed
to one device's X25519 key (a PyNaCl sealed box), signed by the device that approved it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import cbor2
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey, VerifyKey

from vauth.sync.identity import sign, verified

MAGIC = b"VSEG\x01"
SNAPSHOT_MAGIC = b"VSNP\x01"  # a snapshot: the same envelope, never mistaken for a segment
NONCE = 24
SIGNATURE = 64
KEY_BYTES = 32


class Malformed(Exception):
    """The bytes are not a segment or envelope (the reason is a phrase for a sentence)."""


@dataclass(frozen=True)
class Header:
    group_id: str
    device_id: str
    seq: int
    epoch: int
    prev: bytes  # SHA-256 of the previous segment file; 32 zero bytes for the first
    hlc: int  # the largest clock value inside
    outbox: int  # the last outbox row of the writer it holds (for the writer's own recovery)


def file_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


GENESIS = bytes(32)


def seal_segment(
    header: Header,
    entries: list[dict[str, Any]],
    key: bytes,
    signing: SigningKey,
    magic: bytes = MAGIC,
) -> bytes:
    head = cbor2.dumps(
        {
            "g": header.group_id,
            "d": header.device_id,
            "s": header.seq,
            "e": header.epoch,
            "p": header.prev,
            "h": header.hlc,
            "o": header.outbox,
        }
    )
    nonce = os.urandom(NONCE)
    aad = magic + len(head).to_bytes(4, "big") + head + nonce
    ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(cbor2.dumps(entries), aad, nonce, key)
    body = aad + ciphertext
    return body + signing.sign(body).signature


def read_header(data: bytes, magic: bytes = MAGIC) -> Header:
    """The header, unverified (to learn who signed it); Malformed if it is not a segment."""
    if len(data) < len(MAGIC) + 4 + NONCE + SIGNATURE or not data.startswith(magic):
        raise Malformed("it is not a complete vauth segment (truncated or another file)")
    length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    start = len(MAGIC) + 4
    if start + length + NONCE + SIGNATURE > len(data):
        raise Malformed("it is not a complete vauth segment (truncated)")
    try:
        fields = cbor2.loads(data[start : start + length])
        return Header(
            str(fields["g"]),
            str(fields["d"]),
            int(fields["s"]),
            int(fields["e"]),
            bytes(fields["p"]),
            int(fields["h"]),
            int(fields["o"]),
        )
    except Exception as exc:  # any decoding failure of untrusted bytes is the same refusal
        raise Malformed("its header cannot be read (truncated or altered)") from exc


def check_signature(data: bytes, sign_key: bytes) -> None:
    try:
        VerifyKey(sign_key).verify(data[:-SIGNATURE], data[-SIGNATURE:])
    except BadSignatureError:
        raise Malformed(
            "its signature does not match its device's key: it was forged, altered or truncated"
        ) from None


def open_entries(data: bytes, key: bytes) -> list[dict[str, Any]]:
    """The entries of a segment whose signature was checked."""
    length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    nonce_at = len(MAGIC) + 4 + length
    aad = data[: nonce_at + NONCE]
    try:
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
            data[nonce_at + NONCE : -SIGNATURE], aad, aad[-NONCE:], key
        )
    except CryptoError:
        raise Malformed(
            "its content does not decrypt under the group key: it was altered"
        ) from None
    entries = cbor2.loads(plain)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise Malformed("its content is not a list of entries")
    return entries


def seal_keys(
    group_id: str,
    epoch: int,
    recipient_id: str,
    recipient_box_key: bytes,
    approver_id: str,
    signing: SigningKey,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """A key envelope: ``payload`` (the group keys, the members) sealed to one device."""
    sealed = SealedBox(PublicKey(recipient_box_key)).encrypt(cbor2.dumps(payload))
    return sign(
        signing,
        {
            "type": "vauth-sync-keys",
            "group": group_id,
            "epoch": epoch,
            "device": recipient_id,
            "approver": approver_id,
            "sealed": bytes(sealed).hex(),
        },
    )


def open_keys(
    envelope: dict[str, Any], approver_sign_key: bytes, box: PrivateKey
) -> dict[str, Any]:
    if not verified(envelope, approver_sign_key):
        raise Malformed("its signature does not match the device that is said to have approved it")
    try:
        payload = cbor2.loads(SealedBox(box).decrypt(bytes.fromhex(envelope["sealed"])))
    except (CryptoError, ValueError, KeyError, TypeError):
        raise Malformed("it cannot be opened with this device's key") from None
    if not isinstance(payload, dict):
        raise Malformed("its content is not a key envelope")
    return payload
