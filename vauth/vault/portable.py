"""A credential on its way in or out of an export, and the checks every imported field passes,
whatever the format it came in."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from publicsuffixlist import PublicSuffixList

from vauth import base64url
from vauth.ctap.config import MAX_CREDENTIAL_ID_LENGTH, MAX_USER_ID_LENGTH
from vauth.ctap.cose import CoseKey, algorithm_for_key
from vauth.ctap.credential import Credential

MAX_TEXT_LENGTH = 1024
MAX_DOMAIN_LENGTH = 253
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class EntryError(ValueError):
    """One entry of an import is unusable; the message is the reason the report gives."""


@dataclass(slots=True)
class Portable:
    """A credential with, in the clear, the blob it keeps in the large-blob array (if any)."""

    credential: Credential
    large_blob: bytes | None = None

    def same_as(self, stored: Credential) -> bool:
        """Whether ``stored`` is this very credential: same ID, RP, user and private key."""
        mine = self.credential
        if (mine.credential_id, mine.rp_id, mine.user_handle) != (
            stored.credential_id,
            stored.rp_id,
            stored.user_handle,
        ):
            return False
        return _key_material(mine) == _key_material(stored)


def _key_material(credential: Credential) -> tuple[int, bytes] | None:
    try:
        return int(credential.key.algorithm), credential.key.to_raw()
    except (ValueError, TypeError):
        return None


# -- field checks (each raises EntryError with the reason) ------------------------------------


def b64url_field(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise EntryError(f"{what} is missing or not a base64url string")
    try:
        return base64url.decode(value)
    except ValueError:
        raise EntryError(f"{what} is not valid base64url") from None


def optional_b64url(data: dict[str, Any], name: str) -> bytes | None:
    value = data.get(name)
    return None if value is None else b64url_field(value, name)


def text_field(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EntryError(f"{what} is not a string")
    if len(value) > MAX_TEXT_LENGTH:
        raise EntryError(f"{what} is longer than {MAX_TEXT_LENGTH} characters")
    return value


def credential_id(value: object) -> bytes:
    raw = b64url_field(value, "credentialId")
    if not 1 <= len(raw) <= MAX_CREDENTIAL_ID_LENGTH:
        raise EntryError(f"credentialId must be 1 to {MAX_CREDENTIAL_ID_LENGTH} bytes")
    return raw


def user_handle(value: object) -> bytes:
    raw = b64url_field(value, "userHandle")
    if not 1 <= len(raw) <= MAX_USER_ID_LENGTH:
        raise EntryError(f"userHandle must be 1 to {MAX_USER_ID_LENGTH} bytes, not {len(raw)}")
    return raw


def private_key(value: object, what: str = "key") -> CoseKey:
    """A PKCS#8 private key of an algorithm vauth signs with."""
    der = b64url_field(value, what)
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise EntryError(f"{what} is not a PKCS#8 private key") from None
    try:
        return CoseKey(algorithm_for_key(key), key)  # type: ignore[arg-type]
    except ValueError as exc:
        raise EntryError(f"unsupported key type: {exc}") from None


@functools.cache
def _icann_suffixes() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False, only_icann=True)


def rp_id(value: object) -> str:
    """A valid domain, in the lowercase A-label form a client hashes: letters, digits and
    hyphens in labels of 1 to 63, not an IP address, not a public suffix such as ``co.uk``."""
    if not isinstance(value, str) or not value:
        raise EntryError("rpId is missing")
    invalid = EntryError(f"rpId {value[:100]!r} is not a valid domain")
    try:
        domain = value.encode("idna").decode("ascii").lower()
        domain.encode("ascii").decode("idna")  # every xn-- label must be valid punycode
    except UnicodeError:
        raise invalid from None
    labels = domain.split(".")
    if len(domain) > MAX_DOMAIN_LENGTH or not all(_LABEL.fullmatch(label) for label in labels):
        raise invalid
    if labels[-1].isdigit():  # a host ending in a number is an IPv4 address (WHATWG URL)
        raise EntryError(f"rpId {value!r} is an IP address, not a domain")
    if _icann_suffixes().is_public(domain):
        raise EntryError(f"rpId {value!r} is a public suffix")
    return domain


def new_credential(
    raw_id: bytes, domain: str, handle: bytes | None, key: CoseKey, **fields: Any
) -> Credential:
    """A Credential for an imported key (its PKCS#8 form re-encoded by vauth)."""
    credential = Credential(
        credential_id=raw_id,
        rp_id=domain,
        rp_id_hash=hashlib.sha256(domain.encode()).digest(),
        user_handle=handle,
        private_key=key.to_pkcs8(),
        algorithm=int(key.algorithm),
        **fields,
    )
    credential._key = key
    return credential
