"""Proton Pass's export (the JSON, and the ZIP that holds it): the passkeys it carries.

Written from Proton's public source, not copied:

- the item (github.com/protonpass/pass-contents-proto-definition, protos/item_v1.proto, in its
  proto3 JSON form): a login's ``content.passkeys`` each hold ``keyId``, ``content`` (bytes),
  ``domain``, ``rpId``, ``rpName``, ``userName``, ``userDisplayName``, ``userId`` (bytes),
  ``createTime`` (seconds), ``note``, ``credentialId`` (bytes), ``userHandle`` (bytes) and
  ``creationData``; bytes are base64. The export is ``{"version", "userId", "encrypted",
  "vaults": {ID: {"name", "items": [...]}}}``, an item being ``{"itemId", "data": {"metadata",
  "type": "login", "content"}, "state" (1 active, 2 trashed), "createTime", ...}``; the ZIP
  holds it as ``Proton Pass/data.json`` (``data.pgp`` when encrypted with PGP, which vauth does
  not read);
- the passkey's ``content`` (github.com/protonpass/proton-pass-common,
  proton-pass-common/src/passkey/passkey_handling.rs serialize_passkey, protonpasskey.rs): a
  MessagePack map ``{"c": bytes, "v": 1}`` whose ``c`` is the MessagePack of ProtonPassKey
  ``{"key", "cid", "rid", "uhd", "cnt", "ext", "udn", "un"}`` (rmp-serde with field names;
  byte strings as arrays of integers); ``key`` is the passkey's COSE key ``{"kty", "kid", "alg",
  "kops", "biv", "par"}``, each COSE label and value tagged ``{"t": kind, "c": value}`` and an
  integer value ``{"inner": its 16 bytes, little-endian}``. The private key is the COSE
  parameter -4 (d) of an EC2 (crv -1: 1 P-256, 2 P-384) or OKP (crv 6 Ed25519) key (RFC 9053).

A passkey whose ``content`` is missing, of another format version, or holds no usable private
key is skipped, named by site and account with the reason.
"""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
from typing import Any

import msgpack
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.credential import CRED_RANDOM_LENGTH, SignCountPolicy
from vauth.vault import portable
from vauth.vault.errors import ExchangeError
from vauth.vault.portable import EntryError, Portable

DATA = "Proton Pass/data.json"
ENCRYPTED_DATA = "Proton Pass/data.pgp"
TRASHED = 2
CONTENT_FORMAT_VERSION = 1
MAX_SIGN_COUNT = 0xFFFFFFFF
OKP, EC2 = "OKP", "EC2"
_CURVES = {1: (Algorithm.ES256, ec.SECP256R1()), 2: (Algorithm.ES384, ec.SECP384R1())}
ED25519 = 6
# MessagePack read with bounds: a passkey is a few hundred bytes, an RSA key a few thousand.
_LIMITS = {
    "max_str_len": 1 << 12,
    "max_bin_len": 1 << 16,
    "max_array_len": 1 << 16,
    "max_map_len": 64,
    "max_ext_len": 0,
}
NO_KEY = "Proton Pass's export did not include its private key"
PGP = (
    "this Proton Pass export is encrypted with PGP, which vauth does not read. In Proton Pass, "
    "export again without encryption (ZIP or JSON), import that file, then delete it"
)

# One passkey as found in an export: the item around it and the passkey itself.
RawEntry = tuple[Any, Any]


# -- the file ---------------------------------------------------------------------------------


def is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def is_document(value: Any) -> bool:
    return (
        isinstance(value, dict) and "vaults" in value and ("version" in value or "userId" in value)
    )


def unzipped(data: bytes, limit: int) -> bytes:
    """The export's JSON from a Proton Pass ZIP: at most ``limit`` bytes, read once."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if ENCRYPTED_DATA in names:
                raise ExchangeError(PGP)
            if DATA not in names:
                raise ExchangeError(
                    "this ZIP file is not a Proton Pass export (it holds no "
                    f"{DATA}): nothing was imported"
                )
            if archive.getinfo(DATA).file_size > limit:
                raise ExchangeError(f"the Proton Pass export is over the {limit}-byte limit")
            with archive.open(DATA) as member:
                content = member.read(limit + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise ExchangeError("the ZIP file is damaged or truncated: nothing was imported") from None
    if len(content) > limit:
        raise ExchangeError(f"the Proton Pass export is over the {limit}-byte limit")
    return content


def raw_entries(document: dict[str, Any]) -> list[RawEntry]:
    """Every (item, passkey) pair of the export's logins, in every vault."""
    if document.get("encrypted") is True:
        raise ExchangeError(PGP)
    vaults = document["vaults"]
    if isinstance(vaults, dict):
        vaults = list(vaults.values())
    if not isinstance(vaults, list):
        raise ExchangeError("the Proton Pass export has no vaults: nothing was imported")
    entries: list[RawEntry] = []
    for vault in vaults:
        items = vault.get("items") if isinstance(vault, dict) else None
        for item in items if isinstance(items, list) else []:
            content = _path(item, "data", "content")
            passkeys = content.get("passkeys") if isinstance(content, dict) else None
            if isinstance(passkeys, list):
                entries.extend((item, passkey) for passkey in passkeys)
    return entries


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


# -- one passkey ------------------------------------------------------------------------------


def parse(entry: RawEntry, now_ms: int) -> Portable:
    item, body = entry
    if not isinstance(body, dict):
        raise EntryError("the passkey is not an object")
    if isinstance(item, dict) and item.get("state") == TRASHED:
        raise EntryError("it is in Proton Pass's trash")
    stored = _stored(body.get("content"))
    key = _private_key(stored.get("key"))
    raw_id = _bytes(body.get("credentialId"), "credentialId") or _bytes(stored.get("cid"), "cid")
    if not raw_id:
        raise EntryError("credentialId is missing")
    handle = _bytes(body.get("userHandle"), "userHandle") or _bytes(stored.get("uhd"), "uhd")
    if not handle:
        raise EntryError("userHandle is missing")
    domain = portable.rp_id(body.get("rpId") or stored.get("rid"))
    counter = stored.get("cnt") or 0
    if (
        not isinstance(counter, int)
        or isinstance(counter, bool)
        or not 0 <= counter <= MAX_SIGN_COUNT
    ):
        raise EntryError("the signature counter is not a whole number that fits 32 bits")
    with_uv, without_uv = _hmac_secret(stored.get("ext"))
    rp_name = portable.text_field(body.get("rpName") or None, "rpName")
    credential = portable.new_credential(
        portable.credential_id(_b64url(raw_id)),
        domain,
        portable.user_handle(_b64url(handle)),
        key,
        discoverable=True,
        user_name=portable.text_field(body.get("userName") or stored.get("un") or None, "userName"),
        user_display_name=portable.text_field(
            body.get("userDisplayName") or stored.get("udn") or None, "userDisplayName"
        ),
        rp_name=rp_name if rp_name and rp_name != domain else None,
        sign_count=counter,
        sign_count_policy=SignCountPolicy.COUNTER if counter else SignCountPolicy.ZERO,
        backup_eligible=True,
        backup_state=True,
        created=_created(body.get("createTime"), item, now_ms),
        cred_random_with_uv=with_uv,
        cred_random_without_uv=without_uv,
    )
    return Portable(credential)


def _stored(content: Any) -> dict[str, Any]:
    """ProtonPassKey, from the passkey's ``content``."""
    if not content:
        raise EntryError(NO_KEY)
    outer = _unpack(_bytes(content, "content"))
    if not isinstance(outer, dict) or "v" not in outer or "c" not in outer:
        raise EntryError("its private key is in a form vauth does not know")
    if outer["v"] != CONTENT_FORMAT_VERSION:
        raise EntryError(
            f"its private key is in Proton's format version {str(outer['v'])[:10]}, which vauth "
            "does not know"
        )
    inner = _unpack(_bytes(outer["c"], "content"))
    if not isinstance(inner, dict):
        raise EntryError("its private key is in a form vauth does not know")
    return inner


def _unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False, **_LIMITS)
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError):
        raise EntryError("its private key is unreadable (damaged)") from None


def _private_key(value: Any) -> CoseKey:
    """The COSE key's private half (RFC 9053 section 7: -1 crv, -2 x, -3 y, -4 d)."""
    if not isinstance(value, dict):
        raise EntryError("its private key is unreadable (damaged)")
    kty = _tagged(value.get("kty"))
    params: dict[int, Any] = {}
    for pair in value.get("par") or []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            label = _tagged(pair[0])
            if isinstance(label, int):
                params[label] = _tagged(pair[1])
    curve, d = params.get(-1), params.get(-4)
    if not isinstance(d, bytes | bytearray) or not d:
        raise EntryError("its private key is unreadable: the key has no private part")
    try:
        if kty == EC2 and curve in _CURVES:
            algorithm, curve_type = _CURVES[curve]
            key = CoseKey(algorithm, ec.derive_private_key(int.from_bytes(d, "big"), curve_type))
            _check_public(key, params)
            return key
        if kty == OKP and curve == ED25519:
            return CoseKey(Algorithm.EdDSA, ed25519.Ed25519PrivateKey.from_private_bytes(bytes(d)))
    except ValueError:
        raise EntryError("its private key is unreadable (not a point of its curve)") from None
    raise EntryError(
        f"unsupported key type: COSE key type {str(kty)[:20]}, curve {str(curve)[:20]}"
    )


def _check_public(key: CoseKey, params: dict[int, Any]) -> None:
    assert isinstance(key.key, ec.EllipticCurvePrivateKey)
    numbers = key.key.public_key().public_numbers()
    for label, coordinate in ((-2, numbers.x), (-3, numbers.y)):
        given = params.get(label)
        if isinstance(given, bytes | bytearray) and int.from_bytes(given, "big") != coordinate:
            raise EntryError("its private key does not match its public key (damaged)")


def _tagged(value: Any) -> Any:
    """A Proton label or value ``{"t", "c"}``: ints as ints, bytes as bytes, names as text."""
    if not isinstance(value, dict) or "t" not in value:
        return value
    kind, content = value.get("t"), value.get("c")
    if kind == "int" and isinstance(content, dict):  # ProtonInteger: 16 bytes, little-endian
        inner = _bytes(content.get("inner"), "integer")
        return int.from_bytes(inner[:16].ljust(16, b"\0"), "little", signed=True)
    if kind == "bytes":
        return _bytes(content, "bytes")
    return content


def _bytes(value: Any, what: str) -> bytes:
    """Bytes as MessagePack gives them (bin, or an array of integers) or as JSON does (base64)."""
    if value is None or value == "":
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value)
    if isinstance(value, str):
        text = value.replace("-", "+").replace("_", "/")
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            pass
    raise EntryError(f"{what} is not base64")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac_secret(extensions: Any) -> tuple[bytes | None, bytes | None]:
    """hmac-secret's CredRandom pair (PRF), when Proton kept both halves."""
    secret = extensions.get("hmac_secret") if isinstance(extensions, dict) else None
    if not isinstance(secret, dict):
        return None, None
    with_uv = _bytes(secret.get("cred_with_uv"), "cred_with_uv")
    without_uv = _bytes(secret.get("cred_without_uv"), "cred_without_uv")
    if len(with_uv) == CRED_RANDOM_LENGTH and len(without_uv) == CRED_RANDOM_LENGTH:
        return with_uv, without_uv
    return None, None


def _created(seconds: Any, item: Any, now_ms: int) -> int:
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        seconds = item.get("createTime") if isinstance(item, dict) else None
    if isinstance(seconds, int) and not isinstance(seconds, bool) and 0 < seconds < 1 << 40:
        return seconds * 1000
    return now_ms


def names(entry: RawEntry) -> tuple[str | None, str | None]:
    item, body = entry
    body = body if isinstance(body, dict) else {}
    content = _path(item, "data", "content")
    content = content if isinstance(content, dict) else {}
    site = body.get("rpId") or body.get("domain") or _path(item, "data", "metadata", "name")
    account = body.get("userName") or content.get("itemUsername") or content.get("itemEmail")
    return _short(site), _short(account)


def claimed_id(entry: RawEntry) -> str | None:
    body = entry[1]
    value = body.get("credentialId") if isinstance(body, dict) else None
    return value[:1400] if isinstance(value, str) and value else None


def _short(value: Any) -> str | None:
    return value[:255] if isinstance(value, str) and value else None
