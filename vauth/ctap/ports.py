"""Everything the core needs from outside, as Protocols, bundled in one Environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from vauth.ctap.cose import Algorithm, CoseKey
from vauth.ctap.credential import Credential


class PortError(Exception):
    """A failure outside the core that its caller should see as it is (a locked vault, ...):
    the typed ``Authenticator.request`` raises it again; ``process`` answers ERR_OTHER."""


class CredentialStore(Protocol):
    """Where discoverable credentials (and authenticator secrets) live: memory or the vault.

    A store may also keep a record (``sealed``: no private key) of each credential whose key
    is sealed in its ID, so that a person can see and delete it; then ``get`` returns that
    record, and the core opens the key from the ID."""

    async def get(self, credential_id: bytes) -> Credential | None: ...

    async def note_sealed(self, record: Credential) -> None:
        """Keep the record of a credential whose key is sealed in its ID (``sealed``, no key),
        unless one with that ID is kept already. A store may keep nothing."""

    async def revoked(self, credential_id: bytes) -> bool:
        """Whether a credential with this ID was deleted (it is in a trash, or was there). The
        core asks before it opens a key sealed in an ID that ``get`` does not know: the ID
        still holds the key, so only this answer stops a deleted one from signing."""

    async def find(self, rp_id_hash: bytes) -> Sequence[Credential]:
        """All stored credentials of one RP, discoverable or not, oldest first."""

    async def put(self, credential: Credential) -> None:
        """Insert, or replace the credential with the same credential_id, durably."""

    async def update(self, credential: Credential) -> None:
        """Write back mutable fields (user details, backup state, blobs) of a stored one."""

    async def touch(self, credential_id: bytes, at: int) -> None:
        """Note a use of a credential (bookkeeping: a store may write it lazily)."""

    async def delete(self, credential_id: bytes) -> bool:
        """Remove a credential (a store may keep it in a trash, from which it can come back)."""

    async def all(self) -> Sequence[Credential]: ...

    async def count(self) -> int:
        """How many discoverable credentials are stored (what fills the authenticator)."""

    async def clear(self) -> None:
        """Remove every credential (authenticatorReset)."""

    async def next_sign_count(self, credential_id: bytes | None) -> int:
        """Atomically advance and return a signature counter: the credential's own, or with
        ``None`` the authenticator-wide one used by credentials that are stored nowhere."""

    async def get_setting(self, name: str) -> bytes | None: ...

    async def set_setting(self, name: str, value: bytes) -> None: ...

    async def record(self, entry: AuditRecord) -> None:
        """Keep an entry of the audit log: which passkey was used where, when, and how
        (bookkeeping: a store may write it lazily)."""


class Ceremony(StrEnum):
    MAKE_CREDENTIAL = "makeCredential"
    GET_ASSERTION = "getAssertion"
    RESET = "reset"
    SELECTION = "selection"
    USER_VERIFICATION = "userVerification"  # built-in UV for a pinUvAuthToken


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One ceremony or change, as the audit log keeps it (no challenge, no signature, no key)."""

    at: int  # milliseconds since the epoch
    ceremony: str  # makeCredential, getAssertion; or a change: delete, update, restore, ...
    rp_id: str | None
    credential_id: bytes | None
    outcome: str  # "ok", or the CTAP status name
    actor: str | None = None  # who made a change, as a person reads it ("the site example.com")
    detail: str | None = None  # what changed, in a sentence


@dataclass(frozen=True, slots=True)
class SyncOffer:
    """A new passkey may be kept on the person's other devices (vauth/sync/)."""

    default: bool  # synced unless the person says otherwise (the vault's sync.default)
    devices: int  # how many devices of the group hold synced passkeys (this one included)


@dataclass(frozen=True, slots=True)
class GroupKeys:
    """The keys that seal the IDs of synced non-discoverable passkeys, shared by the sync
    group: ``current`` (a key ID) seals new ones; every earlier key stays, so that IDs made
    before the group's key changed still open. A key ID is 4 bytes."""

    current: bytes
    keys: Mapping[bytes, bytes]


class SyncChoice(Protocol):
    async def offer(self) -> SyncOffer | None:
        """What a new passkey may be; None: sync is not set up (device only)."""

    async def group_keys(self) -> GroupKeys | None:
        """The group's keys for non-discoverable credential IDs; None: none (not synced)."""


class DeviceOnly:
    """No sync: every passkey stays on this device."""

    async def offer(self) -> SyncOffer | None:
        return None

    async def group_keys(self) -> GroupKeys | None:
        return None


@dataclass(frozen=True, slots=True)
class PresenceRequest:
    """What a front end shows the user when it asks for presence (and maybe verification)."""

    ceremony: Ceremony
    rp_id: str | None = None
    user_name: str | None = None
    user_display_name: str | None = None
    discoverable: bool | None = None
    attestation: str | None = None
    user_verification: bool = False
    credential_count: int | None = None
    excluded: bool = False
    # Discovery with several accounts: (user name, display name) of each, most recent first;
    # a front end that shows them answers with the index of the one chosen.
    accounts: tuple[tuple[str | None, str | None], ...] = ()
    # Beside each of `accounts`, what helps the user tell them apart: (nickname, last used ms).
    account_notes: tuple[tuple[str | None, int | None], ...] = ()
    # makeCredential with sync set up: a front end may show it and let the person choose
    # ("Saved to your 3 devices" / "Only on this computer").
    sync_offer: SyncOffer | None = None


@dataclass(frozen=True, slots=True)
class PresenceResponse:
    present: bool
    verified: bool = False
    selected: int | None = None  # which of several accounts the user picked, if the UI asked
    synced: bool | None = None  # the person's choice for a new passkey (None: the default)


class UserPresence(Protocol):
    async def confirm(self, request: PresenceRequest) -> PresenceResponse: ...


class Clock(Protocol):
    def now_ms(self) -> int:
        """Wall-clock milliseconds since the epoch (credential created / last used)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, for timers (reset window)."""


class KeySource(Protocol):
    def random_bytes(self, length: int) -> bytes: ...

    def generate_key(self, algorithm: Algorithm) -> CoseKey: ...

    def new_credential_id(self) -> bytes:
        """A fresh random ID for a discoverable credential (32 bytes)."""

    def attestation_source(self) -> KeySource:
        """Where the attestation CA and key come from: a stream of their own, so a seeded
        authenticator's attestation identity is a function of its seed alone, whatever was
        drawn before it (``vauth ca --seed S`` matches a daemon seeded S)."""


class PinHasher(Protocol):
    async def hash_pin(self, left_pin_hash: bytes, salt: bytes, cost: tuple[int, int]) -> bytes:
        """Argon2id(LEFT(SHA-256(PIN), 16), salt) at ``cost`` (opslimit, memlimit): slow on
        purpose, so the daemon's hasher runs it off the event loop."""


class ResponsePort(Protocol):
    """Where makeCredential and getAssertion meet a tester, at the point their responses are
    signed: Chromium's CDP WebAuthn.setResponseOverrideBits (a bogus signature, UV or UP bits
    cleared), a chosen failure, and the credentialAdded / credentialAsserted events."""

    def failure(self, ceremony: Ceremony) -> int | None:
        """A CTAP status that this makeCredential / getAssertion must fail with, or None."""

    def flags(self, flags: int) -> int:
        """The authenticator data flags to send for ``flags`` (the true ones)."""

    def signature(self, signature: bytes) -> bytes:
        """The signature to send for ``signature`` (the true one)."""

    def signed(self, ceremony: Ceremony, credential: Credential) -> None:
        """``credential`` was just made (makeCredential) or used (getAssertion)."""


class TruthfulResponses:
    """The ``ResponsePort`` of an authenticator no tester overrides: the truth, no events."""

    def failure(self, ceremony: Ceremony) -> int | None:
        return None

    def flags(self, flags: int) -> int:
        return flags

    def signature(self, signature: bytes) -> bytes:
        return signature

    def signed(self, ceremony: Ceremony, credential: Credential) -> None:
        return None


def _inline_pin_hasher() -> PinHasher:
    from vauth.ctap.pin_state import InlinePinHasher

    return InlinePinHasher()


@dataclass(slots=True)
class Environment:
    """One object bundling every dependency of the core; tests swap any of them."""

    store: CredentialStore
    presence: UserPresence
    clock: Clock
    keys: KeySource
    pin_hasher: PinHasher = field(default_factory=_inline_pin_hasher)  # where Argon2id runs
    responses: ResponsePort = field(default_factory=TruthfulResponses)  # a tester's overrides
    sync: SyncChoice = field(default_factory=DeviceOnly)  # whether new passkeys may sync
