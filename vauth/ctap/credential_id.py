"""Credential IDs of non-discoverable credentials: the private key itself, sealed.

A non-discoverable credential is stored nowhere. Its credential ID is
``version (1) || nonce (12) || AES-256-GCM(wrap_key, nonce, CBOR{alg, key, credProtect, BE
[, hmac-secret]}, aad=rpIdHash)``, so it opens only on the authenticator holding ``wrap_key`` and
only for the RP whose rpIdHash it was made for.

Its hmac-secret CredRandom values are not sealed in it: they are derived again from the ID on
every use, ``HMAC-SHA-256(cred_random_key, "credRandom" || uv || credential ID)`` with a key
derived from ``wrap_key``, so they too are stored nowhere and die with the wrap key at reset.
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
from vauth.ctap.status import CtapError

VERSION = 1
NONCE_LENGTH = 12
_OVERHEAD = 1 + NONCE_LENGTH + 16


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


class CredentialIdWrapper:
    """Seals and opens credential IDs. Opened keys of recent IDs are kept (at most
    ``CACHE_SIZE``) because rebuilding an EC key from its scalar costs a point multiplication;
    the cache goes with the wrapper, which reset and locking discard."""

    CACHE_SIZE = 256
    __slots__ = ("_aead", "_cache", "_cred_random_key")

    def __init__(self, wrap_key: bytes) -> None:
        self._aead = AESGCM(wrap_key)
        self._cred_random_key = hmac.digest(wrap_key, b"vauth hmac-secret CredRandom", "sha256")
        self._cache: OrderedDict[bytes, WrappedKey] = OrderedDict()

    def wrap(
        self,
        rp_id_hash: bytes,
        key: CoseKey,
        cred_protect: int,
        backup_eligible: bool,
        nonce: bytes,
        hmac_secret: bool = False,
    ) -> bytes:
        fields = {
            Field.ALGORITHM: int(key.algorithm),
            Field.KEY: key.to_raw(),
            Field.CRED_PROTECT: cred_protect,
            Field.BACKUP_ELIGIBLE: backup_eligible,
        }
        if hmac_secret:
            fields[Field.HMAC_SECRET] = True
        payload = cbor.encode(fields)
        return bytes([VERSION]) + nonce + self._aead.encrypt(nonce, payload, rp_id_hash)

    def cred_random(self, credential_id: bytes, with_uv: bool) -> bytes:
        """The hmac-secret CredRandomWithUV (or ...WithoutUV) of a credential of ours, derived
        from its ID (CTAP 2.1 section 12.5 leaves to the authenticator how it keeps them)."""
        message = b"credRandom" + (b"\x01" if with_uv else b"\x00") + credential_id
        return hmac.digest(self._cred_random_key, message, "sha256")

    def cred_randoms(self, credential_id: bytes) -> tuple[bytes, bytes]:
        """CredRandomWithUV and CredRandomWithoutUV of a credential of ours."""
        return self.cred_random(credential_id, True), self.cred_random(credential_id, False)

    def unwrap(self, rp_id_hash: bytes, credential_id: bytes) -> WrappedKey | None:
        """The sealed key, or None if the ID is not ours or not for this RP."""
        if len(credential_id) <= _OVERHEAD or credential_id[0] != VERSION:
            return None
        cache_key = rp_id_hash + credential_id
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        wrapped = self._open(rp_id_hash, credential_id)
        if wrapped is not None:
            self._cache[cache_key] = wrapped
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return wrapped

    def _open(self, rp_id_hash: bytes, credential_id: bytes) -> WrappedKey | None:
        nonce = credential_id[1 : 1 + NONCE_LENGTH]
        try:
            payload = self._aead.decrypt(nonce, credential_id[1 + NONCE_LENGTH :], rp_id_hash)
            fields = cbor.decode(payload)
            key = CoseKey.from_raw(Algorithm(fields[Field.ALGORITHM]), fields[Field.KEY])
            return WrappedKey(
                key,
                int(fields[Field.CRED_PROTECT]),
                bool(fields[Field.BACKUP_ELIGIBLE]),
                bool(fields.get(Field.HMAC_SECRET, False)),
            )
        except (InvalidTag, CtapError, KeyError, ValueError, TypeError):
            return None
