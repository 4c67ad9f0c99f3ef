"""KeySource implementations: operating-system randomness, or a seed for reproducible runs."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from vauth.ctap.cose import (
    RSA_BITS,
    Algorithm,
    CoseKey,
    curve_order,
    ec_private_key,
    rsa_from_primes,
)

CREDENTIAL_ID_LENGTH = 32


class RandomKeySource:
    """The default: keys and IDs from the operating system's CSPRNG."""

    def random_bytes(self, length: int) -> bytes:
        return os.urandom(length)

    def new_credential_id(self) -> bytes:
        return os.urandom(CREDENTIAL_ID_LENGTH)

    def attestation_source(self) -> RandomKeySource:
        return self

    def generate_key(self, algorithm: Algorithm) -> CoseKey:
        if algorithm == Algorithm.ES256:
            return CoseKey(algorithm, ec.generate_private_key(ec.SECP256R1()))
        if algorithm == Algorithm.ES384:
            return CoseKey(algorithm, ec.generate_private_key(ec.SECP384R1()))
        if algorithm == Algorithm.EdDSA:
            return CoseKey(algorithm, ed25519.Ed25519PrivateKey.generate())
        return CoseKey(algorithm, rsa.generate_private_key(65537, RSA_BITS))


class SeededKeySource:
    """Deterministic keys and IDs from a seed, for reproducible tests: the same seed and the same
    sequence of ceremonies give the same bytes. (Signatures are deterministic anyway: RFC 6979
    ECDSA, Ed25519 and RSA PKCS#1 v1.5.) Never use a seeded authenticator for real accounts."""

    def __init__(self, seed: int | str | bytes, label: bytes = b"") -> None:
        material = seed if isinstance(seed, bytes) else str(seed).encode()
        self._seed = material
        self._key = hashlib.sha256(b"vauth seeded key source\x00" + label + material).digest()
        self._counter = 0

    def attestation_source(self) -> SeededKeySource:
        """A stream of its own from the same seed, for the attestation CA and key."""
        return SeededKeySource(self._seed, label=b"attestation\x00")

    def random_bytes(self, length: int) -> bytes:
        out = b""
        while len(out) < length:
            self._counter += 1
            out += hmac.digest(self._key, self._counter.to_bytes(8, "big"), "sha256")
        return out[:length]

    def new_credential_id(self) -> bytes:
        return self.random_bytes(CREDENTIAL_ID_LENGTH)

    def generate_key(self, algorithm: Algorithm) -> CoseKey:
        if algorithm in (Algorithm.ES256, Algorithm.ES384):
            order = curve_order(algorithm)
            size = (order.bit_length() + 7) // 8 + 16  # extra bytes make the bias negligible
            scalar = int.from_bytes(self.random_bytes(size), "big") % (order - 1) + 1
            return ec_private_key(algorithm, scalar)
        if algorithm == Algorithm.EdDSA:
            return CoseKey(
                algorithm, ed25519.Ed25519PrivateKey.from_private_bytes(self.random_bytes(32))
            )
        p = self._prime(RSA_BITS // 2)
        q = self._prime(RSA_BITS // 2)
        while q == p:
            q = self._prime(RSA_BITS // 2)
        return CoseKey(algorithm, rsa_from_primes(p, q))

    def _prime(self, bits: int) -> int:
        while True:
            candidate = int.from_bytes(self.random_bytes(bits // 8), "big")
            candidate |= (3 << (bits - 2)) | 1  # full length, and odd
            if (candidate - 1) % 65537 and _probably_prime(candidate, self):
                return candidate


_SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73)


def _probably_prime(n: int, source: SeededKeySource, rounds: int = 40) -> bool:
    """Miller-Rabin with bases drawn from the seeded stream."""
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        a = int.from_bytes(source.random_bytes(32), "big") % (n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True
