"""authenticatorCredentialManagement (0x0A and the 0x41 preview alias), CTAP 2.1 section 6.8.

Enumeration state (the RPs or credentials still to return) lives in ``authenticator.state``;
the dispatcher keeps it only for the GetNext subcommand that continues it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vauth.ctap import cbor, pin_uv
from vauth.ctap.credential import Credential
from vauth.ctap.lookup import PUBLIC_KEY as PUBLIC_KEY_TYPE
from vauth.ctap.parse import descriptor, optional, required
from vauth.ctap.pin_state import CM
from vauth.ctap.status import CtapError, CtapStatus

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator

GET_CREDS_METADATA = 0x01
ENUMERATE_RPS_BEGIN = 0x02
ENUMERATE_RPS_GET_NEXT_RP = 0x03
ENUMERATE_CREDENTIALS_BEGIN = 0x04
ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL = 0x05
DELETE_CREDENTIAL = 0x06
UPDATE_USER_INFORMATION = 0x07

# Response keys (section 6.8, "authenticatorCredentialManagement response structure").
EXISTING_RESIDENT_CREDENTIALS_COUNT = 0x01
MAX_POSSIBLE_REMAINING_RESIDENT_CREDENTIALS_COUNT = 0x02
RP = 0x03
RP_ID_HASH = 0x04
TOTAL_RPS = 0x05
USER = 0x06
CREDENTIAL_ID = 0x07
PUBLIC_KEY = 0x08
TOTAL_CREDENTIALS = 0x09
CRED_PROTECT = 0x0A
LARGE_BLOB_KEY = 0x0B

Response = dict[int, Any]


@dataclass(frozen=True, slots=True)
class UserEntity:
    """The PublicKeyCredentialUserEntity of updateUserInformation."""

    id: bytes
    name: str | None
    display_name: str | None

    @classmethod
    def from_cbor(cls, value: Any) -> UserEntity:
        entity = required({0: value}, 0, dict, "user")
        return cls(
            id=required(entity, "id", bytes, "user.id"),
            name=optional(entity, "name", str, "user.name"),
            display_name=optional(entity, "displayName", str, "user.displayName"),
        )


@dataclass(frozen=True, slots=True)
class CredentialManagementRequest:
    sub_command: int
    sub_command_params: dict[Any, Any] | None
    pin_uv_auth_protocol: int | None
    pin_uv_auth_param: bytes | None

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> CredentialManagementRequest:
        return cls(
            sub_command=required(params, 0x01, int, "subCommand"),
            sub_command_params=optional(params, 0x02, dict, "subCommandParams"),
            pin_uv_auth_protocol=optional(params, 0x03, int, "pinUvAuthProtocol"),
            pin_uv_auth_param=optional(params, 0x04, bytes, "pinUvAuthParam"),
        )

    def param(self, key: int, what: str) -> Any:
        """A subCommandParams member the subcommand requires: MISSING_PARAMETER if absent."""
        if self.sub_command_params is None:
            raise CtapError(CtapStatus.MISSING_PARAMETER, "subCommandParams is missing")
        if key not in self.sub_command_params:
            raise CtapError(CtapStatus.MISSING_PARAMETER, f"{what} is missing")
        return self.sub_command_params[key]


SubCommand = Callable[["Authenticator", CredentialManagementRequest], Awaitable[Response | None]]


async def handle(authenticator: Authenticator, params: dict[Any, Any]) -> Response | None:
    """authenticatorCredentialManagement, CTAP 2.1 section 6.8."""
    request = CredentialManagementRequest.from_cbor(params)
    sub_command = _SUBCOMMANDS.get(request.sub_command)
    if sub_command is None:
        raise CtapError(CtapStatus.INVALID_SUBCOMMAND, f"subCommand {request.sub_command}")
    return await sub_command(authenticator, request)


# -- authorisation ----------------------------------------------------------------------------


def _authorize(authenticator: Authenticator, request: CredentialManagementRequest) -> None:
    """The shared steps: pinUvAuthParam present (else PUAT_REQUIRED), protocol supported,
    verify(pinUvAuthToken, subCommand || subCommandParams, pinUvAuthParam), and the cm
    permission; each failure of the last two is PIN_AUTH_INVALID."""
    if request.pin_uv_auth_param is None:
        raise CtapError(CtapStatus.PUAT_REQUIRED, "credentialManagement needs a pinUvAuthToken")
    message = bytes([request.sub_command])
    if request.sub_command_params is not None:
        message += cbor.encode(request.sub_command_params)
    pin_uv.verify_token(
        authenticator, request.pin_uv_auth_protocol, message, request.pin_uv_auth_param, CM
    )


def _require_unbound_token(authenticator: Authenticator) -> None:
    """getCredsMetadata and enumerateRPsBegin: a token with a permissions RP ID won't do."""
    if authenticator.token.rp_id is not None:
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token is bound to an RP")


def _require_token_for(authenticator: Authenticator, rp_id_hash: bytes) -> None:
    """A token with a permissions RP ID may manage that RP's credentials only."""
    rp_id = authenticator.token.rp_id
    if rp_id is not None and hashlib.sha256(rp_id.encode()).digest() != rp_id_hash:
        raise CtapError(CtapStatus.PIN_AUTH_INVALID, "the token is bound to another RP")


# -- the subcommands --------------------------------------------------------------------------


async def _get_creds_metadata(
    authenticator: Authenticator, request: CredentialManagementRequest
) -> Response:
    """getCredsMetadata, section 6.8.2."""
    # 1-4. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(authenticator, request)
    # 5. No permissions RP ID.
    _require_unbound_token(authenticator)
    # 6. The counts.
    count = len(await _discoverable(authenticator))
    remaining = max(0, authenticator.config.max_discoverable_credentials - count)
    return {
        EXISTING_RESIDENT_CREDENTIALS_COUNT: count,
        MAX_POSSIBLE_REMAINING_RESIDENT_CREDENTIALS_COUNT: remaining,
    }


async def _enumerate_rps_begin(
    authenticator: Authenticator, request: CredentialManagementRequest
) -> Response:
    """enumerateRPsBegin, section 6.8.3."""
    # 1-4. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(authenticator, request)
    # 5. No permissions RP ID.
    _require_unbound_token(authenticator)
    # 6. No discoverable credentials: NO_CREDENTIALS.
    rps: dict[bytes, dict[str, Any]] = {}
    for credential in await _discoverable(authenticator):
        rps.setdefault(credential.rp_id_hash, _rp_entity(credential))
    if not rps:
        raise CtapError(CtapStatus.NO_CREDENTIALS)
    # 7. The first RP and the total; the rest wait for enumerateRPsGetNextRP.
    entries = [(entity, rp_id_hash) for rp_id_hash, entity in rps.items()]
    authenticator.state.rps = entries[1:]
    entity, rp_id_hash = entries[0]
    return {RP: entity, RP_ID_HASH: rp_id_hash, TOTAL_RPS: len(entries)}


async def _enumerate_rps_get_next_rp(
    authenticator: Authenticator, request: CredentialManagementRequest
) -> Response:
    """enumerateRPsGetNextRP, section 6.8.3."""
    # 1-2. Only straight after enumerateRPsBegin or GetNextRP, while RPs remain.
    remaining = authenticator.state.rps
    if not remaining:
        authenticator.state.rps = None
        raise CtapError(CtapStatus.NOT_ALLOWED, "no RP enumeration in progress")
    # 3. The next RP.
    entity, rp_id_hash = remaining.pop(0)
    return {RP: entity, RP_ID_HASH: rp_id_hash}


async def _enumerate_credentials_begin(
    authenticator: Authenticator, request: CredentialManagementRequest
) -> Response:
    """enumerateCredentialsBegin, section 6.8.4."""
    # 1-2. subCommandParams and its rpIDHash.
    rp_id_hash = required({0: request.param(0x01, "rpIDHash")}, 0, bytes, "rpIDHash")
    # 3-6. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(authenticator, request)
    # 7. A token with a permissions RP ID must name this RP.
    _require_token_for(authenticator, rp_id_hash)
    # 8. No discoverable credentials for this RP: NO_CREDENTIALS.
    credentials = [c for c in await authenticator.env.store.find(rp_id_hash) if c.discoverable]
    if not credentials:
        raise CtapError(CtapStatus.NO_CREDENTIALS)
    # 9. The first credential and the total; the rest wait for GetNextCredential.
    authenticator.state.credentials = credentials[1:]
    response = _credential_response(credentials[0])
    response[TOTAL_CREDENTIALS] = len(credentials)
    return response


async def _enumerate_credentials_get_next_credential(
    authenticator: Authenticator, request: CredentialManagementRequest
) -> Response:
    """enumerateCredentialsGetNextCredential, section 6.8.4."""
    # 1-2. Only straight after enumerateCredentialsBegin or GetNextCredential, while any remain.
    remaining = authenticator.state.credentials
    if not remaining:
        authenticator.state.credentials = None
        raise CtapError(CtapStatus.NOT_ALLOWED, "no credential enumeration in progress")
    # 3. The next credential.
    return _credential_response(remaining.pop(0))


async def _delete_credential(
    authenticator: Authenticator, request: CredentialManagementRequest
) -> None:
    """deleteCredential, section 6.8.5."""
    # 1-2. subCommandParams and its credentialID.
    _kind, credential_id = descriptor(request.param(0x02, "credentialID"), "credentialID")
    # 3-6. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(authenticator, request)
    # 7. Locate the credential: NO_CREDENTIALS if there is none.
    credential = await _stored(authenticator, credential_id)
    # 8. A token with a permissions RP ID must name the credential's RP.
    _require_token_for(authenticator, credential.rp_id_hash)
    # 9-10. Delete it.
    await authenticator.env.store.delete(credential.credential_id)


async def _update_user_information(
    authenticator: Authenticator, request: CredentialManagementRequest
) -> None:
    """updateUserInformation, section 6.8.6."""
    # 1-3. subCommandParams, its credentialID and user.
    _kind, credential_id = descriptor(request.param(0x02, "credentialID"), "credentialID")
    user = UserEntity.from_cbor(request.param(0x03, "user"))
    # 4-7. pinUvAuthParam, protocol, verify, the cm permission.
    _authorize(authenticator, request)
    # 8. Locate the credential: NO_CREDENTIALS if there is none.
    credential = await _stored(authenticator, credential_id)
    # 9. A token with a permissions RP ID must name the credential's RP.
    _require_token_for(authenticator, credential.rp_id_hash)
    # 10. The user handle cannot change.
    if user.id != credential.user_handle:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "user.id is not the credential's")
    # 11. Replace name and displayName; absent (or empty) ones are removed.
    credential.user_name = user.name or None
    credential.user_display_name = user.display_name or None
    await authenticator.env.store.update(credential)


# -- helpers ----------------------------------------------------------------------------------


async def _discoverable(authenticator: Authenticator) -> list[Credential]:
    return [c for c in await authenticator.env.store.all() if c.discoverable]


async def _stored(authenticator: Authenticator, credential_id: bytes) -> Credential:
    credential = await authenticator.env.store.get(credential_id)
    if credential is None or not credential.discoverable:
        raise CtapError(CtapStatus.NO_CREDENTIALS, "no such discoverable credential")
    return credential


def _rp_entity(credential: Credential) -> dict[str, Any]:
    entity: dict[str, Any] = {"id": credential.rp_id}
    if credential.rp_name is not None:
        entity["name"] = credential.rp_name
    return entity


def _credential_response(credential: Credential) -> Response:
    user: dict[str, Any] = {"id": credential.user_handle or b""}
    if credential.user_name is not None:
        user["name"] = credential.user_name
    if credential.user_display_name is not None:
        user["displayName"] = credential.user_display_name
    response: Response = {
        USER: user,
        CREDENTIAL_ID: {"id": credential.credential_id, "type": PUBLIC_KEY_TYPE},
        PUBLIC_KEY: credential.key.cose_public_key(),
        CRED_PROTECT: credential.cred_protect,
    }
    if credential.large_blob_key is not None:
        response[LARGE_BLOB_KEY] = credential.large_blob_key
    return response


_SUBCOMMANDS: dict[int, SubCommand] = {
    GET_CREDS_METADATA: _get_creds_metadata,
    ENUMERATE_RPS_BEGIN: _enumerate_rps_begin,
    ENUMERATE_RPS_GET_NEXT_RP: _enumerate_rps_get_next_rp,
    ENUMERATE_CREDENTIALS_BEGIN: _enumerate_credentials_begin,
    ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL: _enumerate_credentials_get_next_credential,
    DELETE_CREDENTIAL: _delete_credential,
    UPDATE_USER_INFORMATION: _update_user_information,
}
