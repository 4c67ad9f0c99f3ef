"""The encrypted envelope around an export.

``{"format": "vauth-export", "version": 1, "content": "cxf" | "webdriver", "kdf": {argon2id
salt, opslimit, memlimit}, "nonce", "ciphertext"}`` (nonce and ciphertext base64url): the content
sealed with AES-256-GCM under Argon2id(passphrase). The associated data is the canonical JSON of
the header (format, version, content, kdf), so altering any of them fails decryption as surely
as altering the ciphertext does.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import nacl.exceptions
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vauth import base64url
from vauth.secret import Secret, wipe
from vauth.vault.errors import ExchangeError, ExportDecryptionError
from vauth.vault.kdf import KdfParams

FORMAT = "vauth-export"
VERSION = 1
CONTENTS = frozenset({"cxf", "webdriver"})
NONCE_LENGTH = 12
# What a file may ask of the key derivation: enough for any sane setting, not a memory bomb.
MAX_OPSLIMIT = 64
MAX_MEMLIMIT = 4 << 30


def is_container(value: Any) -> bool:
    return isinstance(value, dict) and value.get("format") == FORMAT


def _header(content: str, kdf: KdfParams) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "content": content, "kdf": kdf.to_json()}


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def seal(plaintext: bytes, content: str, passphrase: Secret, kdf: KdfParams) -> bytes:
    """The container holding ``plaintext`` (slow on purpose: Argon2id)."""
    header = _header(content, kdf)
    nonce = secrets.token_bytes(NONCE_LENGTH)
    key = _derive(kdf, passphrase)
    try:
        ciphertext = AESGCM(key).encrypt(nonce, plaintext, _associated_data(header))
    finally:
        wipe(key)
    sealed = {
        **header,
        "nonce": base64url.encode(nonce),
        "ciphertext": base64url.encode(ciphertext),
    }
    return json.dumps(sealed, indent=1).encode()


def open_sealed(container: dict[str, Any], passphrase: Secret) -> tuple[str, bytes]:
    """(content kind, plaintext), or ExportDecryptionError for a wrong passphrase or any
    alteration, ExchangeError for a header vauth cannot read."""
    version = container.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ExchangeError("the export's version is missing or damaged")
    if version > VERSION:
        raise ExchangeError(
            f"the export was written by a newer vauth (format version {version}); upgrade vauth"
        )
    content = container.get("content")
    if content not in CONTENTS:
        raise ExchangeError(f"the export holds unknown content {str(content)[:40]!r}")
    try:
        kdf = KdfParams.from_json(container["kdf"])
        nonce = base64url.decode(container["nonce"])
        ciphertext = base64url.decode(container["ciphertext"])
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ExchangeError(f"the export's header is damaged ({exc})") from None
    if len(nonce) != NONCE_LENGTH:
        raise ExportDecryptionError()
    if not 1 <= kdf.opslimit <= MAX_OPSLIMIT or not 1 <= kdf.memlimit <= MAX_MEMLIMIT:
        raise ExchangeError("the export asks for key-derivation costs vauth refuses")
    key = _derive(kdf, passphrase)
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _associated_data(_header(content, kdf)))
    except InvalidTag:
        raise ExportDecryptionError() from None
    finally:
        wipe(key)
    return str(content), plaintext


def _derive(kdf: KdfParams, passphrase: Secret) -> bytearray:
    try:
        return kdf.derive(passphrase)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise ExchangeError(f"the key-derivation parameters are unusable ({exc})") from None
