"""COSE_Key to SubjectPublicKeyInfo DER, as AuthenticatorAttestationResponse.getPublicKey()
returns it (WebAuthn L3 section 5.2.1.1)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from vauth.ctap.cose import OKP_ED25519, KeyType, Label

_EC_CURVES: dict[int, ec.EllipticCurve] = {1: ec.SECP256R1(), 2: ec.SECP384R1()}  # by crv
# ES256, EdDSA, ES384, RS256: getPublicKey() must (or, for ES384, may) support these.
SPKI_ALGORITHMS = frozenset({-7, -8, -35, -257})


def spki_der(cose_key: dict[int, Any]) -> bytes | None:
    """The DER SubjectPublicKeyInfo of a COSE_Key, or None when the key is of an unsupported
    algorithm or malformed (toJSON() then leaves ``publicKey`` out)."""
    if cose_key.get(Label.ALG) not in SPKI_ALGORITHMS:
        return None
    try:
        key = _public_key(cose_key)
    except (ValueError, TypeError, KeyError):
        return None
    if key is None:
        return None
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _public_key(
    cose_key: dict[int, Any],
) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey | None:
    kty = cose_key.get(Label.KTY)
    if kty == KeyType.EC2 and cose_key.get(Label.CRV) in _EC_CURVES:
        x, y = cose_key[Label.X], cose_key[Label.Y]
        curve = _EC_CURVES[cose_key[Label.CRV]]
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
    if kty == KeyType.OKP and cose_key.get(Label.CRV) == OKP_ED25519:
        return ed25519.Ed25519PublicKey.from_public_bytes(cose_key[Label.X])
    if kty == KeyType.RSA:
        n = int.from_bytes(cose_key[Label.N], "big")
        e = int.from_bytes(cose_key[Label.E], "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    return None
