"""The key file beside the vault: envelope encryption of the database key.

The SQLCipher database is encrypted under a random 256-bit data key. That key is stored only
wrapped (AES-256-GCM) under a key-encryption key derived from the passphrase with Argon2id, and
under one derived from the recovery key. Changing the passphrase rewraps the data key and
replaces this file atomically (write, fsync, rename); the database is untouched. The file holds
no rpId, user or credential: only parameters and ciphertext.

Keys (data key, key-encryption keys) live in ``bytearray``s that the callers wipe: the data key
returned by ``create`` and ``unwrap`` belongs to the caller.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vauth.secret import Secret, wipe
from vauth.vault.errors import VaultError, VaultVersionError, WrongPassphraseError
from vauth.vault.kdf import SALT_LENGTH, KdfParams, forget_aes_key

FORMAT = "vauth-vault-keys"
VERSION = 1
KEY_LENGTH = 32
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def keyfile_path(vault: Path) -> Path:
    return vault.with_name(vault.name + ".keys")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text, validate=True)


@dataclass(frozen=True, slots=True)
class KeyFile:
    vault_id: str
    kdf: KdfParams
    by_passphrase: bytes  # nonce || AES-GCM(KEK_passphrase, data key)
    by_recovery: bytes | None  # nonce || AES-GCM(KEK_recovery, data key)

    # -- creating and opening -------------------------------------------------------------

    @classmethod
    def create(
        cls, passphrase: Secret, kdf: KdfParams | None = None
    ) -> tuple[KeyFile, bytearray, str]:
        """A new key file: (key file, data key, recovery key to show the user once)."""
        fresh = secrets.token_bytes(KEY_LENGTH)
        data_key = bytearray(fresh)
        wipe(fresh)
        recovery = new_recovery_key()
        vault_id = secrets.token_hex(16)
        params = kdf or KdfParams.fresh()
        keyfile = cls(
            vault_id=vault_id,
            kdf=params,
            by_passphrase=_wrap(params.derive(passphrase), data_key, vault_id, "passphrase"),
            by_recovery=_wrap(_recovery_kek(recovery), data_key, vault_id, "recovery"),
        )
        return keyfile, data_key, recovery

    def unwrap(self, passphrase: Secret) -> bytearray:
        """The data key, or WrongPassphraseError."""
        return _unwrap(self.kdf.derive(passphrase), self.by_passphrase, self.vault_id, "passphrase")

    def unwrap_with_recovery_key(self, recovery: str) -> bytearray:
        if self.by_recovery is None:
            raise VaultError("this vault has no recovery key")
        try:
            kek = _recovery_kek(recovery)
        except ValueError:
            raise WrongPassphraseError("recovery key") from None
        return _unwrap(kek, self.by_recovery, self.vault_id, "recovery", "recovery key")

    def with_passphrase(
        self, data_key: bytearray, passphrase: Secret, kdf: KdfParams | None = None
    ) -> KeyFile:
        """The same data key wrapped under a new passphrase (and fresh Argon2id salt)."""
        params = kdf or replace(self.kdf, salt=secrets.token_bytes(SALT_LENGTH))
        wrapped = _wrap(params.derive(passphrase), data_key, self.vault_id, "passphrase")
        return replace(self, kdf=params, by_passphrase=wrapped)

    def with_new_recovery_key(self, data_key: bytearray) -> tuple[KeyFile, str]:
        """The same data key wrapped under a fresh recovery key, which replaces the old one:
        (key file, recovery key to show the user once)."""
        recovery = new_recovery_key()
        wrapped = _wrap(_recovery_kek(recovery), data_key, self.vault_id, "recovery")
        return replace(self, by_recovery=wrapped), recovery

    # -- the file ---------------------------------------------------------------------------

    def write(self, path: Path) -> None:
        """Replace ``path`` atomically: a crash leaves the old file or the new, never half."""
        data = json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "vault_id": self.vault_id,
                "kdf": self.kdf.to_json(),
                "by_passphrase": _b64(self.by_passphrase),
                "by_recovery": None if self.by_recovery is None else _b64(self.by_recovery),
            },
            indent=2,
        ).encode()
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        _fsync_directory(path.parent)

    @classmethod
    def read(cls, path: Path) -> KeyFile:
        try:
            raw: dict[str, Any] = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise VaultError(f"the vault's key file {path} is missing") from None
        except (OSError, ValueError) as exc:
            raise VaultError(f"the vault's key file {path} is unreadable: {exc}") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise VaultError(f"{path} is not a vauth key file")
        version = raw.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise VaultVersionError(
                f"{path} was written by a newer vauth (key file version {version}); "
                "upgrade vauth to open it"
            )
        try:
            by_recovery = raw.get("by_recovery")
            return cls(
                vault_id=str(raw["vault_id"]),
                kdf=KdfParams.from_json(raw["kdf"]),
                by_passphrase=_unb64(raw["by_passphrase"]),
                by_recovery=None if by_recovery is None else _unb64(by_recovery),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise VaultError(f"the vault's key file {path} is damaged: {exc}") from None


def _aad(vault_id: str, purpose: str) -> bytes:
    return f"{FORMAT}/{VERSION}/{vault_id}/{purpose}".encode()


def _wrap(kek: bytearray, data_key: bytearray, vault_id: str, purpose: str) -> bytes:
    """nonce || AES-GCM(kek, data key); ``kek`` is wiped."""
    nonce = secrets.token_bytes(12)
    try:
        return nonce + AESGCM(kek).encrypt(nonce, data_key, _aad(vault_id, purpose))
    finally:
        wipe(kek)
        forget_aes_key()


def _unwrap(
    kek: bytearray, wrapped: bytes, vault_id: str, purpose: str, what: str = "passphrase"
) -> bytearray:
    """The data key (the caller wipes it); ``kek`` is wiped."""
    data_key = bytearray(max(len(wrapped) - 28, 0))
    try:
        AESGCM(kek).decrypt_into(wrapped[:12], wrapped[12:], _aad(vault_id, purpose), data_key)
    except (InvalidTag, ValueError):
        wipe(data_key)
        raise WrongPassphraseError(what) from None
    finally:
        wipe(kek)
        forget_aes_key()
    return data_key


def new_recovery_key() -> str:
    """160 random bits as 32 Crockford base32 characters in groups of four."""
    value = secrets.randbits(160)
    chars = "".join(RECOVERY_ALPHABET[(value >> (5 * i)) & 31] for i in range(32))
    return "-".join(chars[i : i + 4] for i in range(0, 32, 4))


def _normalise_recovery_key(recovery: str) -> bytes:
    text = recovery.upper().replace("-", "").replace(" ", "")
    text = text.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(text) != 32 or any(c not in RECOVERY_ALPHABET for c in text):
        raise ValueError("not a recovery key")
    value = sum(RECOVERY_ALPHABET.index(c) << (5 * i) for i, c in enumerate(text))
    return value.to_bytes(20, "big")


def _recovery_kek(recovery: str) -> bytearray:
    # The recovery key has 160 bits of entropy: a fast KDF is enough.
    kek = bytearray(KEY_LENGTH)
    HKDF(hashes.SHA256(), KEY_LENGTH, salt=None, info=b"vauth recovery key").derive_into(
        _normalise_recovery_key(recovery), kek
    )
    return kek


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
