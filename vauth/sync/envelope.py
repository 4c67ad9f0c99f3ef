"""Journal segments and group-key envelopes, sealed and opened.

A segment is one device's batch of entries:

    b"VSEG\\x01" | header length (4 bytes, big-endian) | header (CBOR) | nonce (24) |
    ciphertext | Ed25519 signature (64) over everything before it

The header names the group, the device, the segment's sequence number, the epoch of the group
key (its number and the device that made it), the SHA-256 of the device's previous segment
file (the chain) and the largest clock value inside. The entries (CBOR) are encrypted with
XChaCha20-Poly1305 (PyNaCl) under the epoch's group key, with everything before the ciphertext
as associated data, so no header byte can be changed either. The signature is checked over the
bytes as read, without copying them (pyca/cryptography's Ed25519 takes a buffer).

A key envelope (``keys/<n>-<author>/<device>.vkey``) carries one membership change and the
group key it made, sealed to one device's X25519 key (a PyNaCl sealed box) and signed by the
device that made the change; a device joining gets every earlier key and the roster with it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey

from vauth.sync.identity import sign, verified

MAGIC = b"VSEG\x01"
SNAPSHOT_MAGIC = b"VSNP\x01"  # a snapshot: the same envelope, never mistaken for a segment
NONCE = 24
SIGNATURE = 64
KEY_BYTES = 32
ENVELOPE_VERSION = 2  # an envelope carries the membership change that made its key


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
    author: str = ""  # the device that made the epoch's key ("": a key from before that rule)


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
            **({"a": header.author} if header.author else {}),
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
            str(fields.get("a", "")),
        )
    except Exception as exc:  # any decoding failure of untrusted bytes is the same refusal
        raise Malformed("its header cannot be read (truncated or altered)") from exc


def check_signature(data: bytes, sign_key: bytes) -> None:
    view = memoryview(data)
    try:
        if len(view) < SIGNATURE:
            raise InvalidSignature
        public = Ed25519PublicKey.from_public_bytes(sign_key)
        public.verify(bytes(view[-SIGNATURE:]), view[:-SIGNATURE])
    except (InvalidSignature, ValueError):
        raise Malformed(
            "its signature does not match its device's key: it was forged, altered or truncated"
        ) from None
    finally:
        view.release()


def open_entries(data: bytes, key: bytes) -> list[dict[str, Any]]:
    """The entries of a segment whose signature was checked."""
    length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    nonce_at = len(MAGIC) + 4 + length
    aad = data[: nonce_at + NONCE]
    try:
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
            data[nonce_at + NONCE : -SIGNATURE], aad, aad[-NONCE:], key
        )
    except (CryptoError, ValueError, TypeError):
        raise Malformed(
            "its content does not decrypt under the group key: it was altered"
        ) from None
    try:
        entries = cbor2.loads(plain)
    except Exception:  # signed by a member, yet not CBOR: refused the same way
        raise Malformed("its content is not a list of entries") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise Malformed("its content is not a list of entries")
    return entries


def commitment(key: bytes) -> bytes:
    """What a membership change says of its key, so that every member it reaches can check
    that it was given the same key as the others (the key itself stays sealed)."""
    return hashlib.blake2b(key, digest_size=32, person=b"vauth-group-key").digest()


def credential_id_key(key: bytes) -> bytes:
    """The key that seals the IDs of synced non-discoverable passkeys made under a group key."""
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"vauth credential IDs").derive(key)


def seal_keys(
    group_id: str,
    epoch: str,
    recipient_id: str,
    recipient_box_key: bytes,
    author_id: str,
    signing: SigningKey,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """A key envelope: ``payload`` (the change, its key; for a device joining, every key and
    the roster) sealed to one device, signed by the device that made the change."""
    sealed = SealedBox(PublicKey(recipient_box_key)).encrypt(cbor2.dumps(payload))
    return sign(
        signing,
        {
            "type": "vauth-sync-keys",
            "version": ENVELOPE_VERSION,
            "group": group_id,
            "epoch": epoch,
            "device": recipient_id,
            "approver": author_id,
            "sealed": bytes(sealed).hex(),
        },
    )


def open_keys(envelope: dict[str, Any], author_sign_key: bytes, box: PrivateKey) -> dict[str, Any]:
    if not verified(envelope, author_sign_key):
        raise Malformed("its signature does not match the device that is said to have made it")
    try:
        payload = cbor2.loads(SealedBox(box).decrypt(bytes.fromhex(envelope["sealed"])))
    except Exception:  # any failure to open untrusted bytes is the same refusal
        raise Malformed("it cannot be opened with this device's key") from None
    if not isinstance(payload, dict):
        raise Malformed("its content is not a key envelope")
    return payload
