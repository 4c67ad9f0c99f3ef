"""The FIDO Credential Exchange Format 1.0 (CXF, proposed standard): passkeys only.

vauth writes one account holding every item: a vault belongs to one person, and CXF's account
is the exporter's user, not the RP's. Each discoverable credential is one item (``id`` the
first 16 bytes of SHA-256(credential ID), so a re-export names it the same; ``title`` the RP's
name, else its rpId) with one ``passkey`` credential. Timestamps are Unix seconds. CXF carries
no signature counter, so imported passkeys keep it at zero (policy ``zero``) and are backup
eligible and backed up, as a passkey held by two providers is. The large blob travels
deflated (raw DEFLATE, as the CTAP large-blob array holds it) with its uncompressed size.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from collections.abc import Sequence
from typing import Any

from vauth.ctap.config import MAX_CRED_BLOB_LENGTH
from vauth.ctap.credential import SignCountPolicy
from vauth.ctap.extensions.hmac_secret import CRED_RANDOM_LENGTH
from vauth.vault import portable
from vauth.vault.errors import ExchangeError
from vauth.vault.portable import EntryError, Portable
from vauth.webauthn import base64url

VERSION_MAJOR, VERSION_MINOR = 1, 0
EXPORTER_RP_ID = "vauth.invalid"  # vauth has no website; a reserved name (RFC 2606) says so
EXPORTER_DISPLAY_NAME = "vauth"
HMAC_ALGORITHM = "hmac-sha256"
MAX_LARGE_BLOB_SIZE = 1 << 20  # uncompressed; the authenticator's array is far smaller
LARGE_BLOB_KEY_LENGTH = 32

# One passkey as found in a document: the item around it and the credential itself.
RawEntry = tuple[Any, Any]


# -- writing ------------------------------------------------------------------------------------


def document(
    passkeys: Sequence[Portable], timestamp: int, exporter_name: str | None = None
) -> dict[str, Any]:
    """The CXF header with one account holding one item per passkey; ``exporter_name``: the
    name the user gave this authenticator, if any."""
    return {
        "version": {"major": VERSION_MAJOR, "minor": VERSION_MINOR},
        "exporterRpId": EXPORTER_RP_ID,
        "exporterDisplayName": exporter_name or EXPORTER_DISPLAY_NAME,
        "timestamp": timestamp,
        "accounts": [
            {
                "id": base64url.encode(secrets.token_bytes(16)),
                "username": "",
                "email": "",
                "collections": [],
                "items": [_item(passkey) for passkey in passkeys],
            }
        ],
    }


def _item(passkey: Portable) -> dict[str, Any]:
    credential = passkey.credential
    assert credential.user_handle is not None
    body: dict[str, Any] = {
        "type": "passkey",
        "credentialId": base64url.encode(credential.credential_id),
        "rpId": credential.rp_id,
        "username": credential.user_name or "",
        "userDisplayName": credential.user_display_name or "",
        "userHandle": base64url.encode(credential.user_handle),
        "key": base64url.encode(credential.private_key_der()),
    }
    extensions = _extensions(passkey)
    if extensions:
        body["fido2Extensions"] = extensions
    return {
        "id": base64url.encode(hashlib.sha256(credential.credential_id).digest()[:16]),
        "title": credential.rp_name or credential.rp_id,
        "creationAt": credential.created // 1000,
        "modifiedAt": max(credential.created, credential.last_used or 0) // 1000,
        "credentials": [body],
    }


def _extensions(passkey: Portable) -> dict[str, Any]:
    credential = passkey.credential
    extensions: dict[str, Any] = {}
    if credential.cred_random_with_uv is not None and credential.cred_random_without_uv is not None:
        extensions["hmacCredentials"] = {
            "algorithm": HMAC_ALGORITHM,
            "credWithUV": base64url.encode(credential.cred_random_with_uv),
            "credWithoutUV": base64url.encode(credential.cred_random_without_uv),
        }
    if credential.cred_blob is not None:
        extensions["credBlob"] = base64url.encode(credential.cred_blob)
    if passkey.large_blob is not None:
        extensions["largeBlob"] = {
            "uncompressedSize": len(passkey.large_blob),
            "data": base64url.encode(deflate(passkey.large_blob)),
        }
    return extensions


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


# -- reading ------------------------------------------------------------------------------------


def is_document(value: Any) -> bool:
    return isinstance(value, dict) and "accounts" in value and "version" in value


def raw_entries(value: Any) -> list[RawEntry]:
    """Every (item, credential) pair of every account, after checking the header; an item
    without a credentials list is one (unusable) entry."""
    if not is_document(value):
        raise ExchangeError("not a CXF document (no version and accounts)")
    version = value["version"]
    major = version.get("major") if isinstance(version, dict) else None
    if major != VERSION_MAJOR:
        raise ExchangeError(f"CXF version {major!r} is not supported (vauth reads 1.x)")
    accounts = value["accounts"]
    if not isinstance(accounts, list):
        raise ExchangeError("CXF accounts is not a list")
    entries: list[RawEntry] = []
    for account in accounts:
        items = account.get("items") if isinstance(account, dict) else None
        if not isinstance(items, list):
            raise ExchangeError("a CXF account has no list of items")
        for item in items:
            credentials = item.get("credentials") if isinstance(item, dict) else None
            if isinstance(credentials, list) and credentials:
                entries.extend((item, credential) for credential in credentials)
            else:
                entries.append((item, None))
    return entries


def parse(entry: RawEntry, now_ms: int) -> Portable:
    """One passkey, or EntryError saying why it cannot be imported."""
    item, body = entry
    if not isinstance(item, dict):
        raise EntryError("the item is not an object")
    if not isinstance(body, dict):
        raise EntryError("the item has no credential")
    if body.get("type") != "passkey":
        raise EntryError(f"not a passkey (credential type {str(body.get('type'))[:40]!r})")
    raw_id = portable.credential_id(body.get("credentialId"))
    domain = portable.rp_id(body.get("rpId"))
    handle = portable.user_handle(body.get("userHandle"))
    key = portable.private_key(body.get("key"))
    title = portable.text_field(item.get("title"), "title")
    created = item.get("creationAt")
    if created is not None and (not isinstance(created, int) or isinstance(created, bool)):
        raise EntryError("creationAt is not a number of seconds")
    extensions = body.get("fido2Extensions") or {}
    if not isinstance(extensions, dict):
        raise EntryError("fido2Extensions is not an object")
    with_uv, without_uv = _hmac_credentials(extensions.get("hmacCredentials"))
    cred_blob = portable.optional_b64url(extensions, "credBlob")
    if cred_blob is not None and len(cred_blob) > MAX_CRED_BLOB_LENGTH:
        raise EntryError(f"credBlob is longer than {MAX_CRED_BLOB_LENGTH} bytes")
    credential = portable.new_credential(
        raw_id,
        domain,
        handle,
        key,
        discoverable=True,
        user_name=portable.text_field(body.get("username"), "username") or None,
        user_display_name=portable.text_field(body.get("userDisplayName"), "userDisplayName")
        or None,
        rp_name=title if title and title != domain else None,
        sign_count=0,
        sign_count_policy=SignCountPolicy.ZERO,
        backup_eligible=True,
        backup_state=True,
        created=now_ms if created is None else created * 1000,
        cred_random_with_uv=with_uv,
        cred_random_without_uv=without_uv,
        cred_blob=cred_blob,
        # A fresh largeBlobKey for every passkey: an RP that had large-blob support keeps it.
        large_blob_key=secrets.token_bytes(LARGE_BLOB_KEY_LENGTH),
    )
    return Portable(credential, _large_blob(extensions.get("largeBlob")))


def _hmac_credentials(value: Any) -> tuple[bytes | None, bytes | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise EntryError("hmacCredentials is not an object")
    if value.get("algorithm") != HMAC_ALGORITHM:
        raise EntryError(f"hmacCredentials algorithm {str(value.get('algorithm'))[:40]!r}")
    with_uv = portable.b64url_field(value.get("credWithUV"), "credWithUV")
    without_uv = portable.b64url_field(value.get("credWithoutUV"), "credWithoutUV")
    if len(with_uv) != CRED_RANDOM_LENGTH or len(without_uv) != CRED_RANDOM_LENGTH:
        raise EntryError(f"hmacCredentials must be {CRED_RANDOM_LENGTH} bytes each")
    return with_uv, without_uv


def _large_blob(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise EntryError("largeBlob is not an object")
    size = value.get("uncompressedSize")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_LARGE_BLOB_SIZE:
        raise EntryError(f"largeBlob uncompressedSize must be 0 to {MAX_LARGE_BLOB_SIZE}")
    return inflate(portable.b64url_field(value.get("data"), "largeBlob data"), size)


def inflate(data: bytes, size: int) -> bytes:
    """Raw DEFLATE that must give exactly ``size`` bytes (never inflating more than that)."""
    decompressor = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
    try:
        blob = decompressor.decompress(data, size + 1)
    except zlib.error:
        raise EntryError("largeBlob data is not DEFLATE-compressed") from None
    if len(blob) != size or not decompressor.eof or decompressor.unused_data:
        raise EntryError("largeBlob data does not inflate to its uncompressedSize")
    return blob
