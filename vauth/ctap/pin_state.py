"""PIN state: what persists through the store (CTAP 2.1 section 6.5.2) and the volatile
pinUvAuthToken state (section 6.5.2.1)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, field
from typing import Any

import nacl.pwhash

from vauth.ctap import cbor
from vauth.ctap.messages.client_pin import Permission
from vauth.ctap.ports import CredentialStore, PinHasher
from vauth.ctap.settings import Setting

SETTING = Setting.CLIENT_PIN
MAX_PIN_RETRIES = 8
MAX_UV_RETRIES = 8
CONSECUTIVE_PIN_FAILURES = 3  # then PIN_AUTH_BLOCKED until a power cycle
DEFAULT_MIN_PIN_LENGTH = 4
MAX_PIN_BYTES = 63

# Permissions (CTAP 2.1 section 6.5.5.7).
MC, GA, CM, BE, LBW, ACFG = (
    Permission.MC,
    Permission.GA,
    Permission.CM,
    Permission.BE,
    Permission.LBW,
    Permission.ACFG,
)
SUPPORTED_PERMISSIONS = MC | GA | CM | LBW | ACFG  # no bio enrollment (be)

INITIAL_USAGE_TIME_LIMIT_S = 30.0  # a token nobody uses within 30 s expires
USER_PRESENT_TIME_LIMIT_S = 30.0
MAX_USAGE_TIME_PERIOD_S = 600.0  # and any token after 10 minutes


@dataclass(slots=True)
class PinState:
    """The persistent part: a salted slow hash of the PIN, never the PIN itself."""

    pin_hash: bytes | None = None  # Argon2id(LEFT(SHA-256(PIN), 16), salt)
    salt: bytes = b""
    pin_length: int = 0  # in Unicode code points
    pin_retries: int = MAX_PIN_RETRIES
    uv_retries: int = MAX_UV_RETRIES
    force_pin_change: bool = False
    min_pin_length: int = DEFAULT_MIN_PIN_LENGTH
    min_pin_length_rp_ids: list[str] = field(default_factory=list)
    always_uv: bool = False

    @property
    def is_set(self) -> bool:
        return self.pin_hash is not None

    @classmethod
    async def load(cls, store: CredentialStore) -> PinState:
        raw = await store.get_setting(SETTING)
        if raw is None:
            return cls()
        fields: dict[str, Any] = cbor.decode(raw)
        return cls(**fields)

    async def save(self, store: CredentialStore) -> None:
        await store.set_setting(SETTING, cbor.encode(asdict(self)))

    def set_pin(self, pin: bytes, salt: bytes, pin_hash: bytes) -> None:
        """Keep ``pin_hash`` (the port's hash of ``pin`` under ``salt``), never the PIN."""
        self.salt = salt
        self.pin_hash = pin_hash
        self.pin_length = len(pin.decode("utf-8"))
        self.pin_retries = MAX_PIN_RETRIES
        self.force_pin_change = False

    async def matches(self, left_pin_hash: bytes, hasher: PinHasher, cost: tuple[int, int]) -> bool:
        """Whether LEFT(SHA-256(PIN), 16) as the platform sent it is the PIN's."""
        if self.pin_hash is None:
            return False
        computed = await hasher.hash_pin(left_pin_hash, self.salt, cost)
        return hmac.compare_digest(computed, self.pin_hash)


def left_pin_hash(pin: bytes) -> bytes:
    """LEFT(SHA-256(PIN), 16), what a platform sends as pinHashEnc's plaintext."""
    return hashlib.sha256(pin).digest()[:16]


def argon2id_pin_hash(left_pin_hash: bytes, salt: bytes, cost: tuple[int, int]) -> bytes:
    """The slow hash kept for the PIN (blocks for as long as ``cost`` says)."""
    opslimit, memlimit = cost
    return bytes(nacl.pwhash.argon2id.kdf(32, left_pin_hash, salt, opslimit, memlimit))


class InlinePinHasher:
    """The PinHasher that hashes where it is called: for callers without an event loop to keep
    free (the synchronous test facade, tests); the daemon's runs off the loop."""

    async def hash_pin(self, left_pin_hash: bytes, salt: bytes, cost: tuple[int, int]) -> bytes:
        return argon2id_pin_hash(left_pin_hash, salt, cost)


@dataclass(slots=True)
class TokenState:
    """The pinUvAuthToken's state: who may use it for what, and for how long."""

    protocol: int | None = None
    permissions: int = 0
    rp_id: str | None = None
    user_present: bool = False
    user_verified: bool = False
    started: float = 0.0
    used: bool = False

    @property
    def in_use(self) -> bool:
        return self.protocol is not None

    def begin(
        self, protocol: int, permissions: int, rp_id: str | None, user_present: bool, now: float
    ) -> None:
        """beginUsingPinUvAuthToken."""
        self.protocol, self.permissions, self.rp_id = protocol, permissions, rp_id
        self.user_present, self.user_verified = user_present, True
        self.started, self.used = now, False

    def stop(self) -> None:
        """stopUsingPinUvAuthToken."""
        self.protocol, self.permissions, self.rp_id = None, 0, None
        self.user_present = self.user_verified = self.used = False

    def observe(self, now: float) -> None:
        """The usage timer: unused for 30 s, or in use for 10 minutes, and the token expires."""
        if not self.in_use:
            return
        elapsed = now - self.started
        if elapsed > MAX_USAGE_TIME_PERIOD_S or (
            not self.used and elapsed > INITIAL_USAGE_TIME_LIMIT_S
        ):
            self.stop()
        elif elapsed > USER_PRESENT_TIME_LIMIT_S:
            self.user_present = False

    def clear_after_use(self) -> None:
        """clearUserPresentFlag, clearUserVerifiedFlag, clearPinUvAuthTokenPermissionsExceptLbw."""
        self.user_present = False
        self.user_verified = False
        self.permissions &= LBW
