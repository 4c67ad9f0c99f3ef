"""Argon2id key derivation (pynacl) with parameters recorded beside the vault, so they can be
raised later without breaking older vaults."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import nacl.pwhash

SALT_LENGTH = nacl.pwhash.argon2id.SALTBYTES  # 16
KEY_LENGTH = 32


@dataclass(frozen=True, slots=True)
class KdfParams:
    salt: bytes
    opslimit: int = nacl.pwhash.argon2id.OPSLIMIT_MODERATE  # 3 passes
    memlimit: int = nacl.pwhash.argon2id.MEMLIMIT_MODERATE  # 256 MiB

    @classmethod
    def fresh(cls) -> KdfParams:
        """The default cost with a new random salt."""
        return cls(secrets.token_bytes(SALT_LENGTH))

    def derive(self, passphrase: str) -> bytes:
        """The 32-byte key-encryption key for ``passphrase`` (slow on purpose)."""
        return bytes(
            nacl.pwhash.argon2id.kdf(
                KEY_LENGTH, passphrase.encode("utf-8"), self.salt, self.opslimit, self.memlimit
            )
        )

    def to_json(self) -> dict[str, object]:
        return {
            "algorithm": "argon2id",
            "salt": self.salt.hex(),
            "opslimit": self.opslimit,
            "memlimit": self.memlimit,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> KdfParams:
        if data.get("algorithm") != "argon2id":
            raise ValueError(f"unknown key derivation {data.get('algorithm')!r}")
        salt = bytes.fromhex(str(data["salt"]))
        opslimit, memlimit = data["opslimit"], data["memlimit"]
        if (
            len(salt) != SALT_LENGTH
            or not isinstance(opslimit, int)
            or not isinstance(memlimit, int)
        ):
            raise ValueError("malformed key derivation parameters")
        return cls(salt, opslimit, memlimit)
