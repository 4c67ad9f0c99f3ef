"""Attestation conveyance (WebAuthn L3 section 5.1.3, "If any authenticator indicates success"
step "attestation none") and the attestation object (section 6.5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vauth.ctap import cbor

AAGUID_OFFSET = 37  # rpIdHash (32) | flags (1) | signCount (4)
AAGUID_LENGTH = 16
ZERO_AAGUID = bytes(AAGUID_LENGTH)


@dataclass(frozen=True, slots=True)
class AttestationResult:
    fmt: str
    auth_data: bytes
    att_stmt: dict[str, Any]

    def attestation_object(self) -> bytes:
        """CBOR with the text keys fmt, attStmt, authData, in canonical CTAP2 order."""
        return cbor.encode({"fmt": self.fmt, "attStmt": self.att_stmt, "authData": self.auth_data})


def convey(
    result: AttestationResult, aaguid: bytes, conveyance: str, anonymize_aaguid: bool
) -> AttestationResult:
    """Apply the RP's attestation conveyance preference; ``aaguid`` is the one in the attested
    credential data of ``result.auth_data``.

    ``none``: self attestation (packed, no x5c, zero AAGUID) passes as it is; anything else becomes
    ``fmt: "none"`` with an empty ``attStmt``, and, when ``anonymize_aaguid`` is set, a zero AAGUID
    (WebAuthn L2 did so; L3 dropped that sentence and keeps the AAGUID). ``indirect``, ``direct``
    and ``enterprise`` convey the statement unaltered: an anonymization CA is not available to
    this client, and keeping it is what the spec allows for ``indirect``.
    """
    if conveyance != "none":
        return result
    if aaguid == ZERO_AAGUID and result.fmt == "packed" and "x5c" not in result.att_stmt:
        return result
    auth_data = result.auth_data
    if anonymize_aaguid and aaguid != ZERO_AAGUID:
        auth_data = (
            auth_data[:AAGUID_OFFSET] + ZERO_AAGUID + auth_data[AAGUID_OFFSET + AAGUID_LENGTH :]
        )
    return AttestationResult("none", auth_data, {})
