"""Per-authenticator settings: what kind of authenticator this one pretends to be."""

from __future__ import annotations

from dataclasses import dataclass, field

from vauth.ctap.attestation import AttestationMode
from vauth.ctap.cose import SUPPORTED_ALGORITHMS, Algorithm
from vauth.ctap.credential import SignCountPolicy
from vauth.ctap.messages.command import ProtocolVersion

# The AAGUID vauth reports unless configured otherwise (attestation "none" zeroes it on the
# client side when the RP did not ask for attestation).
DEFAULT_AAGUID = bytes.fromhex("7661757468000000a000000000000001")
CTAPHID_MAX_MESSAGE = 7609
MAX_CREDENTIAL_ID_LENGTH = 1023  # WebAuthn L3: credential IDs are at most 1023 bytes
MAX_CREDENTIAL_COUNT_IN_LIST = 64
MAX_USER_ID_LENGTH = 64
# The CTAP extensions the core implements (CTAP 2.1 section 12, CTAP 2.2 for hmac-secret-mc).
CTAP_EXTENSIONS = frozenset(
    {"credProtect", "credBlob", "largeBlobKey", "minPinLength", "hmac-secret", "hmac-secret-mc"}
)
MAX_CRED_BLOB_LENGTH = 32  # maxCredBlobLength: the least the specification allows


@dataclass(slots=True)
class AuthenticatorConfig:
    protocol: ProtocolVersion | str = ProtocolVersion.CTAP2_1  # a ProtocolVersion once made
    transport: str = "usb"
    has_resident_key: bool = True
    has_user_verification: bool = True
    attestation: AttestationMode = AttestationMode.NONE
    aaguid: bytes = DEFAULT_AAGUID
    algorithms: tuple[Algorithm, ...] = SUPPORTED_ALGORITHMS
    default_backup_eligibility: bool = False
    default_backup_state: bool = False
    backup_sign_count_policy: SignCountPolicy = SignCountPolicy.ZERO
    max_msg_size: int = CTAPHID_MAX_MESSAGE
    max_discoverable_credentials: int = 1_000_000
    reset_window_s: float | None = 10.0  # None: reset is allowed at any time (testers)
    firmware_version: int = 1
    pin_hash_cost: tuple[int, int] = (2, 16 << 20)  # Argon2id opslimit, memlimit (bytes)
    max_rp_ids_for_set_min_pin_length: int = 8
    extensions: frozenset[str] = field(default_factory=lambda: CTAP_EXTENSIONS)
    # maxSerializedLargeBlobArray (getInfo 0x0B); the specification asks for at least 1024.
    max_serialized_large_blob_array: int = 4096
    # A tester's authenticator keeps non-discoverable credentials whole in its store, as
    # Chromium's virtual authenticator does (listed, removable, with credBlob and their own
    # counters); otherwise their keys are sealed in their IDs (a vault keeps only a record).
    keep_non_discoverable: bool = False
    # A CTAP1/U2F-only authenticator (WebDriver's "ctap1/u2f", CDP's "u2f"): its client speaks
    # U2F to it (vauth.webauthn.u2f), so it makes only non-discoverable ES256 credentials.
    u2f_only: bool = False

    def __post_init__(self) -> None:
        try:
            self.protocol = ProtocolVersion(self.protocol)
        except ValueError:
            raise ValueError(
                f"protocol must be 'ctap2' or 'ctap2_1', not {self.protocol!r}"
            ) from None
        if len(self.aaguid) != 16:
            raise ValueError("aaguid must be 16 bytes")
        if self.max_serialized_large_blob_array < 1024:
            raise ValueError("max_serialized_large_blob_array must be at least 1024")

    @property
    def ctap21(self) -> bool:
        """Whether this authenticator speaks CTAP 2.1 (else CTAP 2.0)."""
        return self.protocol is ProtocolVersion.CTAP2_1
