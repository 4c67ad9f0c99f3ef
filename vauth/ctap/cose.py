"""COSE algorithms and keys (RFC 9052/9053, RFC 8230 for RSA) as CTAP uses them."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Final, cast

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

PrivateKeyTypes = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


class Algorithm(IntEnum):
    """COSE algorithm identifiers vauth supports (the RP's order of preference decides)."""

    ES256 = -7
    EdDSA = -8
    ES384 = -35
    RS256 = -257


class Label:
    """COSE_Key map labels (RFC 9052 section 7.1; RFC 9053 sections 7.1-7.2; RFC 8230 for RSA).
    The key-type parameters share negative labels: N and E are RSA's names for -1 and -2.
    Plain ints, not an IntEnum: COSE keys are encoded on every makeCredential, and the codec
    takes its fast path only for plain ints."""

    KTY: Final = 1
    ALG: Final = 3
    CRV: Final = -1  # EC2, OKP
    X: Final = -2  # EC2, OKP
    Y: Final = -3  # EC2
    N: Final = -1  # RSA
    E: Final = -2  # RSA


class KeyType:
    """COSE key types (RFC 9053 section 7); plain ints, like :class:`Label`."""

    OKP: Final = 1
    EC2: Final = 2
    RSA: Final = 3


OKP_ED25519 = 6  # the Ed25519 curve of an OKP key (RFC 9053 section 7.1)

SUPPORTED_ALGORITHMS: tuple[Algorithm, ...] = (
    Algorithm.ES256,
    Algorithm.EdDSA,
    Algorithm.ES384,
    Algorithm.RS256,
)

_CURVES: dict[Algorithm, tuple[ec.EllipticCurve, int, hashes.HashAlgorithm]] = {
    Algorithm.ES256: (ec.SECP256R1(), 1, hashes.SHA256()),
    Algorithm.ES384: (ec.SECP384R1(), 2, hashes.SHA384()),
}
RSA_BITS = 2048
# The signature algorithm of each ECDSA COSE algorithm, made once: building ec.ECDSA asks the
# backend whether it supports deterministic signing every time.
_ECDSA: dict[Algorithm, ec.ECDSA] = {}


def _ecdsa(algorithm: Algorithm) -> ec.ECDSA:
    """RFC 6979 deterministic ECDSA with the COSE algorithm's hash: reproducible and immune to
    a weak RNG."""
    signature_algorithm = _ECDSA.get(algorithm)
    if signature_algorithm is None:
        signature_algorithm = ec.ECDSA(_CURVES[algorithm][2], deterministic_signing=True)
        _ECDSA[algorithm] = signature_algorithm
    return signature_algorithm


class CoseKey:
    """A credential private key with its algorithm: signs, and describes its public half in COSE."""

    __slots__ = ("_cose_public", "algorithm", "key")

    def __init__(self, algorithm: Algorithm, key: PrivateKeyTypes) -> None:
        self.algorithm = algorithm
        self.key = key
        self._cose_public: dict[int, Any] | None = None

    def sign(self, data: bytes) -> bytes:
        key = self.key
        if self.algorithm in _CURVES:  # by the algorithm: an isinstance on the key's ABC costs
            return cast(ec.EllipticCurvePrivateKey, key).sign(data, _ecdsa(self.algorithm))
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        return cast(rsa.RSAPrivateKey, key).sign(data, padding.PKCS1v15(), hashes.SHA256())

    def cose_public_key(self) -> dict[int, Any]:
        """The COSE_Key of the public key, as credentialPublicKey in attested credential data."""
        if self._cose_public is None:
            self._cose_public = _cose_public(self.algorithm, self.key)
        return self._cose_public

    def public_key_der(self) -> bytes:
        """SubjectPublicKeyInfo DER, as WebAuthn's getPublicKey() returns it."""
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_pkcs8(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pkcs8(cls, der: bytes) -> CoseKey:
        """Load a PKCS#8 private key and infer its COSE algorithm (ValueError if unsupported)."""
        try:
            key = serialization.load_der_private_key(der, password=None)
        except UnsupportedAlgorithm as exc:  # an algorithm OID cryptography does not know
            raise ValueError(f"unsupported key algorithm: {exc}") from None
        return cls(algorithm_for_key(key), key)  # type: ignore[arg-type]

    def to_raw(self) -> bytes:
        """The smallest encoding of the private key, for wrapping into a credential ID."""
        key = self.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            size = (key.curve.key_size + 7) // 8
            return key.private_numbers().private_value.to_bytes(size, "big")
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.private_bytes_raw()
        numbers = key.private_numbers()
        half = (key.key_size // 2 + 7) // 8
        return numbers.p.to_bytes(half, "big") + numbers.q.to_bytes(half, "big")

    @classmethod
    def from_raw(cls, algorithm: Algorithm, raw: bytes) -> CoseKey:
        """Inverse of :meth:`to_raw` (ValueError on a malformed value)."""
        if algorithm in _CURVES:
            curve = _CURVES[algorithm][0]
            return cls(algorithm, ec.derive_private_key(int.from_bytes(raw, "big"), curve))
        if algorithm == Algorithm.EdDSA:
            return cls(algorithm, ed25519.Ed25519PrivateKey.from_private_bytes(raw))
        if algorithm == Algorithm.RS256:
            half = len(raw) // 2
            p, q = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
            return cls(algorithm, rsa_from_primes(p, q))
        raise ValueError(f"unsupported algorithm {algorithm}")


def algorithm_for_key(key: object) -> Algorithm:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        for alg, (curve, _, _) in _CURVES.items():
            if curve.name == key.curve.name:
                return alg
        raise ValueError(f"unsupported curve {key.curve.name}")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Algorithm.EdDSA
    if isinstance(key, rsa.RSAPrivateKey):
        return Algorithm.RS256
    raise ValueError(f"unsupported key type {type(key).__name__}")


def rsa_from_primes(p: int, q: int, e: int = 65537) -> rsa.RSAPrivateKey:
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def ec_private_key(algorithm: Algorithm, scalar: int) -> CoseKey:
    return CoseKey(algorithm, ec.derive_private_key(scalar, _CURVES[algorithm][0]))


def curve_order(algorithm: Algorithm) -> int:
    return _ORDERS[algorithm]


_ORDERS = {
    Algorithm.ES256: 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    Algorithm.ES384: int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}


def _cose_public(algorithm: Algorithm, key: PrivateKeyTypes) -> dict[int, Any]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curve_id = _CURVES[algorithm][1]
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        size = (len(point) - 1) // 2  # 0x04 || x || y
        return {
            Label.KTY: KeyType.EC2,
            Label.ALG: int(algorithm),
            Label.CRV: curve_id,
            Label.X: point[1 : 1 + size],
            Label.Y: point[1 + size :],
        }
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes_raw()
        return {
            Label.KTY: KeyType.OKP,
            Label.ALG: int(algorithm),
            Label.CRV: OKP_ED25519,
            Label.X: raw,
        }
    numbers = key.public_key().public_numbers()
    n_bytes = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e_bytes = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return {Label.KTY: KeyType.RSA, Label.ALG: int(algorithm), Label.N: n_bytes, Label.E: e_bytes}
