"""authenticatorGetAssertion (0x02), CTAP 2.1 section 6.2.2."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from vauth.ctap import auth_data, pin_uv
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.credential import Credential
from vauth.ctap.extensions import cred_blob, cred_protect, enabled, hmac_secret, large_blob_key
from vauth.ctap.extensions.hmac_secret import HmacSecretInput, Salts
from vauth.ctap.lookup import find_listed, next_sign_count
from vauth.ctap.messages.get_assertion import GetAssertionRequest, GetAssertionResponse
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import (
    Ceremony,
    Clock,
    CredentialStore,
    PresenceRequest,
    ResponsePort,
    UserPresence,
)
from vauth.ctap.secrets import Secrets
from vauth.ctap.state import CommandState, PendingAssertions
from vauth.ctap.status import CtapError, CtapStatus

NEXT_ASSERTION_TIMEOUT_S = 30.0  # CTAP 2.1 section 6.3: the getNextAssertion timer


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorGetAssertion uses."""

    config: AuthenticatorConfig
    store: CredentialStore
    presence: UserPresence
    clock: Clock
    pin_uv: PinUvAuth
    secrets: Secrets
    state: CommandState
    responses: ResponsePort  # a tester's overrides, applied where the response is signed


class Signer(Protocol):
    """What signing one assertion needs (getAssertion's and getNextAssertion's contexts)."""

    @property
    def store(self) -> CredentialStore: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def responses(self) -> ResponsePort: ...


@dataclass(frozen=True, slots=True)
class AssertionExtensions:
    """The extension work of one getAssertion, done for each credential it returns (the first
    and those of getNextAssertion alike)."""

    salts: Salts | None = None  # hmac-secret, opened once the user consented
    get_cred_blob: bool = False
    large_blob_key: bool = False

    def outputs(self, credential: Credential, user_verified: bool) -> dict[str, Any]:
        """The authenticator-data extension outputs for ``credential``."""
        outputs: dict[str, Any] = {}
        if self.salts is not None:
            cred_random = hmac_secret.cred_random(credential, user_verified)
            if cred_random is not None:  # a credential made without hmac-secret says nothing
                outputs[hmac_secret.NAME] = self.salts.output(cred_random)
        if self.get_cred_blob:
            outputs[cred_blob.NAME] = credential.cred_blob or b""
        return outputs


_NO_EXTENSIONS = AssertionExtensions()  # frozen: shared by every assertion without extension work


async def handle(ctx: Context, request: GetAssertionRequest) -> GetAssertionResponse:
    told = ctx.responses.failure(Ceremony.GET_ASSERTION)  # a tester's chosen failure
    if told is not None:
        raise CtapError(CtapStatus(told), "the failure a tester asked for")

    # 5. Options: rk is not an option of getAssertion; up defaults to true.
    if "rk" in request.options:
        raise CtapError(CtapStatus.UNSUPPORTED_OPTION, "rk is not a getAssertion option")
    up = request.options.get("up", True)

    # 4. Extensions: parse the supported ones now (unsupported ones are ignored).
    config = ctx.config
    hmac_input = None
    get_cred_blob = want_large_blob_key = False
    if request.extensions:  # none asked for: nothing to parse
        if enabled(config, hmac_secret.NAME) and hmac_secret.NAME in request.extensions:
            hmac_input = HmacSecretInput.from_cbor(
                request.extensions[hmac_secret.NAME], hmac_secret.NAME
            )
            if not up:  # section 12.5: no secrets for a silent probe
                raise CtapError(CtapStatus.UNSUPPORTED_OPTION, "hmac-secret needs user presence")
        get_cred_blob = enabled(config, cred_blob.NAME) and cred_blob.get_requested(
            request.extensions
        )
        want_large_blob_key = enabled(config, large_blob_key.NAME) and large_blob_key.requested(
            request.extensions
        )

    # 1-2, 5-6 and 11. PIN/UV: the pinUvAuthParam, alwaysUv.
    verification = await pin_uv.settle(
        ctx.pin_uv,
        ctx.presence,
        Ceremony.GET_ASSERTION,
        request.rp_id,
        request.client_data_hash,
        request.pin_uv_auth_param,
        request.pin_uv_auth_protocol,
        request.options.get("uv", False),
        requires_uv=False,
    )
    uv = verification.uv_by_token or verification.builtin_uv

    # 7. Locate the applicable credentials, scoped to this rpId.
    rp_id_hash = hashlib.sha256(request.rp_id.encode()).digest()
    if request.allow_list is not None and request.allow_list:
        found = await find_listed(ctx, request.rp_id, rp_id_hash, request.allow_list, uv)
        credentials = [found] if found is not None else []  # any one will do (step 10)
    else:
        stored = await ctx.store.find(rp_id_hash)
        # Most recent first; the store lists oldest first, so among equal creation times the
        # one stored last comes first too (sorting is stable).
        credentials = sorted(
            (
                c
                for c in reversed(stored)
                if c.discoverable and cred_protect.usable(c.cred_protect, uv, False)
            ),
            key=lambda c: c.created,
            reverse=True,
        )
    if not credentials:
        raise CtapError(CtapStatus.NO_CREDENTIALS)

    # 9. User presence and verification. A probe with up=false is answered silently. When the
    #    front end can show accounts (a display, in CTAP's terms), the user may pick one.
    discovery = request.allow_list is None or not request.allow_list
    user_selected = False
    if (up and not verification.up_done) or verification.builtin_uv:
        response = await ctx.presence.confirm(
            PresenceRequest(
                Ceremony.GET_ASSERTION,
                rp_id=request.rp_id,
                user_verification=verification.builtin_uv,
                credential_count=len(credentials),
                accounts=tuple((c.user_name, c.user_display_name) for c in credentials)
                if discovery
                else (),
                account_notes=tuple((c.nickname, c.last_used) for c in credentials)
                if discovery
                else (),
            )
        )
        if not response.present or (verification.builtin_uv and not response.verified):
            raise CtapError(CtapStatus.OPERATION_DENIED, "user declined")
        if discovery and response.selected is not None:
            if not 0 <= response.selected < len(credentials):
                raise CtapError(CtapStatus.OPERATION_DENIED, "no such account")
            credentials = [credentials[response.selected]]
            user_selected = True
    user_present, user_verified = up, uv
    if verification.uv_by_token and up:
        ctx.pin_uv.token.clear_after_use()
    flags = (auth_data.UP if user_present else 0) | (auth_data.UV if user_verified else 0)
    extensions = (
        AssertionExtensions(
            salts=hmac_secret.open_salts(ctx.pin_uv, hmac_input) if hmac_input else None,
            get_cred_blob=get_cred_blob,
            large_blob_key=want_large_blob_key,
        )
        if hmac_input or get_cred_blob or want_large_blob_key
        else _NO_EXTENSIONS
    )

    # 10-12. The first credential now; the rest through getNextAssertion. The user's name and
    #        display name go out only to tell several accounts apart, and only after UV.
    several = discovery and len(credentials) > 1
    identify_user = several and user_verified
    if several:
        ctx.state.assertions = PendingAssertions(
            rp_id_hash=rp_id_hash,
            client_data_hash=request.client_data_hash,
            credentials=credentials[1:],
            flags=flags,
            identify_user=identify_user,
            expires_at=ctx.clock.monotonic() + NEXT_ASSERTION_TIMEOUT_S,
            extensions=extensions,
        )
    return await assert_credential(
        ctx,
        credentials[0],
        rp_id_hash,
        request.client_data_hash,
        flags,
        identify_user,
        extensions,
        number_of_credentials=len(credentials) if several else None,
        user_selected=True if user_selected else None,  # the platform need not ask again
    )


async def assert_credential(
    ctx: Signer,
    credential: Credential,
    rp_id_hash: bytes,
    client_data_hash: bytes,
    flags: int,
    identify_user: bool,
    extensions: AssertionExtensions,
    number_of_credentials: int | None = None,
    user_selected: bool | None = None,
) -> GetAssertionResponse:
    """Sign one assertion with ``credential`` (getAssertion steps 11-13)."""
    if credential.backup_eligible:
        flags |= auth_data.BE
    if credential.backup_state:
        flags |= auth_data.BS
    outputs = extensions.outputs(credential, bool(flags & auth_data.UV))
    sign_count = await next_sign_count(ctx.store, credential)
    responses = ctx.responses
    data = auth_data.build(rp_id_hash, responses.flags(flags), sign_count, None, outputs)
    signature = responses.signature(credential.key.sign(data + client_data_hash))
    if (credential.stored or credential.sealed) and flags & auth_data.UP:  # a probe is no use
        credential.last_used = ctx.clock.now_ms()
        await ctx.store.touch(credential.credential_id, credential.last_used)
    responses.signed(Ceremony.GET_ASSERTION, credential)
    user: dict[str, Any] | None = None
    if credential.discoverable and credential.user_handle is not None:
        user = {"id": credential.user_handle}
        if identify_user:
            if credential.user_name is not None:
                user["name"] = credential.user_name
            if credential.user_display_name is not None:
                user["displayName"] = credential.user_display_name
    return GetAssertionResponse(
        credential_id=credential.credential_id,
        auth_data=data,
        signature=signature,
        user=user,
        number_of_credentials=number_of_credentials,
        user_selected=user_selected,
        large_blob_key=(
            credential.large_blob_key
            if extensions.large_blob_key and credential.large_blob_key
            else None
        ),
    )
