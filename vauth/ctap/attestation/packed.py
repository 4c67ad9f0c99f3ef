"""The "packed" attestation statement format (WebAuthn L3 section 8.2): self or with x5c."""

from __future__ import annotations

from typing import Any

from vauth.ctap.attestation.certificates import AttestationIdentity
from vauth.ctap.cose import CoseKey

FORMAT = "packed"


def self_statement(
    auth_data: bytes, client_data_hash: bytes, credential_key: CoseKey
) -> tuple[str, dict[str, Any]]:
    """Self attestation: signed by the credential key itself, alg equals the credential's."""
    sig = credential_key.sign(auth_data + client_data_hash)
    return FORMAT, {"alg": int(credential_key.algorithm), "sig": sig}


def x5c_statement(
    auth_data: bytes, client_data_hash: bytes, identity: AttestationIdentity
) -> tuple[str, dict[str, Any]]:
    """Full attestation: signed by the attestation key, with its certificate chain (leaf first,
    trust anchor excluded)."""
    sig = identity.key.sign(auth_data + client_data_hash)
    return FORMAT, {"alg": int(identity.key.algorithm), "sig": sig, "x5c": list(identity.chain)}
