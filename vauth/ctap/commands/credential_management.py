"""authenticatorCredentialManagement (0x0A and the 0x41 preview alias), CTAP 2.1 section 6.8.

Enumeration state (the RPs or credentials still to return) lives in the command state;
the dispatcher keeps it only for the GetNext subcommand that continues it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.credential import Credential
from vauth.ctap.messages.credential_management import (
    CredentialManagementRequest,
    CredentialManagementResponse,
    ParamKey,
    Subcommand,
    UserEntity,
)
from vauth.ctap.parse import descriptor, typed
from vauth.ctap.pin_state import CM
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import CredentialStore
from vauth.ctap.state import CommandState
from vauth.ctap.status import CtapError, CtapStatus


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorCredentialManagement uses."""

    config: AuthenticatorConfig
    store: CredentialStore
    pin_uv: PinUvAuth
    state: CommandState


Response = CredentialManagementResponse
SubCommand = Callable[[Context, CredentialManagementRequest], Awaitable[Response | None]]


async def handle(ctx: Context, request: CredentialManagementRequest) -> Response | None:
    """authenticatorCredentialManagement, CTAP 2.1 section 6.8 (the request parsed first)."""
    sub_command = _SUBCOMMANDS.get(request.sub_command)
    if sub_command is None:
        raise CtapError(CtapStatus.INVALID_SUBCOMMAND, f"subCommand {request.sub_command}")
    return await sub_command(ctx, request)


# -- authorisation ----------------------------------------------------------------------------


def _authorize(ctx: Context, request: CredentialManagementRequest) -> None:
    """The shared steps: pinUvAuthParam present (else PUAT_REQUIRED), protocol supported,
    verify(pinUvAuthToken, subCommand || subCommandParams, pinUvAuthParam), and the cm
    permission; each failure of the last two is PIN_AUTH_INVALID."""
    if request.pin_uv_auth_param is None:
        raise CtapError(CtapStatus.PUAT_REQUIRED, "credentialManagement needs a pinUvAuthToken")
    ctx.pin_uv.verify_token(
        request.pin_uv_auth_protocol,
        request.auth_message(),
        request.pin_uv_auth_param,
        CM,
    )


def _require_unbound_token(ctx: Context) -> None:
    """getCredsMetadata and enumerateRPsBegin: a token with a permissions RP ID won't do."""
    if ctx.pin_uv.token.rp_id is not None:
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token is bound to an RP")


def _require_token_for(ctx: Context, rp_id_hash: bytes) -> None:
    """A token with a permissions RP ID may manage that RP's credentials only."""
    rp_id = ctx.pin_uv.token.rp_id
    if rp_id is not None and hashlib.sha256(rp_id.encode()).digest() != rp_id_hash:
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token is bound to another RP")


# -- the subcommands --------------------------------------------------------------------------


async def _get_creds_metadata(ctx: Context, request: CredentialManagementRequest) -> Response:
    """getCredsMetadata, section 6.8.2."""
    # 1-4. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(ctx, request)
    # 5. No permissions RP ID.
    _require_unbound_token(ctx)
    # 6. The counts.
    count = len(await _discoverable(ctx))
    remaining = max(0, ctx.config.max_discoverable_credentials - count)
    return Response(
        existing_resident_credentials_count=count,
        max_possible_remaining_resident_credentials_count=remaining,
    )


async def _enumerate_rps_begin(ctx: Context, request: CredentialManagementRequest) -> Response:
    """enumerateRPsBegin, section 6.8.3."""
    # 1-4. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(ctx, request)
    # 5. No permissions RP ID.
    _require_unbound_token(ctx)
    # 6. No discoverable credentials: NO_CREDENTIALS.
    rps: dict[bytes, dict[str, Any]] = {}
    for credential in await _discoverable(ctx):
        rps.setdefault(credential.rp_id_hash, _rp_entity(credential))
    if not rps:
        raise CtapError(CtapStatus.NO_CREDENTIALS)
    # 7. The first RP and the total; the rest wait for enumerateRPsGetNextRP.
    entries = [(entity, rp_id_hash) for rp_id_hash, entity in rps.items()]
    ctx.state.rps = entries[1:]
    entity, rp_id_hash = entries[0]
    return Response(rp=entity, rp_id_hash=rp_id_hash, total_rps=len(entries))


async def _enumerate_rps_get_next_rp(
    ctx: Context, request: CredentialManagementRequest
) -> Response:
    """enumerateRPsGetNextRP, section 6.8.3."""
    # 1-2. Only straight after enumerateRPsBegin or GetNextRP, while RPs remain.
    remaining = ctx.state.rps
    if not remaining:
        ctx.state.rps = None
        raise CtapError(CtapStatus.NOT_ALLOWED, "no RP enumeration in progress")
    # 3. The next RP.
    entity, rp_id_hash = remaining.pop(0)
    return Response(rp=entity, rp_id_hash=rp_id_hash)


async def _enumerate_credentials_begin(
    ctx: Context, request: CredentialManagementRequest
) -> Response:
    """enumerateCredentialsBegin, section 6.8.4."""
    # 1-2. subCommandParams and its rpIDHash.
    rp_id_hash = typed(request.param(ParamKey.RP_ID_HASH, "rpIDHash"), bytes, "rpIDHash")
    # 3-6. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(ctx, request)
    # 7. A token with a permissions RP ID must name this RP.
    _require_token_for(ctx, rp_id_hash)
    # 8. No discoverable credentials for this RP: NO_CREDENTIALS.
    credentials = [c for c in await ctx.store.find(rp_id_hash) if c.discoverable]
    if not credentials:
        raise CtapError(CtapStatus.NO_CREDENTIALS)
    # 9. The first credential and the total; the rest wait for GetNextCredential.
    ctx.state.credentials = credentials[1:]
    return _credential_response(credentials[0], total=len(credentials))


async def _enumerate_credentials_get_next_credential(
    ctx: Context, request: CredentialManagementRequest
) -> Response:
    """enumerateCredentialsGetNextCredential, section 6.8.4."""
    # 1-2. Only straight after enumerateCredentialsBegin or GetNextCredential, while any remain.
    remaining = ctx.state.credentials
    if not remaining:
        ctx.state.credentials = None
        raise CtapError(CtapStatus.NOT_ALLOWED, "no credential enumeration in progress")
    # 3. The next credential.
    return _credential_response(remaining.pop(0))


async def _delete_credential(ctx: Context, request: CredentialManagementRequest) -> None:
    """deleteCredential, section 6.8.5."""
    # 1-2. subCommandParams and its credentialID.
    _kind, credential_id = descriptor(
        request.param(ParamKey.CREDENTIAL_ID, "credentialID"), "credentialID"
    )
    # 3-6. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(ctx, request)
    # 7. Locate the credential: NO_CREDENTIALS if there is none.
    credential = await _stored(ctx, credential_id)
    # 8. A token with a permissions RP ID must name the credential's RP.
    _require_token_for(ctx, credential.rp_id_hash)
    # 9-10. Delete it.
    await ctx.store.delete(credential.credential_id)


async def _update_user_information(ctx: Context, request: CredentialManagementRequest) -> None:
    """updateUserInformation, section 6.8.6."""
    # 1-3. subCommandParams, its credentialID and user.
    _kind, credential_id = descriptor(
        request.param(ParamKey.CREDENTIAL_ID, "credentialID"), "credentialID"
    )
    user = UserEntity.from_cbor(request.param(ParamKey.USER, "user"))
    # 4-7. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(ctx, request)
    # 8. Locate the credential: NO_CREDENTIALS if there is none.
    credential = await _stored(ctx, credential_id)
    # 9. A token with a permissions RP ID must name the credential's RP.
    _require_token_for(ctx, credential.rp_id_hash)
    # 10. The user handle cannot change.
    if user.id != credential.user_handle:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "user.id is not the credential's")
    # 11. Replace name and displayName; absent (or empty) ones are removed.
    credential.user_name = user.name or None
    credential.user_display_name = user.display_name or None
    await ctx.store.update(credential)


# -- helpers ----------------------------------------------------------------------------------


async def _discoverable(ctx: Context) -> list[Credential]:
    return [c for c in await ctx.store.all() if c.discoverable]


async def _stored(ctx: Context, credential_id: bytes) -> Credential:
    credential = await ctx.store.get(credential_id)
    if credential is None or not credential.discoverable:
        raise CtapError(CtapStatus.NO_CREDENTIALS, "no such discoverable credential")
    return credential


def _rp_entity(credential: Credential) -> dict[str, Any]:
    entity: dict[str, Any] = {"id": credential.rp_id}
    if credential.rp_name is not None:
        entity["name"] = credential.rp_name
    return entity


def _credential_response(credential: Credential, total: int | None = None) -> Response:
    user: dict[str, Any] = {"id": credential.user_handle or b""}
    if credential.user_name is not None:
        user["name"] = credential.user_name
    if credential.user_display_name is not None:
        user["displayName"] = credential.user_display_name
    return Response(
        user=user,
        credential_id=credential.credential_id,
        public_key=credential.key.cose_public_key(),
        total_credentials=total,
        cred_protect=credential.cred_protect,
        large_blob_key=credential.large_blob_key,
    )


_SUBCOMMANDS: dict[int, SubCommand] = {
    Subcommand.GET_CREDS_METADATA: _get_creds_metadata,
    Subcommand.ENUMERATE_RPS_BEGIN: _enumerate_rps_begin,
    Subcommand.ENUMERATE_RPS_GET_NEXT_RP: _enumerate_rps_get_next_rp,
    Subcommand.ENUMERATE_CREDENTIALS_BEGIN: _enumerate_credentials_begin,
    Subcommand.ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL: (
        _enumerate_credentials_get_next_credential
    ),
    Subcommand.DELETE_CREDENTIAL: _delete_credential,
    Subcommand.UPDATE_USER_INFORMATION: _update_user_information,
}
