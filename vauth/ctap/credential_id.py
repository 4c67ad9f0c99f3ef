"""Credential IDs of non-discoverable credentials: the private key itself, sealed.

A non-discoverable credential is stored nowhere. Its credential ID is
``version (1) || nonce (12) || AES-256-GCM(wrap_key, nonce, CBOR{alg, key, credProtect, BE
[, hmac-secret]}, aad=rpIdHash)``, so it opens only on the authenticator holding ``wrap_key`` and
only for the RP whose rpIdHash it was made for.

Its hmac-secret CredRandom values are not sealed in it: they are derived again from the ID on
every use, ``HMAC-SHA-256(cred_random_key, "credRandom" || uv || credential ID)`` with a key
derived from ``wrap_key``, so they too are stored nowhere and die with the wrap key at reset.

A synced one (vauth/sync/) is sealed under a key its sync group shares instead, named by a
4-byte key ID: ``version (2) || key ID (4) || nonce (12) || AES-256-GCM(group key, nonce,
CBOR{...}, aad=rpIdHash)``, with its CredRandom values derived from that key, so that every
computer of the group opens it alike. The group keeps every earlier key, so an ID made before
its key changed still opens.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vauth.ctap import cbor
from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.ports import GroupKeys
from vauth.ctap.status import CtapError

VERSION = 1
GROUP_VERSION = 2  # sealed under the sync group's key (a synced non-discoverable passkey)
NONCE_LENGTH = 12
KEY_ID_LENGTH = 4
_OVERHEAD = 1 + NONCE_LENGTH + 16
_CRED_RANDOM = b"vauth hmac-secret CredRandom"


def is_group_id(credential_id: bytes) -> bool:
    """Whether ``credential_id`` says it is sealed under a sync group's key."""
    return len(credential_id) > _OVERHEAD + KEY_ID_LENGTH and credential_id[0] == GROUP_VERSION


class Field:
    """The sealed payload's map keys (vauth's own format, version 1); plain ints, so the
    codec's fast path encodes them."""

    ALGORITHM: Final = 1
    KEY: Final = 2
    CRED_PROTECT: Final = 3
    BACKUP_ELIGIBLE: Final = 4
    HMAC_SECRET: Final = 5  # present (true) only for a credential made with hmac-secret


@dataclass(frozen=True, slots=True)
class WrappedKey:
    key: CoseKey
    cred_protect: int
    backup_eligible: bool
    hmac_secret: bool = False  # made with the hmac-secret extension
    group: bool = False  # sealed under the sync group's key: it must have a record to be used


class CredentialIdWrapper:
    """Seals and opens credential IDs. Opened keys of recent IDs are kept (at most
    ``CACHE_SIZE``) because rebuilding an EC key from its scalar costs a point multiplication;
    the cache goes with the wrapper, which reset and locking discard."""

    CACHE_SIZE = 256
    __slots__ = ("_aead", "_cache", "_cred_random_key")

    def __init__(self, wrap_key: bytes) -> None:
        self._aead = AESGCM(wrap_key)
        self._cred_random_key = hmac.digest(wrap_key, _CRED_RANDOM, "sha256")
        self._cache: OrderedDict[bytes, WrappedKey] = OrderedDict()

    def wrap(
        self,
        rp_id_hash: bytes,
        key: CoseKey,
        cred_protect: int,
        backup_eligible: bool,
        nonce: bytes,
        hmac_secret: bool = False,
        group: GroupKeys | None = None,
    ) -> bytes:
        """A new ID: sealed under this authenticator's key, or under the sync group's current
        key when ``group`` is given (a synced passkey)."""
        fields = {
            Field.ALGORITHM: int(key.algorithm),
            Field.KEY: key.to_raw(),
            Field.CRED_PROTECT: cred_protect,
            Field.BACKUP_ELIGIBLE: backup_eligible,
        }
        if hmac_secret:
            fields[Field.HMAC_SECRET] = True
        payload = cbor.encode(fields)
        if group is not None:
            head = bytes([GROUP_VERSION]) + group.current + nonce
            sealed = AESGCM(group.keys[group.current]).encrypt(nonce, payload, rp_id_hash)
            return head + sealed
        return bytes([VERSION]) + nonce + self._aead.encrypt(nonce, payload, rp_id_hash)

    def cred_random(
        self, credential_id: bytes, with_uv: bool, group: GroupKeys | None = None
    ) -> bytes:
        """The hmac-secret CredRandomWithUV (or ...WithoutUV) of a credential of ours, derived
        from its ID (CTAP 2.1 section 12.5 leaves to the authenticator how it keeps them)."""
        message = b"credRandom" + (b"\x01" if with_uv else b"\x00") + credential_id
        key = self._cred_random_key
        if is_group_id(credential_id):
            group_key = None if group is None else group.keys.get(_key_id(credential_id))
            if group_key is None:
                raise KeyError("the sync group's key for this credential ID is not held")
            key = hmac.digest(group_key, _CRED_RANDOM, "sha256")
        return hmac.digest(key, message, "sha256")

    def cred_randoms(
        self, credential_id: bytes, group: GroupKeys | None = None
    ) -> tuple[bytes, bytes]:
        """CredRandomWithUV and CredRandomWithoutUV of a credential of ours."""
        return (
            self.cred_random(credential_id, True, group),
            self.cred_random(credential_id, False, group),
        )

    def unwrap(
        self, rp_id_hash: bytes, credential_id: bytes, group: GroupKeys | None = None
    ) -> WrappedKey | None:
        """The sealed key, or None if the ID is not ours (nor our sync group's, with
        ``group``) or not for this RP."""
        aead, start = self._aead, 1
        if is_group_id(credential_id):
            group_key = None if group is None else group.keys.get(_key_id(credential_id))
            if group_key is None:
                return None
            aead, start = AESGCM(group_key), 1 + KEY_ID_LENGTH
        elif len(credential_id) <= _OVERHEAD or credential_id[0] != VERSION:
            return None
        cache_key = rp_id_hash + credential_id
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        wrapped = _open(aead, rp_id_hash, credential_id, start, group=start > 1)
        if wrapped is not None:
            self._cache[cache_key] = wrapped
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return wrapped


def _key_id(credential_id: bytes) -> bytes:
    return credential_id[1 : 1 + KEY_ID_LENGTH]


def _open(
    aead: AESGCM, rp_id_hash: bytes, credential_id: bytes, start: int, group: bool = False
) -> WrappedKey | None:
    nonce = credential_id[start : start + NONCE_LENGTH]
    try:
        payload = aead.decrypt(nonce, credential_id[start + NONCE_LENGTH :], rp_id_hash)
        fields = cbor.decode(payload)
        key = CoseKey.from_raw(Algorithm(fields[Field.ALGORITHM]), fields[Field.KEY])
        return WrappedKey(
            key,
            int(fields[Field.CRED_PROTECT]),
            bool(fields[Field.BACKUP_ELIGIBLE]),
            bool(fields.get(Field.HMAC_SECRET, False)),
            group,
        )
    except (InvalidTag, CtapError, KeyError, ValueError, TypeError):
        return None
