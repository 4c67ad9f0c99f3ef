"""The PIN/UV auth component (protocols, pinUvAuthToken, PIN state, consecutive failures) and
the UV-or-PIN rules makeCredential and getAssertion share (CTAP 2.1 sections 6.1.2 and 6.2.2,
steps 1-6 and 11)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.pin_protocol import PinUvAuthProtocol, PinUvAuthProtocolTwo
from vauth.ctap.pin_state import GA, MC, PinState, TokenState
from vauth.ctap.ports import (
    Ceremony,
    Clock,
    CredentialStore,
    KeySource,
    PresenceRequest,
    UserPresence,
)
from vauth.ctap.status import CtapError, CtapStatus


@dataclass(slots=True)
class PinUvAuth:
    """PIN/UV auth state: the persistent PIN state (loaded on first use) and the volatile
    protocols, pinUvAuthToken and consecutive PIN failures that a power cycle renews."""

    store: CredentialStore
    clock: Clock
    keys: KeySource
    config: AuthenticatorConfig
    protocols: dict[int, PinUvAuthProtocol] = field(default_factory=dict)
    token: TokenState = field(default_factory=TokenState)
    consecutive_pin_failures: int = 0
    version: int = 0  # changes with the PIN state (what getInfo reports of it)
    _pin: PinState | None = None

    def __post_init__(self) -> None:
        self.power_cycle()

    def power_cycle(self) -> None:
        """New key-agreement keys and tokens; the consecutive PIN failures forgotten."""
        random_bytes = self.keys.random_bytes
        self.protocols = {2: PinUvAuthProtocolTwo(random_bytes), 1: PinUvAuthProtocol(random_bytes)}
        self.token = TokenState()
        self.consecutive_pin_failures = 0

    async def pin_state(self) -> PinState:
        if self._pin is None:
            self._pin = await PinState.load(self.store)
        return self._pin

    async def save_pin_state(self) -> None:
        self.version += 1
        await (await self.pin_state()).save(self.store)

    async def forget_pin(self) -> None:
        """authenticatorReset: no PIN, default policy, fresh retries."""
        self.version += 1
        self._pin = PinState()
        await self._pin.save(self.store)
        self.reset_tokens()

    def forget(self) -> None:
        """The store locked: drop the PIN state held in memory and every token."""
        self.version += 1
        self._pin = None
        self.reset_tokens()

    def reset_tokens(self) -> None:
        """resetPinUvAuthToken for every protocol: each outstanding token becomes useless."""
        for protocol in self.protocols.values():
            protocol.reset_token()
        self.token.stop()

    def is_protected(self, pin: PinState) -> bool:
        """Whether a PIN or built-in user verification guards the authenticator."""
        return pin.is_set or self.config.has_user_verification

    def protocol_for(self, version: int | None) -> PinUvAuthProtocol:
        if version is None:
            raise CtapError(CtapStatus.MISSING_PARAMETER, "pinUvAuthProtocol is missing")
        protocol = self.protocols.get(version)
        if protocol is None:
            raise CtapError(CtapStatus.INVALID_PARAMETER, f"pinUvAuthProtocol {version}")
        return protocol

    def verify_token(
        self,
        version: int | None,
        message: bytes,
        pin_uv_auth_param: bytes,
        permission: int,
        rp_id: str | None = None,
    ) -> None:
        """Check a pinUvAuthParam made with the current pinUvAuthToken, and that the token may
        do ``permission`` (for ``rp_id``, binding it to that RP if it was issued without one)."""
        protocol = self.protocol_for(version)
        token = self.token
        token.observe(self.clock.monotonic())
        if token.protocol != protocol.version or not protocol.verify(
            protocol.token, message, pin_uv_auth_param
        ):
            raise CtapError(CtapStatus.PIN_AUTH_INVALID, "pinUvAuthParam does not verify")
        if not token.permissions & permission:
            raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token lacks the permission")
        if rp_id is not None:
            if token.rp_id is not None and token.rp_id != rp_id:
                raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token is bound to another RP")
            token.rp_id = rp_id
        token.used = True


@dataclass(frozen=True, slots=True)
class Verification:
    """How a ceremony's user verification was settled before user presence is asked."""

    uv_by_token: bool  # the pinUvAuthParam verified: UV done, maybe UP too
    builtin_uv: bool  # built-in UV is to be performed with the presence prompt
    up_done: bool  # the token carried user presence already


async def settle(
    pin_uv: PinUvAuth,
    presence: UserPresence,
    ceremony: Ceremony,
    rp_id: str,
    client_data_hash: bytes,
    pin_uv_auth_param: bytes | None,
    version: int | None,
    uv_option: bool,
    requires_uv: bool,
) -> Verification:
    """Steps 1-7 and 11 of makeCredential / getAssertion. ``requires_uv``: whether this request
    needs UV on a protected authenticator (a discoverable credential, under makeCredUvNotRqd;
    in CTAP 2.0 mode any makeCredential once a PIN is set)."""
    config = pin_uv.config
    pin = await pin_uv.pin_state()
    # 1. A zero-length pinUvAuthParam asks "is this the authenticator?": touch, then say why not.
    if pin_uv_auth_param is not None and not pin_uv_auth_param:
        response = await presence.confirm(PresenceRequest(Ceremony.SELECTION, rp_id=rp_id))
        if not response.present:
            raise CtapError(CtapStatus.OPERATION_DENIED, "user declined")
        raise CtapError(CtapStatus.PIN_INVALID if pin.is_set else CtapStatus.PIN_NOT_SET)
    # 2. The protocol must be one of ours.
    if pin_uv_auth_param is not None:
        pin_uv.protocol_for(version)
        uv_option = False  # the token stands for UV; the uv option is ignored
    # 5. Built-in UV must exist to be asked for.
    if uv_option and not config.has_user_verification:
        ctap20 = not config.ctap21
        status = CtapStatus.UNSUPPORTED_OPTION if ctap20 else CtapStatus.INVALID_OPTION
        raise CtapError(status, "no built-in user verification")
    # 6-7. alwaysUv, and UV for what the request needs it (makeCredUvNotRqd: only
    #      discoverable credentials need UV on a protected authenticator).
    if pin_uv_auth_param is None and not uv_option:
        if pin.always_uv:
            if config.has_user_verification:
                uv_option = True  # built-in UV, performed with the presence prompt
            else:
                raise CtapError(
                    CtapStatus.PUAT_REQUIRED if pin.is_set else CtapStatus.PIN_NOT_SET,
                    "alwaysUv: user verification is required",
                )
        elif requires_uv and pin_uv.is_protected(pin):
            raise CtapError(CtapStatus.PUAT_REQUIRED, "user verification is required")
    # 11. Verify the pinUvAuthParam.
    if pin_uv_auth_param is not None:
        permission = MC if ceremony is Ceremony.MAKE_CREDENTIAL else GA
        pin_uv.verify_token(version, client_data_hash, pin_uv_auth_param, permission, rp_id)
        token = pin_uv.token
        if not token.user_verified:
            raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token no longer carries UV")
        return Verification(uv_by_token=True, builtin_uv=False, up_done=token.user_present)
    return Verification(uv_by_token=False, builtin_uv=uv_option, up_done=False)
