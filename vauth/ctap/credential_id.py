"""Credential IDs of non-discoverable credentials: the private key itself, sealed.

A non-discoverable credential is stored nowhere. Its credential ID is
``version (1) || nonce (12) || AES-256-GCM(wrap_key, nonce, CBOR{alg, key, credProtect, BE},
aad=rpIdHash)``, so it opens only on the authenticator holding ``wrap_key`` and only for the
RP whose rpIdHash it was made for.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vauth.ctap import cbor
from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.status import CtapError

VERSION = 1
NONCE_LENGTH = 12
_OVERHEAD = 1 + NONCE_LENGTH + 16


@dataclass(frozen=True, slots=True)
class WrappedKey:
    key: CoseKey
    cred_protect: int
    backup_eligible: bool


class CredentialIdWrapper:
    """Seals and opens credential IDs. Opened keys of recent IDs are kept (at most
    ``CACHE_SIZE``) because rebuilding an EC key from its scalar costs a point multiplication;
    the cache goes with the wrapper, which reset and locking discard."""

    CACHE_SIZE = 256
    __slots__ = ("_aead", "_cache")

    def __init__(self, wrap_key: bytes) -> None:
        self._aead = AESGCM(wrap_key)
        self._cache: OrderedDict[bytes, WrappedKey] = OrderedDict()

    def wrap(
        self,
        rp_id_hash: bytes,
        key: CoseKey,
        cred_protect: int,
        backup_eligible: bool,
        nonce: bytes,
    ) -> bytes:
        payload = cbor.encode(
            {1: int(key.algorithm), 2: key.to_raw(), 3: cred_protect, 4: backup_eligible}
        )
        return bytes([VERSION]) + nonce + self._aead.encrypt(nonce, payload, rp_id_hash)

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
            key = CoseKey.from_raw(Algorithm(fields[1]), fields[2])
            return WrappedKey(key, int(fields[3]), bool(fields[4]))
        except (InvalidTag, CtapError, KeyError, ValueError, TypeError):
            return None
