"""authenticatorMakeCredential (0x01), CTAP 2.1 section 6.1.2."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from vauth.ctap import auth_data, pin_uv
from vauth.ctap.attestation import AttestationMode, none, packed
from vauth.ctap.config import MAX_CRED_BLOB_LENGTH, AuthenticatorConfig
from vauth.ctap.cose import Algorithm
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.ctap.credential_id import NONCE_LENGTH
from vauth.ctap.extensions import (
    cred_blob,
    cred_protect,
    enabled,
    hmac_secret,
    large_blob_key,
    min_pin_length,
)
from vauth.ctap.extensions.hmac_secret import HmacSecretInput
from vauth.ctap.lookup import PUBLIC_KEY, find_listed, next_sign_count, sealed_record
from vauth.ctap.messages.make_credential import MakeCredentialRequest, MakeCredentialResponse
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import (
    Ceremony,
    Clock,
    CredentialStore,
    KeySource,
    PresenceRequest,
    ResponsePort,
    SyncChoice,
    UserPresence,
)
from vauth.ctap.secrets import Secrets
from vauth.ctap.status import CtapError, CtapStatus


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorMakeCredential uses."""

    config: AuthenticatorConfig
    store: CredentialStore
    presence: UserPresence
    clock: Clock
    keys: KeySource
    pin_uv: PinUvAuth
    secrets: Secrets
    responses: ResponsePort  # a tester's overrides, applied where the response is signed
    sync: SyncChoice  # whether a new discoverable passkey may sync, and the vault's default


@dataclass(frozen=True, slots=True)
class ExtensionInputs:
    """What makeCredential's extensions ask for, parsed before anything is done."""

    hmac_secret: bool = False
    hmac_secret_mc: HmacSecretInput | None = None
    cred_blob: bytes | None = None
    large_blob_key: bool = False
    min_pin_length: bool = False

    @classmethod
    def parse(
        cls, config: AuthenticatorConfig, extensions: dict[str, Any], rk: bool
    ) -> ExtensionInputs:
        """Supported extensions only; the others are ignored (CTAP 2.1 section 6.1.2, step 9)."""
        hmac = enabled(config, hmac_secret.NAME) and hmac_secret.requested(extensions)
        mc = None
        if hmac and enabled(config, hmac_secret.MC_NAME) and hmac_secret.MC_NAME in extensions:
            mc = HmacSecretInput.from_cbor(extensions[hmac_secret.MC_NAME], hmac_secret.MC_NAME)
        blob = cred_blob.requested(extensions) if enabled(config, cred_blob.NAME) else None
        key = enabled(config, large_blob_key.NAME) and large_blob_key.requested(extensions)
        if key:
            large_blob_key.check_make_credential(rk)
        pin_length = enabled(config, min_pin_length.NAME) and min_pin_length.requested(extensions)
        return cls(hmac, mc, blob, key, pin_length)


async def handle(ctx: Context, request: MakeCredentialRequest) -> MakeCredentialResponse:
    config = ctx.config
    told = ctx.responses.failure(Ceremony.MAKE_CREDENTIAL)  # a tester's chosen failure
    if told is not None:
        raise CtapError(CtapStatus(told), "the failure a tester asked for")

    # 3. The first supported algorithm of pubKeyCredParams wins.
    algorithm = _choose_algorithm(request.pub_key_cred_params, config.algorithms)

    # 4-5. Options.
    rk = request.options.get("rk", False)
    if rk and not config.has_resident_key:
        raise CtapError(CtapStatus.UNSUPPORTED_OPTION, "no resident key support")
    if request.options.get("up") is False:
        raise CtapError(CtapStatus.INVALID_OPTION, "up=false is not allowed in makeCredential")
    extension_inputs = ExtensionInputs.parse(config, request.extensions, rk)

    # 1-2, 5-7 and 11. PIN/UV: the pinUvAuthParam, alwaysUv, makeCredUvNotRqd.
    requires_uv = rk if config.ctap21 else (await ctx.pin_uv.pin_state()).is_set
    verification = await pin_uv.settle(
        ctx.pin_uv,
        ctx.presence,
        Ceremony.MAKE_CREDENTIAL,
        request.rp_id,
        request.client_data_hash,
        request.pin_uv_auth_param,
        request.pin_uv_auth_protocol,
        request.options.get("uv", False),
        requires_uv,
    )
    uv = verification.uv_by_token or verification.builtin_uv

    # 8. Enterprise attestation is not offered.
    if request.enterprise_attestation is not None:
        raise CtapError(CtapStatus.INVALID_PARAMETER, "enterprise attestation is not supported")

    rp_id_hash = hashlib.sha256(request.rp_id.encode()).digest()
    level = cred_protect.requested(request.extensions)

    # 12. excludeList: a credential of ours for this RP means CREDENTIAL_EXCLUDED, after the
    #     user has shown presence (so a page cannot probe without a touch).
    excluded = await find_listed(ctx, request.rp_id, rp_id_hash, request.exclude_list, uv)
    if excluded is not None:
        if not verification.up_done:
            response = await ctx.presence.confirm(
                PresenceRequest(Ceremony.MAKE_CREDENTIAL, rp_id=request.rp_id, excluded=True)
            )
            if not response.present:
                raise CtapError(CtapStatus.OPERATION_DENIED, "user declined")
        raise CtapError(CtapStatus.CREDENTIAL_EXCLUDED)

    # 13-14. User presence (unless the token carries it) and built-in UV (when it is due).
    # A discoverable passkey syncs through the vault; a non-discoverable one through its ID,
    # sealed under a key the sync group shares (none yet: it stays on this computer).
    sync_offer = await ctx.sync.offer()
    group = None if rk or sync_offer is None else await ctx.sync.group_keys()
    if not rk and group is None:
        sync_offer = None
    synced = sync_offer is not None and sync_offer.default
    if not verification.up_done or verification.builtin_uv:
        response = await ctx.presence.confirm(
            PresenceRequest(
                Ceremony.MAKE_CREDENTIAL,
                rp_id=request.rp_id,
                user_name=request.user_name,
                user_display_name=request.user_display_name,
                discoverable=rk,
                attestation=config.attestation.value,
                user_verification=verification.builtin_uv,
                sync_offer=sync_offer,
            )
        )
        if not response.present or (verification.builtin_uv and not response.verified):
            raise CtapError(CtapStatus.OPERATION_DENIED, "user declined")
        if sync_offer is not None and response.synced is not None:
            synced = response.synced
    if verification.uv_by_token:
        ctx.pin_uv.token.clear_after_use()
    # hmac-secret-mc: the salts are opened only once the user has consented.
    salts = None
    if extension_inputs.hmac_secret_mc is not None:
        salts = hmac_secret.open_salts(ctx.pin_uv, extension_inputs.hmac_secret_mc)

    # 15. The new credential.
    if rk and await ctx.store.count() >= config.max_discoverable_credentials:
        raise CtapError(CtapStatus.KEY_STORE_FULL)
    key = ctx.keys.generate_key(algorithm)
    backup_eligible = config.default_backup_eligibility
    credential = Credential(
        credential_id=b"",
        rp_id=request.rp_id,
        rp_id_hash=rp_id_hash,
        user_handle=request.user_id,
        private_key=b"",  # serialised by whoever needs it: the vault, an export
        algorithm=int(algorithm),
        discoverable=rk,
        user_name=request.user_name,
        user_display_name=request.user_display_name,
        rp_name=request.rp_name,
        sign_count_policy=(
            config.backup_sign_count_policy if backup_eligible else SignCountPolicy.COUNTER
        ),
        backup_eligible=backup_eligible,
        backup_state=backup_eligible and config.default_backup_state,
        cred_protect=int(level or cred_protect.CredProtect.UV_OPTIONAL),
        created=ctx.clock.now_ms(),
        stored=rk or config.keep_non_discoverable,
    )
    credential._key = key
    if synced and sync_offer is not None:
        credential.make_synced(sync_offer.devices)
    random_bytes = ctx.keys.random_bytes
    if extension_inputs.hmac_secret and credential.stored:
        credential.cred_random_with_uv = random_bytes(hmac_secret.CRED_RANDOM_LENGTH)
        credential.cred_random_without_uv = random_bytes(hmac_secret.CRED_RANDOM_LENGTH)
    blob = extension_inputs.cred_blob
    blob_kept = blob is not None and cred_blob.storable(
        blob, credential.stored, MAX_CRED_BLOB_LENGTH
    )
    if blob_kept:
        credential.cred_blob = blob
    if extension_inputs.large_blob_key:
        credential.large_blob_key = random_bytes(large_blob_key.KEY_LENGTH)
    if credential.stored:
        credential.credential_id = ctx.keys.new_credential_id()
        for existing in await ctx.store.find(rp_id_hash) if rk else ():
            if existing.discoverable and existing.user_handle == request.user_id:
                await ctx.store.delete(existing.credential_id)
        await ctx.store.put(credential)
    else:
        wrapper = await ctx.secrets.wrapper()
        group = group if credential.synced else None
        credential.credential_id = wrapper.wrap(
            rp_id_hash,
            key,
            credential.cred_protect,
            credential.backup_eligible,
            ctx.keys.random_bytes(NONCE_LENGTH),
            hmac_secret=extension_inputs.hmac_secret,
            group=group,
        )
        if extension_inputs.hmac_secret:  # derived from the ID on every use, kept nowhere
            credential.cred_random_with_uv, credential.cred_random_without_uv = (
                wrapper.cred_randoms(credential.credential_id, group)
            )
        # Its key lives in its ID; the store keeps what a person needs to see and delete it.
        credential.sealed = True
        await ctx.store.note_sealed(sealed_record(credential))

    # 16-17. Authenticator data and the attestation statement.
    flags = auth_data.UP
    if uv:
        flags |= auth_data.UV
    if credential.backup_eligible:
        flags |= auth_data.BE
    if credential.backup_state:
        flags |= auth_data.BS
    extension_outputs: dict[str, Any] = {}
    if level is not None:
        extension_outputs[cred_protect.NAME] = int(level)
    if extension_inputs.hmac_secret:
        extension_outputs[hmac_secret.NAME] = True
        cred_random = hmac_secret.cred_random(credential, uv)
        if salts is not None and cred_random is not None:
            extension_outputs[hmac_secret.MC_NAME] = salts.output(cred_random)
    if blob is not None:
        extension_outputs[cred_blob.NAME] = blob_kept
    if extension_inputs.min_pin_length:
        pin_length = min_pin_length.output(await ctx.pin_uv.pin_state(), request.rp_id)
        if pin_length is not None:
            extension_outputs[min_pin_length.NAME] = pin_length
    data = auth_data.build(
        rp_id_hash,
        ctx.responses.flags(flags),
        await next_sign_count(ctx.store, credential),
        auth_data.AttestedCredentialData(
            config.aaguid, credential.credential_id, key.cose_public_key()
        ),
        extension_outputs,
    )
    fmt, statement = await _attest(ctx, data, request.client_data_hash, credential)
    if "sig" in statement:
        statement = {**statement, "sig": ctx.responses.signature(statement["sig"])}
    ctx.responses.signed(Ceremony.MAKE_CREDENTIAL, credential)
    return MakeCredentialResponse(fmt, data, statement, credential.large_blob_key)


def _choose_algorithm(
    params: tuple[tuple[str, int], ...], supported: tuple[Algorithm, ...]
) -> Algorithm:
    for kind, alg in params:
        if kind == PUBLIC_KEY and alg in supported:
            return Algorithm(alg)
    raise CtapError(CtapStatus.UNSUPPORTED_ALGORITHM, "no supported algorithm in pubKeyCredParams")


async def _attest(
    ctx: Context, data: bytes, client_data_hash: bytes, credential: Credential
) -> tuple[str, dict[str, Any]]:
    mode = ctx.config.attestation
    if mode is AttestationMode.PACKED_SELF:
        return packed.self_statement(data, client_data_hash, credential.key)
    if mode is AttestationMode.PACKED:
        identity = await ctx.secrets.attestation_identity()
        return packed.x5c_statement(data, client_data_hash, identity)
    return none.statement()
