"""The credential record the core keeps through the CredentialStore port."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from vauth.ctap.cose import CoseKey

CRED_RANDOM_LENGTH = 32  # each hmac-secret CredRandom (CTAP 2.1 section 12.5)


class SignCountPolicy(StrEnum):
    """How a credential's signature counter moves (WebAuthn L3 section 6.1.1)."""

    COUNTER = "counter"  # strictly increasing, for device-bound credentials
    ZERO = "zero"  # always 0, as synced passkeys and FIDO CXF expect


@dataclass(slots=True)
class Credential:
    credential_id: bytes
    rp_id: str
    rp_id_hash: bytes
    user_handle: bytes | None
    private_key: bytes  # PKCS#8 DER, or b"" until first needed (see private_key_der)
    algorithm: int
    discoverable: bool = True
    user_name: str | None = None
    user_display_name: str | None = None
    rp_name: str | None = None
    sign_count: int = 0
    sign_count_policy: SignCountPolicy = SignCountPolicy.COUNTER
    backup_eligible: bool = False
    backup_state: bool = False
    cred_protect: int = 1
    created: int = 0  # milliseconds since the epoch
    last_used: int | None = None
    large_blob: bytes | None = None  # WebDriver's per-credential largeBlob (Credential Parameters)
    cred_random_with_uv: bytes | None = None  # hmac-secret CredRandom (32 bytes each)
    cred_random_without_uv: bytes | None = None
    cred_blob: bytes | None = None  # credBlob, at most 32 bytes
    large_blob_key: bytes | None = None  # largeBlobKey, 32 bytes
    nickname: str | None = None  # the user's own name for this passkey
    # The private key is sealed in the credential ID (a non-discoverable credential): a store
    # keeps only what a person needs to see and delete it, never the key (private_key is b"").
    sealed: bool = False
    # Kept on every device of the person's sync group (vauth/sync/), fixed at creation: it is
    # backup eligible for life, counts nothing (sign count 0) and is backed up once another
    # device holds it. False: this device only.
    synced: bool = False
    # False: its key is sealed in its ID and it counts with the authenticator-wide counter
    stored: bool = field(default=True, compare=False)
    _key: CoseKey | None = field(default=None, repr=False, compare=False)

    def make_synced(self, devices: int) -> None:
        """Fix a new credential as synced (vauth/sync/): backup eligible for life, backed up
        once a second device holds it, and no counter (WebAuthn L3 section 6.1.3: BE and BS;
        CTAP 2.1: a credential without a counter reports 0)."""
        self.synced = True
        self.backup_eligible = True
        self.backup_state = devices >= 2
        self.sign_count_policy = SignCountPolicy.ZERO

    def __repr__(self) -> str:  # the private key never reaches a log through repr()
        return (
            f"Credential(id={self.credential_id.hex()[:16]}..., rp_id={self.rp_id!r}, "
            f"discoverable={self.discoverable}, algorithm={self.algorithm})"
        )

    @property
    def key(self) -> CoseKey:
        if self._key is None:
            self._key = CoseKey.from_pkcs8(self.private_key)
        return self._key

    def private_key_der(self) -> bytes:
        """The private key as PKCS#8 DER; a new credential serialises it on first need only."""
        if not self.private_key and self._key is not None:
            self.private_key = self._key.to_pkcs8()
        return self.private_key
