"""The FIDO Credential Exchange Format 1.0 (CXF, proposed standard): passkeys only.

vauth writes one account holding every item: a vault belongs to one person, and CXF's account
is the exporter's user, not the RP's. Each discoverable credential is one item (``id`` the
first 16 bytes of SHA-256(credential ID), so a re-export names it the same; ``title`` the RP's
name, else its rpId) with one ``passkey`` credential. Timestamps are Unix seconds. CXF carries
no signature counter, so imported passkeys keep it at zero (policy ``zero``) and are backup
eligible and backed up, as a passkey held by two providers is. The large blob travels
deflated (raw DEFLATE, as the CTAP large-blob array holds it) with its uncompressed size.

What CXF has no field for travels in CXF's room for vendors, so that vauth to vauth loses
nothing (other importers ignore it):

- each item's ``extensions`` hold one ``dev.vauth.credential`` extension (``VENDOR``): every
  field of the credential that the passkey itself does not carry exactly: nickname, rpName,
  userName and userDisplayName as stored (null included), created and lastUsed in
  milliseconds, signCount and its signCountPolicy, backupEligible, backupState, credProtect,
  discoverable, the largeBlobKey (so a site's large blob stays readable under the same key)
  and WebDriver's per-credential largeBlob;
- the account's ``extensions`` hold one ``dev.vauth.non-discoverable`` extension
  (``NON_DISCOVERABLE``) whose ``items`` are items as above, for the credentials that sites
  must name: another provider would offer them as ordinary passkeys, so they stay where only
  vauth looks. Their key travels whole (the importing vault cannot open this one's sealed IDs)
  and their userHandle may be absent.

Passkeys in the trash are not exported.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from collections.abc import Sequence
from typing import Any

from vauth import base64url
from vauth.ctap.config import MAX_CRED_BLOB_LENGTH
from vauth.ctap.credential import CRED_RANDOM_LENGTH, Credential, SignCountPolicy
from vauth.vault import portable
from vauth.vault.errors import ExchangeError
from vauth.vault.portable import EntryError, Portable

VERSION_MAJOR, VERSION_MINOR = 1, 0
EXPORTER_RP_ID = "vauth.invalid"  # vauth has no website; a reserved name (RFC 2606) says so
EXPORTER_DISPLAY_NAME = "vauth"
MAX_NAME_LENGTH = 64  # an authenticator's name, as `vauth name` takes it
HMAC_ALGORITHM = "hmac-sha256"
MAX_LARGE_BLOB_SIZE = 1 << 20  # uncompressed; the authenticator's array is far smaller
LARGE_BLOB_KEY_LENGTH = 32

VENDOR = "dev.vauth.credential"
NON_DISCOVERABLE = "dev.vauth.non-discoverable"
VENDOR_VERSION = 1

# One passkey as found in a document: the item around it and the credential itself.
RawEntry = tuple[Any, Any]


# -- writing ------------------------------------------------------------------------------------


def document(
    passkeys: Sequence[Portable], timestamp: int, exporter_name: str | None = None
) -> dict[str, Any]:
    """The CXF header with one account holding one item per discoverable passkey, and the
    others in vauth's own extension of the account; ``exporter_name``: the name the user gave
    this authenticator, if any."""
    listed = [p for p in passkeys if p.credential.discoverable and p.credential.user_handle]
    hidden = [p for p in passkeys if p not in listed]
    account: dict[str, Any] = {
        "id": base64url.encode(secrets.token_bytes(16)),
        "username": "",
        "email": "",
        "collections": [],
        "items": [_item(passkey) for passkey in listed],
    }
    if hidden:
        account["extensions"] = [
            {"name": NON_DISCOVERABLE, "items": [_item(passkey) for passkey in hidden]}
        ]
    return {
        "version": {"major": VERSION_MAJOR, "minor": VERSION_MINOR},
        "exporterRpId": EXPORTER_RP_ID,
        "exporterDisplayName": exporter_name or EXPORTER_DISPLAY_NAME,
        "timestamp": timestamp,
        "accounts": [account],
    }


def _item(passkey: Portable) -> dict[str, Any]:
    credential = passkey.credential
    body: dict[str, Any] = {
        "type": "passkey",
        "credentialId": base64url.encode(credential.credential_id),
        "rpId": credential.rp_id,
        "username": credential.user_name or "",
        "userDisplayName": credential.user_display_name or "",
        "key": base64url.encode(credential.private_key_der()),
    }
    if credential.user_handle is not None:
        body["userHandle"] = base64url.encode(credential.user_handle)
    extensions = _extensions(passkey)
    if extensions:
        body["fido2Extensions"] = extensions
    return {
        "id": base64url.encode(hashlib.sha256(credential.credential_id).digest()[:16]),
        "title": credential.rp_name or credential.rp_id,
        "creationAt": credential.created // 1000,
        "modifiedAt": max(credential.created, credential.last_used or 0) // 1000,
        "credentials": [body],
        "extensions": [_vendor(credential)],
    }


def _vendor(credential: Credential) -> dict[str, Any]:
    """Every field that the CXF passkey does not carry exactly (see the module's docstring)."""
    return {
        "name": VENDOR,
        "version": VENDOR_VERSION,
        "discoverable": credential.discoverable,
        "nickname": credential.nickname,
        "rpName": credential.rp_name,
        "userName": credential.user_name,
        "userDisplayName": credential.user_display_name,
        "created": credential.created,
        "lastUsed": credential.last_used,
        "signCount": credential.sign_count,
        "signCountPolicy": credential.sign_count_policy.value,
        "backupEligible": credential.backup_eligible,
        "backupState": credential.backup_state,
        "credProtect": credential.cred_protect,
        "largeBlobKey": _b64_or_none(credential.large_blob_key),
        "webDriverLargeBlob": _b64_or_none(credential.large_blob),
    }


def _b64_or_none(value: bytes | None) -> str | None:
    return None if value is None else base64url.encode(value)


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
        for item in [*items, *_hidden_items(account)]:
            credentials = item.get("credentials") if isinstance(item, dict) else None
            if isinstance(credentials, list) and credentials:
                entries.extend((item, credential) for credential in credentials)
            else:
                entries.append((item, None))
    return entries


def _hidden_items(account: dict[str, Any]) -> list[Any]:
    """The items of vauth's account extension for credentials that sites must name."""
    extensions = account.get("extensions")
    if not isinstance(extensions, list):
        return []
    found: list[Any] = []
    for extension in extensions:
        if isinstance(extension, dict) and extension.get("name") == NON_DISCOVERABLE:
            items = extension.get("items")
            if not isinstance(items, list):
                raise ExchangeError(f"the {NON_DISCOVERABLE} extension has no list of items")
            found.extend(items)
    return found


def authenticator_name(value: Any) -> str | None:
    """The name a person gave the vauth that wrote this document (its ``exporterDisplayName``),
    or None: another exporter's name is a program's, not this person's authenticator's."""
    if not isinstance(value, dict) or value.get("exporterRpId") != EXPORTER_RP_ID:
        return None
    name = value.get("exporterDisplayName")
    if not isinstance(name, str):
        return None
    name = name.strip()
    return name if 0 < len(name) <= MAX_NAME_LENGTH and name != EXPORTER_DISPLAY_NAME else None


def vendor_data(item: Any) -> dict[str, Any] | None:
    """The item's dev.vauth.credential extension, if it has one."""
    extensions = item.get("extensions") if isinstance(item, dict) else None
    if not isinstance(extensions, list):
        return None
    for extension in extensions:
        if isinstance(extension, dict) and extension.get("name") == VENDOR:
            return extension
    return None


def parse(entry: RawEntry, now_ms: int) -> Portable:
    """One passkey, or EntryError saying why it cannot be imported."""
    item, body = entry
    if not isinstance(item, dict):
        raise EntryError("the item is not an object")
    if not isinstance(body, dict):
        raise EntryError("the item has no credential")
    if body.get("type") != "passkey":
        raise EntryError(f"not a passkey (credential type {str(body.get('type'))[:40]!r})")
    vendor = vendor_data(item)
    raw_id = portable.credential_id(body.get("credentialId"))
    domain = portable.rp_id(body.get("rpId"))
    hidden = vendor is not None and vendor.get("discoverable") is False
    handle = (
        None
        if hidden and body.get("userHandle") is None
        else portable.user_handle(body.get("userHandle"))
    )
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
    if vendor is not None:
        _apply_vendor(credential, vendor)
    return Portable(credential, _large_blob(extensions.get("largeBlob")))


def _apply_vendor(credential: Credential, vendor: dict[str, Any]) -> None:
    """What vauth wrote in its own extension replaces what CXF alone implies."""
    if vendor.get("version") != VENDOR_VERSION:
        raise EntryError(f"{VENDOR} version {str(vendor.get('version'))[:20]!r} is not known")
    for field, name in (
        ("nickname", "nickname"),
        ("rp_name", "rpName"),
        ("user_name", "userName"),
        ("user_display_name", "userDisplayName"),
    ):
        setattr(credential, field, portable.text_field(vendor.get(name), name))
    credential.discoverable = _boolean(vendor, "discoverable")
    credential.backup_eligible = _boolean(vendor, "backupEligible")
    credential.backup_state = _boolean(vendor, "backupState")
    # any time vauth can hold (a CXF creationAt before 1970 gives a negative one)
    credential.created = _integer(vendor, "created", -MAX_MS, MAX_MS)
    last_used = vendor.get("lastUsed")
    credential.last_used = (
        None if last_used is None else _integer(vendor, "lastUsed", -MAX_MS, MAX_MS)
    )
    credential.sign_count = _integer(vendor, "signCount", 0, MAX_SIGN_COUNT)
    try:
        credential.sign_count_policy = SignCountPolicy(str(vendor.get("signCountPolicy")))
    except ValueError:
        raise EntryError("signCountPolicy is not counter or zero") from None
    credential.cred_protect = _integer(vendor, "credProtect", 1, 3)
    key = portable.optional_b64url(vendor, "largeBlobKey")
    if key is not None and len(key) != LARGE_BLOB_KEY_LENGTH:
        raise EntryError(f"largeBlobKey must be {LARGE_BLOB_KEY_LENGTH} bytes")
    credential.large_blob_key = key
    credential.large_blob = portable.optional_b64url(vendor, "webDriverLargeBlob")


MAX_MS = 1 << 53  # JSON's exact integers
MAX_SIGN_COUNT = 0xFFFFFFFF


def _boolean(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise EntryError(f"{name} is not true or false")
    return value


def _integer(data: dict[str, Any], name: str, low: int, high: int) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise EntryError(f"{name} must be a whole number from {low} to {high}")
    return value


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
