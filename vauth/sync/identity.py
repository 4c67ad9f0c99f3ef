"""A device's keys (Ed25519 to sign, X25519 to receive the group key), its ID, its
fingerprint, and the signed JSON documents devices leave in the folder.

Keys come from PyNaCl; the secret halves live in the vault (encrypted at rest with it) and
only the public halves, signed, are written to the folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.public import PrivateKey
from nacl.signing import SigningKey, VerifyKey

DEVICE_ID_BYTES = 10


def device_id_of(sign_key: bytes) -> str:
    """A device is named by a hash of its signing key, so the name cannot be claimed twice."""
    return hashlib.blake2b(sign_key, digest_size=DEVICE_ID_BYTES).hexdigest()


def fingerprint(group_id: str, founder_key: bytes, sign_key: bytes, box_key: bytes) -> str:
    """The short code both devices show when one joins: it binds the joining device's keys to
    the group it asked to join (12 digits, as a person compares them)."""
    digest = hashlib.sha256(
        b"vauth-sync-fingerprint\0" + group_id.encode() + founder_key + sign_key + box_key
    ).digest()
    digits = f"{int.from_bytes(digest[:8], 'big') % 10**12:012d}"
    return " ".join(digits[i : i + 3] for i in range(0, 12, 3))


@dataclass(frozen=True)
class Identity:
    device_id: str
    name: str
    signing: SigningKey
    box: PrivateKey

    @classmethod
    def new(cls, name: str) -> Identity:
        signing = SigningKey.generate()
        return cls(device_id_of(bytes(signing.verify_key)), name, signing, PrivateKey.generate())

    @property
    def sign_key(self) -> bytes:
        return bytes(self.signing.verify_key)

    @property
    def box_key(self) -> bytes:
        return bytes(self.box.public_key)

    def document(self, group_id: str) -> dict[str, Any]:
        """The device's public identity (device.json, or a join request), signed by itself."""
        return sign(
            self.signing,
            {
                "type": "vauth-sync-device",
                "group": group_id,
                "device": self.device_id,
                "name": self.name,
                "sign_key": self.sign_key.hex(),
                "box_key": self.box_key.hex(),
            },
        )

    def secrets(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "name": self.name,
            "sign_seed": bytes(self.signing),
            "box_secret": bytes(self.box),
        }

    @classmethod
    def from_secrets(cls, stored: dict[str, Any]) -> Identity:
        return cls(
            stored["device_id"],
            stored["name"],
            SigningKey(stored["sign_seed"]),
            PrivateKey(stored["box_secret"]),
        )


def canonical(document: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(signing: SigningKey, document: dict[str, Any]) -> dict[str, Any]:
    signature = signing.sign(canonical(document)).signature
    return {**document, "signature": signature.hex()}


def verified(document: dict[str, Any], sign_key: bytes) -> bool:
    try:
        VerifyKey(sign_key).verify(canonical(document), bytes.fromhex(document["signature"]))
    except (BadSignatureError, KeyError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class DeviceDoc:
    """A device's public identity as read from the folder, self-signature checked."""

    device_id: str
    name: str
    group_id: str
    sign_key: bytes
    box_key: bytes

    @classmethod
    def parse(cls, document: object) -> DeviceDoc | None:
        """None unless it is a well-formed device document signed by the key it names."""
        if not isinstance(document, dict) or document.get("type") != "vauth-sync-device":
            return None
        try:
            doc = cls(
                str(document["device"]),
                str(document["name"]),
                str(document["group"]),
                bytes.fromhex(document["sign_key"]),
                bytes.fromhex(document["box_key"]),
            )
        except (KeyError, ValueError, TypeError, AttributeError):
            return None
        if device_id_of(doc.sign_key) != doc.device_id or not verified(document, doc.sign_key):
            return None
        return doc
