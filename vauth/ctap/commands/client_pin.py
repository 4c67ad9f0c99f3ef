"""authenticatorClientPIN (0x06), CTAP 2.1 section 6.5.5: every subcommand, protocols 1 and 2."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.messages.client_pin import ClientPinRequest, ClientPinResponse, Subcommand
from vauth.ctap.parse import present
from vauth.ctap.pin_protocol import PinUvAuthProtocol
from vauth.ctap.pin_state import (
    CONSECUTIVE_PIN_FAILURES,
    GA,
    MAX_PIN_BYTES,
    MAX_PIN_RETRIES,
    MAX_UV_RETRIES,
    MC,
    SUPPORTED_PERMISSIONS,
    PinState,
    left_pin_hash,
)
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import Ceremony, Clock, KeySource, PinHasher, PresenceRequest, UserPresence
from vauth.ctap.status import CtapError, CtapStatus

GET_PIN_RETRIES = Subcommand.GET_PIN_RETRIES
GET_KEY_AGREEMENT = Subcommand.GET_KEY_AGREEMENT
SET_PIN = Subcommand.SET_PIN
CHANGE_PIN = Subcommand.CHANGE_PIN
GET_PIN_TOKEN = Subcommand.GET_PIN_TOKEN
GET_TOKEN_USING_UV = Subcommand.GET_PIN_UV_AUTH_TOKEN_USING_UV_WITH_PERMISSIONS
GET_UV_RETRIES = Subcommand.GET_UV_RETRIES
GET_TOKEN_USING_PIN = Subcommand.GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS


@dataclass(frozen=True, slots=True)
class Context:
    """What clientPIN uses."""

    config: AuthenticatorConfig
    pin_uv: PinUvAuth
    presence: UserPresence
    clock: Clock
    keys: KeySource
    pin_hasher: PinHasher


async def handle(ctx: Context, request: ClientPinRequest) -> ClientPinResponse | None:
    """authenticatorClientPIN, CTAP 2.1 section 6.5.5 (the request parsed first)."""
    sub_command = request.sub_command
    if sub_command == GET_PIN_RETRIES:
        return await _get_pin_retries(ctx)
    if sub_command == GET_UV_RETRIES:
        if not ctx.config.has_user_verification:
            raise CtapError(CtapStatus.INVALID_SUBCOMMAND, "no built-in user verification")
        return ClientPinResponse(uv_retries=(await ctx.pin_uv.pin_state()).uv_retries)
    handler = _SUBCOMMANDS.get(sub_command)
    if handler is None:
        raise CtapError(CtapStatus.INVALID_SUBCOMMAND, f"subCommand {sub_command}")
    return await handler(ctx, ctx.pin_uv.protocol_for(request.pin_uv_auth_protocol), request)


async def _get_pin_retries(ctx: Context) -> ClientPinResponse:
    pin = await ctx.pin_uv.pin_state()
    return ClientPinResponse(
        pin_retries=pin.pin_retries,
        power_cycle_state=ctx.pin_uv.consecutive_pin_failures >= CONSECUTIVE_PIN_FAILURES,
    )


async def _get_key_agreement(
    ctx: Context, protocol: PinUvAuthProtocol, request: ClientPinRequest
) -> ClientPinResponse:
    return ClientPinResponse(key_agreement=protocol.get_public_key())


async def _set_pin(ctx: Context, protocol: PinUvAuthProtocol, request: ClientPinRequest) -> None:
    key_agreement = present(request.key_agreement, "keyAgreement")
    pin_uv_auth_param = present(request.pin_uv_auth_param, "pinUvAuthParam")
    new_pin_enc = present(request.new_pin_enc, "newPinEnc")
    pin = await ctx.pin_uv.pin_state()
    if pin.is_set:
        raise CtapError(CtapStatus.NOT_ALLOWED, "a PIN is already set")
    shared = protocol.decapsulate(key_agreement)
    if not protocol.verify(shared, new_pin_enc, pin_uv_auth_param):
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "pinUvAuthParam does not verify")
    await _store_pin(ctx, pin, _new_pin(protocol, shared, new_pin_enc, pin))


async def _change_pin(ctx: Context, protocol: PinUvAuthProtocol, request: ClientPinRequest) -> None:
    key_agreement = present(request.key_agreement, "keyAgreement")
    pin_uv_auth_param = present(request.pin_uv_auth_param, "pinUvAuthParam")
    new_pin_enc = present(request.new_pin_enc, "newPinEnc")
    pin_hash_enc = present(request.pin_hash_enc, "pinHashEnc")
    pin = await _usable_pin(ctx)
    shared = protocol.decapsulate(key_agreement)
    if not protocol.verify(shared, new_pin_enc + pin_hash_enc, pin_uv_auth_param):
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "pinUvAuthParam does not verify")
    await _check_pin(ctx, protocol, shared, pin_hash_enc, pin)
    new_pin = _new_pin(protocol, shared, new_pin_enc, pin)
    if pin.force_pin_change and await pin.matches(
        left_pin_hash(new_pin), ctx.pin_hasher, ctx.config.pin_hash_cost
    ):
        raise CtapError(CtapStatus.PIN_POLICY_VIOLATION, "the new PIN must differ")
    await _store_pin(ctx, pin, new_pin)
    ctx.pin_uv.reset_tokens()


async def _get_pin_token(
    ctx: Context, protocol: PinUvAuthProtocol, request: ClientPinRequest
) -> ClientPinResponse:
    """getPinToken (CTAP 2.1 section 6.5.5.7.1, superseded): a token with the default
    permissions mc and ga. Under forcePINChange a correct PIN is answered PIN_INVALID (step 9),
    the only refusal a CTAP 2.0 platform knows; the retries are already restored (step 8)."""
    if request.permissions is not None or request.rp_id is not None:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "getPinToken takes no permissions")
    return await _token_using_pin(ctx, protocol, request, MC | GA, None, CtapStatus.PIN_INVALID)


async def _get_token_using_pin(
    ctx: Context, protocol: PinUvAuthProtocol, request: ClientPinRequest
) -> ClientPinResponse:
    """getPinUvAuthTokenUsingPinWithPermissions (section 6.5.5.7.2): under forcePINChange a
    correct PIN is answered PIN_POLICY_VIOLATION."""
    permissions, rp_id = _permissions(request)
    return await _token_using_pin(
        ctx, protocol, request, permissions, rp_id, CtapStatus.PIN_POLICY_VIOLATION
    )


async def _token_using_pin(
    ctx: Context,
    protocol: PinUvAuthProtocol,
    request: ClientPinRequest,
    permissions: int,
    rp_id: str | None,
    must_change: CtapStatus,
) -> ClientPinResponse:
    """The steps both PIN subcommands share; ``must_change`` is the answer to a correct PIN
    while forcePINChange is set, which differs between them."""
    key_agreement = present(request.key_agreement, "keyAgreement")
    pin_hash_enc = present(request.pin_hash_enc, "pinHashEnc")
    pin = await _usable_pin(ctx)
    shared = protocol.decapsulate(key_agreement)
    await _check_pin(ctx, protocol, shared, pin_hash_enc, pin)
    if pin.force_pin_change:
        raise CtapError(must_change, "the PIN must be changed first")
    return _issue_token(ctx, protocol, shared, permissions, rp_id, user_present=False)


async def _get_token_using_uv(
    ctx: Context, protocol: PinUvAuthProtocol, request: ClientPinRequest
) -> ClientPinResponse:
    if not ctx.config.has_user_verification:
        raise CtapError(CtapStatus.INVALID_SUBCOMMAND, "no built-in user verification")
    key_agreement = present(request.key_agreement, "keyAgreement")
    permissions, rp_id = _permissions(request)
    pin = await ctx.pin_uv.pin_state()
    if pin.uv_retries <= 0:
        raise CtapError(CtapStatus.UV_BLOCKED)
    shared = protocol.decapsulate(key_agreement)
    response = await ctx.presence.confirm(
        PresenceRequest(Ceremony.USER_VERIFICATION, rp_id=rp_id, user_verification=True)
    )
    if not response.present:
        raise CtapError(CtapStatus.OPERATION_DENIED, "user declined")
    if not response.verified:
        pin.uv_retries -= 1
        await ctx.pin_uv.save_pin_state()
        raise CtapError(CtapStatus.UV_BLOCKED if pin.uv_retries <= 0 else CtapStatus.UV_INVALID)
    if pin.uv_retries != MAX_UV_RETRIES:
        pin.uv_retries = MAX_UV_RETRIES
        await ctx.pin_uv.save_pin_state()
    return _issue_token(ctx, protocol, shared, permissions, rp_id, user_present=True)


def _permissions(request: ClientPinRequest) -> tuple[int, str | None]:
    permissions = present(request.permissions, "permissions")
    rp_id = request.rp_id
    if permissions == 0:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "no permissions requested")
    if permissions & (MC | GA) and rp_id is None:
        raise CtapError(CtapStatus.MISSING_PARAMETER, "mc and ga need an rpId")
    if permissions & ~SUPPORTED_PERMISSIONS:
        raise CtapError(CtapStatus.UNAUTHORIZED_PERMISSION, f"permissions 0x{permissions:02x}")
    return permissions, rp_id


def _issue_token(
    ctx: Context,
    protocol: PinUvAuthProtocol,
    shared: bytes,
    permissions: int,
    rp_id: str | None,
    user_present: bool,
) -> ClientPinResponse:
    ctx.pin_uv.reset_tokens()  # every earlier token, of either protocol, is now invalid
    ctx.pin_uv.token.begin(
        protocol.version, permissions, rp_id, user_present, ctx.clock.monotonic()
    )
    return ClientPinResponse(pin_uv_auth_token=protocol.encrypt(shared, protocol.token))


async def _usable_pin(ctx: Context) -> PinState:
    pin = await ctx.pin_uv.pin_state()
    if not pin.is_set:
        raise CtapError(CtapStatus.PIN_NOT_SET)
    if pin.pin_retries <= 0:
        raise CtapError(CtapStatus.PIN_BLOCKED)
    if ctx.pin_uv.consecutive_pin_failures >= CONSECUTIVE_PIN_FAILURES:
        raise CtapError(CtapStatus.PIN_AUTH_BLOCKED, "power-cycle the authenticator")
    return pin


async def _check_pin(
    ctx: Context,
    protocol: PinUvAuthProtocol,
    shared: bytes,
    pin_hash_enc: bytes,
    pin: PinState,
) -> None:
    """Spend one retry, compare, and restore the retries on a match (section 6.5.5.5)."""
    pin.pin_retries -= 1
    await ctx.pin_uv.save_pin_state()  # the attempt counts even if power is cut now
    pin_hash = protocol.decrypt(shared, pin_hash_enc)
    if (
        pin_hash is None
        or len(pin_hash) != 16
        or not await pin.matches(pin_hash, ctx.pin_hasher, ctx.config.pin_hash_cost)
    ):
        protocol.regenerate()
        ctx.pin_uv.consecutive_pin_failures += 1
        if pin.pin_retries <= 0:
            raise CtapError(CtapStatus.PIN_BLOCKED)
        if ctx.pin_uv.consecutive_pin_failures >= CONSECUTIVE_PIN_FAILURES:
            raise CtapError(CtapStatus.PIN_AUTH_BLOCKED)
        raise CtapError(CtapStatus.PIN_INVALID)
    ctx.pin_uv.consecutive_pin_failures = 0
    pin.pin_retries = MAX_PIN_RETRIES
    await ctx.pin_uv.save_pin_state()


async def _store_pin(ctx: Context, pin: PinState, new_pin: bytes) -> None:
    """Keep the slow hash of ``new_pin`` under a fresh salt, with the retries restored."""
    salt = ctx.keys.random_bytes(16)
    cost = ctx.config.pin_hash_cost
    pin.set_pin(
        new_pin,
        salt,
        await ctx.pin_hasher.hash_pin(left_pin_hash(new_pin), salt, cost),
    )
    await ctx.pin_uv.save_pin_state()


def _new_pin(
    protocol: PinUvAuthProtocol, shared: bytes, new_pin_enc: bytes, pin: PinState
) -> bytes:
    """Decrypt newPinEnc and apply the PIN policy (at least minPINLength code points, at most
    63 bytes of UTF-8)."""
    padded = protocol.decrypt(shared, new_pin_enc)
    if padded is None or len(padded) != 64:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "newPinEnc is not a padded PIN")
    new_pin = padded.rstrip(b"\x00")
    try:
        length = len(new_pin.decode("utf-8"))
    except UnicodeDecodeError:
        raise CtapError(CtapStatus.PIN_POLICY_VIOLATION, "the PIN is not UTF-8") from None
    if length < pin.min_pin_length or len(new_pin) > MAX_PIN_BYTES:
        raise CtapError(CtapStatus.PIN_POLICY_VIOLATION, "the PIN is too short or too long")
    return new_pin


_SUBCOMMANDS: dict[int, Callable[..., Awaitable[ClientPinResponse | None]]] = {
    GET_KEY_AGREEMENT: _get_key_agreement,
    SET_PIN: _set_pin,
    CHANGE_PIN: _change_pin,
    GET_PIN_TOKEN: _get_pin_token,
    GET_TOKEN_USING_UV: _get_token_using_uv,
    GET_TOKEN_USING_PIN: _get_token_using_pin,
}
