"""Attestation statement formats (WebAuthn L3 section 8), one module each."""

from __future__ import annotations

from enum import StrEnum


class AttestationMode(StrEnum):
    """How an authenticator attests new credentials; ``none`` by default, for privacy."""

    NONE = "none"
    PACKED_SELF = "packed-self"
    PACKED = "packed"  # x5c chain from the authenticator's attestation key, issued by its CA

    @classmethod
    def parse(cls, value: str | AttestationMode) -> AttestationMode:
        if isinstance(value, AttestationMode):
            return value
        aliases = {"self": cls.PACKED_SELF, "packed_self": cls.PACKED_SELF, "x5c": cls.PACKED}
        try:
            return aliases.get(value) or cls(value)
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise ValueError(f"attestation must be one of {choices}, not {value!r}") from None
