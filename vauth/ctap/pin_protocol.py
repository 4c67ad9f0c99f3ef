"""PIN/UV auth protocols 1 and 2, the authenticator's side (CTAP 2.1 sections 6.5.6, 6.5.7).

Each protocol object owns its key-agreement key and its pinUvAuthToken, both made at power-up;
``regenerate`` replaces the key after a wrong PIN (so a recorded request cannot be retried
against the same key), and ``reset_token`` runs whenever any protocol issues a new token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vauth.ctap.cose import KeyType, Label
from vauth.ctap.status import CtapError, CtapStatus

RandomBytes = Callable[[int], bytes]
TOKEN_LENGTH = 32
_ECDH_ES_HKDF_256 = -25
_P256 = 1  # the COSE curve identifier of P-256 (RFC 9053 section 7.1)


class PinUvAuthProtocol:
    """Protocol 1: ECDH P-256, SHA-256(Z.x), AES-256-CBC with a zero IV, HMAC-SHA-256/16."""

    version = 1

    def __init__(self, random_bytes: RandomBytes) -> None:
        self._random = random_bytes
        self._key_agreement = self._new_key()
        self.token = random_bytes(TOKEN_LENGTH)

    def _new_key(self) -> ec.EllipticCurvePrivateKey:
        scalar = int.from_bytes(self._random(40), "big") % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(scalar, ec.SECP256R1())

    def regenerate(self) -> None:
        self._key_agreement = self._new_key()

    def reset_token(self) -> None:
        self.token = self._random(TOKEN_LENGTH)

    def set_key_agreement_key(self, key: ec.EllipticCurvePrivateKey) -> None:
        """Inject the key-agreement key (spec vectors only)."""
        self._key_agreement = key

    def get_public_key(self) -> dict[int, Any]:
        numbers = self._key_agreement.public_key().public_numbers()
        return {
            Label.KTY: KeyType.EC2,
            Label.ALG: _ECDH_ES_HKDF_256,
            Label.CRV: _P256,
            Label.X: numbers.x.to_bytes(32, "big"),
            Label.Y: numbers.y.to_bytes(32, "big"),
        }

    def decapsulate(self, peer: Any) -> bytes:
        """The shared secret with the platform's COSE key (INVALID_PARAMETER if it is unusable)."""
        try:
            if peer.get(Label.KTY) != KeyType.EC2 or peer.get(Label.CRV) != _P256:
                raise ValueError("not a P-256 EC2 key")
            x, y = peer[Label.X], peer[Label.Y]
            if not (isinstance(x, bytes) and isinstance(y, bytes) and len(x) == len(y) == 32):
                raise ValueError("bad coordinates")
            public = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
            z = self._key_agreement.exchange(ec.ECDH(), public)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CtapError(CtapStatus.INVALID_PARAMETER, "bad keyAgreement") from None
        return self.kdf(z)

    def kdf(self, z: bytes) -> bytes:
        return hashlib.sha256(z).digest()

    def encrypt(self, key: bytes, plaintext: bytes) -> bytes:
        encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
        return encryptor.update(plaintext) + encryptor.finalize()

    def decrypt(self, key: bytes, ciphertext: bytes) -> bytes | None:
        """The plaintext, or None if the ciphertext cannot be one of ours."""
        if not ciphertext or len(ciphertext) % 16:
            return None
        decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).decryptor()
        return decryptor.update(ciphertext) + decryptor.finalize()

    def authenticate(self, key: bytes, message: bytes) -> bytes:
        return hmac.digest(key, message, "sha256")[:16]

    def verify(self, key: bytes, message: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(self.authenticate(key, message), signature)


class PinUvAuthProtocolTwo(PinUvAuthProtocol):
    """Protocol 2: HKDF-SHA-256 into an HMAC key and an AES key, random IVs, full HMAC."""

    version = 2

    def kdf(self, z: bytes) -> bytes:
        return _hkdf(z, b"CTAP2 HMAC key") + _hkdf(z, b"CTAP2 AES key")

    def encrypt(self, key: bytes, plaintext: bytes) -> bytes:
        iv = self._random(16)
        encryptor = Cipher(algorithms.AES(_aes_key(key)), modes.CBC(iv)).encryptor()
        return iv + encryptor.update(plaintext) + encryptor.finalize()

    def decrypt(self, key: bytes, ciphertext: bytes) -> bytes | None:
        if len(ciphertext) < 32 or len(ciphertext) % 16:
            return None
        iv, body = ciphertext[:16], ciphertext[16:]
        decryptor = Cipher(algorithms.AES(_aes_key(key)), modes.CBC(iv)).decryptor()
        return decryptor.update(body) + decryptor.finalize()

    def authenticate(self, key: bytes, message: bytes) -> bytes:
        # With a shared secret (64 bytes) the HMAC key is its first half; a token is used whole.
        return hmac.digest(key[:32], message, "sha256")


def _hkdf(z: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=info).derive(z)


def _aes_key(key: bytes) -> bytes:
    return key[32:] if len(key) == 64 else key


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
