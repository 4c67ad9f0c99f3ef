"""Bitwarden's JSON export: its passkeys read, and vauth's passkeys written in its layout.

Written from Bitwarden's public source (github.com/bitwarden/clients), not copied:

- the file (libs/tools/export/vault-export/vault-export-core/src/services/): an unencrypted
  export is ``{"encrypted": false, "folders": [...], "items": [...]}``
  (individual-vault-export.service.ts, buildJsonExport); a password-protected one is
  ``{"encrypted": true, "passwordProtected": true, "salt", "kdfType", "kdfIterations",
  ["kdfMemory", "kdfParallelism"], "encKeyValidation_DO_NOT_EDIT", "data"}``, ``data`` being
  the unencrypted export sealed as one EncString (base-vault-export.service.ts,
  buildPasswordExport); the account-restricted one is ``{"encrypted": true,
  "encKeyValidation_DO_NOT_EDIT", "folders", "items"}`` with every value sealed under the
  Bitwarden account's own key, which never leaves Bitwarden (getEncryptedExport);
- an item (libs/common/src/models/export/): a login (``type`` 1, cipher.export.ts) whose
  ``login.fido2Credentials`` (login.export.ts) each hold, as strings, ``credentialId``,
  ``keyType`` "public-key", ``keyAlgorithm`` "ECDSA", ``keyCurve`` "P-256", ``keyValue`` (the
  PKCS#8 key in base64url), ``rpId``, ``userHandle`` (base64url), ``userName``, ``counter``
  ("0"), ``rpName``, ``userDisplayName``, ``discoverable`` ("true"/"false") and the date
  ``creationDate`` (fido2-credential.export.ts);
- the credential ID (libs/common/src/platform/services/fido2/credential-id-utils.ts,
  parseCredentialId): "b64." then base64url, or else a GUID standing for its 16 bytes;
- the key (libs/common/src/platform/services/key-generation.service.ts): PBKDF2-SHA256 over the
  UTF-8 salt string (kdfType 0), or Argon2id over SHA-256 of it with ``kdfMemory`` MiB (kdfType
  1), 32 bytes, stretched with HKDF-Expand-SHA256 into an encryption key (info "enc") and a MAC
  key (info "mac"); an EncString of type 2 (AesCbc256_HmacSha256_B64) is "2.IV|DATA|MAC" in
  base64: AES-256-CBC with PKCS#7 padding, then HMAC-SHA256 over IV || DATA;
- the bounds a file may ask of the key derivation
  (libs/importer/src/importers/bitwarden/password-protected-kdf-config.ts).

Bitwarden keeps only P-256 passkeys, and counts signatures; each of its passkeys is synced, so
an imported one is backup eligible and backed up.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from vauth import base64url
from vauth.ctap.cose import Algorithm
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.secret import Secret, utf8, wipe
from vauth.vault import portable
from vauth.vault.errors import ExchangeError, ExportDecryptionError
from vauth.vault.portable import EntryError, Portable

PBKDF2_SHA256, ARGON2ID = 0, 1
LOGIN = 1  # CipherType.Login
B64_PREFIX = "b64."
MAX_SIGN_COUNT = 0xFFFFFFFF
# password-protected-kdf-config.ts and kdf-config.ts: what Bitwarden itself writes and reads.
PBKDF2_ITERATIONS = (5_000, 2_000_000)
ARGON2_ITERATIONS, ARGON2_MEMORY_MIB, ARGON2_PARALLELISM = (2, 10), (16, 1024), (1, 16)

ACCOUNT_RESTRICTED = (
    "this is Bitwarden's account-restricted encrypted export, which only the Bitwarden account "
    'that made it can open. In Bitwarden, export again choosing the format ".json (Encrypted)" '
    'with the export type "Password protected" (or plain ".json"), and import that file'
)
NOT_OPENED = "wrong passphrase for this Bitwarden export: nothing was imported"

# One passkey as found in a file: the login item around it and its fido2Credentials entry.
RawEntry = tuple[Any, Any]


@dataclass(frozen=True, slots=True)
class Kdf:
    """The key derivation of a password-protected export, as its header names it."""

    kind: int = PBKDF2_SHA256
    iterations: int = 600_000  # Bitwarden's default for new accounts (PBKDF2KdfConfig)
    memory_mib: int | None = None
    parallelism: int | None = None

    def header(self) -> dict[str, int]:
        fields = {"kdfType": self.kind, "kdfIterations": self.iterations}
        if self.kind == ARGON2ID:
            assert self.memory_mib is not None and self.parallelism is not None
            fields |= {"kdfMemory": self.memory_mib, "kdfParallelism": self.parallelism}
        return fields

    @classmethod
    def from_header(cls, document: dict[str, Any]) -> Kdf:
        """The header's key derivation, refused outside the range Bitwarden itself writes (a
        file asking for 100 GiB of Argon2id memory is an attack, not an export)."""
        kind = document.get("kdfType")
        bounds = _ITERATIONS.get(kind, (0, -1)) if isinstance(kind, int) else (0, -1)
        iterations = _within(document.get("kdfIterations"), *bounds)
        memory = _within(document.get("kdfMemory"), *ARGON2_MEMORY_MIB)
        parallelism = _within(document.get("kdfParallelism"), *ARGON2_PARALLELISM)
        if kind == PBKDF2_SHA256 and iterations is not None:
            return cls(PBKDF2_SHA256, iterations)
        if kind == ARGON2ID and None not in (iterations, memory, parallelism):
            assert iterations is not None
            return cls(ARGON2ID, iterations, memory, parallelism)
        raise ExchangeError(
            "the Bitwarden export asks for a key derivation Bitwarden itself does not use "
            "(damaged, or not made by Bitwarden): nothing was imported"
        )

    def keys(self, passphrase: Secret, salt: str) -> tuple[bytes, bytes]:
        """(encryption key, MAC key): the derived key stretched as Bitwarden's stretchKey."""
        salt_bytes = salt.encode()
        with utf8(passphrase) as secret:
            if self.kind == PBKDF2_SHA256:
                derived = hashlib.pbkdf2_hmac("sha256", secret, salt_bytes, self.iterations, 32)
            else:
                assert self.memory_mib is not None and self.parallelism is not None
                derived = hash_secret_raw(
                    bytes(secret),
                    hashlib.sha256(salt_bytes).digest(),
                    time_cost=self.iterations,
                    memory_cost=self.memory_mib * 1024,  # KiB
                    parallelism=self.parallelism,
                    hash_len=32,
                    type=Type.ID,
                )
        try:
            return _expand(derived, b"enc"), _expand(derived, b"mac")
        finally:
            wipe(derived)


def _within(value: Any, low: int, high: int) -> int | None:
    """``value`` if it is a whole number from ``low`` to ``high``, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


_ITERATIONS = {PBKDF2_SHA256: PBKDF2_ITERATIONS, ARGON2ID: ARGON2_ITERATIONS}


def _expand(key: bytes, info: bytes) -> bytes:
    return HKDFExpand(hashes.SHA256(), 32, info).derive(key)


# -- EncString, type 2 -----------------------------------------------------------------------


class _Unsealed(ValueError):
    """An EncString that is malformed, or whose MAC does not match."""


def _seal(plaintext: bytes, keys: tuple[bytes, bytes]) -> str:
    iv = secrets.token_bytes(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(keys[0]), modes.CBC(iv)).encryptor()
    data = encryptor.update(padded) + encryptor.finalize()
    mac = hmac.new(keys[1], iv + data, hashlib.sha256).digest()
    return "2." + "|".join(base64.b64encode(part).decode() for part in (iv, data, mac))


def _unseal(value: Any, keys: tuple[bytes, bytes]) -> bytes:
    if not isinstance(value, str) or not value.startswith("2."):
        raise _Unsealed("not an EncString of type 2 (AES-256-CBC, HMAC-SHA256)")
    parts = value[2:].split("|")
    if len(parts) != 3:
        raise _Unsealed("an EncString has three parts")
    try:
        iv, data, mac = (base64.b64decode(part, validate=True) for part in parts)
    except (binascii.Error, ValueError):
        raise _Unsealed("an EncString part is not base64") from None
    expected = hmac.new(keys[1], iv + data, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac) or len(iv) != 16 or len(data) % 16:
        raise _Unsealed("the MAC does not match")
    decryptor = Cipher(algorithms.AES(keys[0]), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()
    except ValueError:
        raise _Unsealed("the padding is wrong") from None


# -- reading ----------------------------------------------------------------------------------


def is_document(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("encrypted"), bool)
        and ("items" in value or "passwordProtected" in value or "data" in value)
    )


def needs_passphrase(value: Any) -> bool:
    return is_document(value) and value.get("passwordProtected") is True


def opened(value: dict[str, Any], passphrase: Secret | None) -> dict[str, Any]:
    """The unencrypted export inside ``value``: ExportDecryptionError for a wrong passphrase,
    ExchangeError for the account-restricted kind or a damaged file."""
    if not value["encrypted"]:
        return value
    if value.get("passwordProtected") is not True:
        raise ExchangeError(ACCOUNT_RESTRICTED)
    salt, check, data = (
        value.get("salt"),
        value.get("encKeyValidation_DO_NOT_EDIT"),
        value.get("data"),
    )
    if not (isinstance(salt, str) and salt and isinstance(check, str) and isinstance(data, str)):
        raise ExchangeError("the Bitwarden export's header is damaged: nothing was imported")
    kdf = Kdf.from_header(value)
    if not passphrase:
        raise ExchangeError("this Bitwarden export is password protected: give its passphrase")
    keys = kdf.keys(passphrase, salt)
    try:
        _unseal(check, keys)  # Bitwarden's own test of the passphrase
    except _Unsealed:
        raise ExportDecryptionError(NOT_OPENED) from None
    try:
        plaintext = _unseal(data, keys)
    except _Unsealed as exc:
        raise ExchangeError(
            f"the Bitwarden export is damaged or truncated ({exc}): nothing was imported"
        ) from None
    try:
        inner = json.loads(plaintext)
    except (ValueError, RecursionError):
        raise ExchangeError(
            "the decrypted Bitwarden export is not JSON: nothing was imported"
        ) from None
    if not is_document(inner) or inner["encrypted"]:
        raise ExchangeError("the decrypted Bitwarden export is not an export: nothing was imported")
    return dict(inner)


def raw_entries(document: dict[str, Any]) -> list[RawEntry]:
    """Every (item, passkey) pair of the export's logins."""
    items = document.get("items")
    if not isinstance(items, list):
        raise ExchangeError("the Bitwarden export has no list of items: nothing was imported")
    entries: list[RawEntry] = []
    for item in items:
        login = item.get("login") if isinstance(item, dict) else None
        passkeys = login.get("fido2Credentials") if isinstance(login, dict) else None
        if isinstance(passkeys, list):
            entries.extend((item, passkey) for passkey in passkeys)
    return entries


def credential_id(value: Any) -> bytes:
    """Either of Bitwarden's forms: "b64." + base64url, or a GUID (its 16 bytes)."""
    if isinstance(value, str) and value.startswith(B64_PREFIX):
        return portable.credential_id(value[len(B64_PREFIX) :])
    if isinstance(value, str):
        try:
            return uuid.UUID(value).bytes
        except ValueError:
            pass
    raise EntryError('credentialId is neither a GUID nor "b64." and base64url')


def parse(entry: RawEntry, now_ms: int) -> Portable:
    item, body = entry
    if not isinstance(body, dict):
        raise EntryError("the passkey is not an object")
    if item.get("deletedDate"):
        raise EntryError("it is in Bitwarden's trash")
    for name, expected in (
        ("keyType", "public-key"),
        ("keyAlgorithm", "ECDSA"),
        ("keyCurve", "P-256"),
    ):
        if body.get(name, expected) != expected:
            raise EntryError(f"unsupported key type: {name} {str(body.get(name))[:40]!r}")
    raw_id = credential_id(body.get("credentialId"))
    domain = portable.rp_id(body.get("rpId"))
    key = portable.private_key(body.get("keyValue"), "keyValue")
    discoverable = _flag(body.get("discoverable", "true"), "discoverable")
    handle_text = body.get("userHandle")
    handle = portable.user_handle(handle_text) if handle_text or discoverable else None
    counter = _counter(body.get("counter", "0"))
    rp_name = portable.text_field(body.get("rpName"), "rpName")
    credential = portable.new_credential(
        raw_id,
        domain,
        handle,
        key,
        discoverable=discoverable,
        user_name=portable.text_field(body.get("userName"), "userName") or None,
        user_display_name=portable.text_field(body.get("userDisplayName"), "userDisplayName")
        or None,
        rp_name=rp_name if rp_name and rp_name != domain else None,
        sign_count=counter,
        # A counter that has moved goes on from where it is; one at 0 may stay there.
        sign_count_policy=SignCountPolicy.COUNTER if counter else SignCountPolicy.ZERO,
        backup_eligible=True,
        backup_state=True,
        created=_milliseconds(body.get("creationDate"), item.get("creationDate"), now_ms),
    )
    return Portable(credential)


def _flag(value: Any, name: str) -> bool:
    if value in (True, "true", "True"):
        return True
    if value in (False, "false", "False"):
        return False
    raise EntryError(f'{name} is not "true" or "false"')


def _counter(value: Any) -> int:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) > MAX_SIGN_COUNT:
        raise EntryError("counter is not a whole number that fits 32 bits")
    return int(text)


def _milliseconds(*candidates: Any) -> int:
    """The first ISO 8601 date given, in milliseconds; the last candidate is the fallback."""
    for value in candidates[:-1]:
        if isinstance(value, str) and len(value) <= 64:
            try:
                when = datetime.datetime.fromisoformat(value)
            except ValueError:
                raise EntryError("creationDate is not a date") from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.UTC)
            return int(when.timestamp() * 1000)
    return int(candidates[-1])


def names(entry: RawEntry) -> tuple[str | None, str | None]:
    item, body = entry
    body = body if isinstance(body, dict) else {}
    login = item.get("login") if isinstance(item, dict) else None
    site = body.get("rpId") or (item.get("name") if isinstance(item, dict) else None)
    account = body.get("userName") or (login.get("username") if isinstance(login, dict) else None)
    return _short(site), _short(account)


def claimed_id(entry: RawEntry) -> str | None:
    body = entry[1]
    value = body.get("credentialId") if isinstance(body, dict) else None
    return value[:1400] if isinstance(value, str) else None


def _short(value: Any) -> str | None:
    return value[:255] if isinstance(value, str) and value else None


# -- writing ----------------------------------------------------------------------------------


def carries(credential: Credential) -> bool:
    """Bitwarden holds P-256 (ES256) passkeys only."""
    return credential.algorithm == Algorithm.ES256


def document(credentials: Sequence[Credential]) -> dict[str, Any]:
    """An unencrypted export with one login item per passkey (those it carries)."""
    return {
        "encrypted": False,
        "folders": [],
        "items": [_item(credential) for credential in credentials if carries(credential)],
    }


def _item(credential: Credential) -> dict[str, Any]:
    created = _iso(credential.created)
    return {
        "passwordHistory": None,
        "revisionDate": _iso(max(credential.created, credential.last_used or 0)),
        "creationDate": created,
        "deletedDate": None,
        "id": str(uuid.uuid4()),
        "organizationId": None,
        "folderId": None,
        "type": LOGIN,
        "reprompt": 0,
        "name": credential.rp_name or credential.rp_id,
        "notes": None,
        "favorite": False,
        "login": {
            "fido2Credentials": [_passkey(credential, created)],
            "uris": [{"match": None, "uri": f"https://{credential.rp_id}"}],
            "username": credential.user_name or "",
            "password": None,
            "totp": None,
        },
        "collectionIds": None,
    }


def _passkey(credential: Credential, created: str) -> dict[str, Any]:
    counting = credential.sign_count_policy is SignCountPolicy.COUNTER
    return {
        "credentialId": B64_PREFIX + base64url.encode(credential.credential_id),
        "keyType": "public-key",
        "keyAlgorithm": "ECDSA",
        "keyCurve": "P-256",
        "keyValue": base64url.encode(credential.private_key_der()),
        "rpId": credential.rp_id,
        "userHandle": (
            None if credential.user_handle is None else base64url.encode(credential.user_handle)
        ),
        "userName": credential.user_name,
        "counter": str(credential.sign_count if counting else 0),
        "rpName": credential.rp_name or credential.rp_id,
        "userDisplayName": credential.user_display_name,
        "discoverable": "true" if credential.discoverable else "false",
        "creationDate": created,
    }


def _iso(ms: int) -> str:
    when = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write(
    credentials: Sequence[Credential], passphrase: Secret | None, kdf: Kdf | None = None
) -> bytes:
    """The export as Bitwarden writes it: password protected under ``passphrase`` (with
    ``kdf``, default PBKDF2-SHA256 600,000), or unencrypted when ``passphrase`` is None."""
    plain = json.dumps(document(credentials), indent=2).encode()
    if passphrase is None:
        return plain
    kdf = kdf or Kdf()
    salt = base64.b64encode(secrets.token_bytes(16)).decode()
    keys = kdf.keys(passphrase, salt)
    sealed = {
        "encrypted": True,
        "passwordProtected": True,
        "salt": salt,
        **kdf.header(),
        "encKeyValidation_DO_NOT_EDIT": _seal(str(uuid.uuid4()).encode(), keys),
        "data": _seal(plain, keys),
    }
    wipe(plain)
    return json.dumps(sealed, indent=2).encode()
