"""The per-installation attestation CA and the attestation certificate it issues.

The attestation certificate follows WebAuthn L3 section 8.2.1 ("Certificate Requirements for
Packed Attestation Statements"): version 3; subject C, O, OU "Authenticator Attestation" and CN;
basic constraints CA:FALSE; and the non-critical id-fido-gen-ce-aaguid extension carrying the
AAGUID. The CA's certificate is what a relying party configures as its trust anchor.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vauth.ctap.cose import CoseKey

ID_FIDO_GEN_CE_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")
NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)  # RFC 5280 4.1.2.5
ORGANIZATION = "vauth"
COUNTRY = "ZZ"  # ISO 3166 user-assigned code: an installation has no country of its own


@dataclass(frozen=True, slots=True)
class AttestationIdentity:
    """The attestation key with its chain, leaf first, without the trust anchor."""

    key: CoseKey
    chain: tuple[bytes, ...]
    ca_certificate: bytes  # DER of the trust anchor, exportable as PEM

    def ca_pem(self) -> str:
        cert = x509.load_der_x509_certificate(self.ca_certificate)
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _name(common_name: str, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _serial(random_bytes: bytes) -> int:
    return int.from_bytes(random_bytes[:16], "big") >> 1 | 1  # positive, at most 16 octets


def _ec(key: CoseKey) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key.key, ec.EllipticCurvePrivateKey):
        raise ValueError("attestation keys are ECDSA P-256")
    return key.key


def make_ca(ca_key: CoseKey, serial_bytes: bytes, label: str) -> bytes:
    """A self-signed CA certificate (DER) for one installation."""
    private = _ec(ca_key)
    name = _name(f"vauth attestation CA {label}", "Authenticator Attestation CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(private.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(_serial(serial_bytes))
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(private, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return cert.public_bytes(serialization.Encoding.DER)


def issue_attestation_certificate(
    ca_key: CoseKey,
    ca_certificate: bytes,
    attestation_key: CoseKey,
    aaguid: bytes,
    serial_bytes: bytes,
) -> bytes:
    """The attestation certificate (DER) for ``attestation_key``, bound to ``aaguid``."""
    ca = x509.load_der_x509_certificate(ca_certificate)
    public = _ec(attestation_key).public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("vauth attestation", "Authenticator Attestation"))
        .issuer_name(ca.subject)
        .public_key(public)
        .serial_number(_serial(serial_bytes))
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_ec(ca_key).public_key()),
            critical=False,
        )
        # extnValue is an OCTET STRING holding the 16-byte AAGUID as an OCTET STRING.
        .add_extension(
            x509.UnrecognizedExtension(ID_FIDO_GEN_CE_AAGUID, b"\x04\x10" + aaguid),
            critical=False,
        )
        .sign(_ec(ca_key), hashes.SHA256(), ecdsa_deterministic=True)
    )
    return cert.public_bytes(serialization.Encoding.DER)


def certificate_aaguid(certificate: bytes) -> bytes | None:
    cert = x509.load_der_x509_certificate(certificate)
    try:
        ext = cert.extensions.get_extension_for_oid(ID_FIDO_GEN_CE_AAGUID)
    except x509.ExtensionNotFound:
        return None
    value = ext.value
    return value.value[2:] if isinstance(value, x509.UnrecognizedExtension) else None
