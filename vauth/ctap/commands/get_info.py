"""authenticatorGetInfo (0x04), CTAP 2.1 section 6.4."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vauth.ctap.config import (
    MAX_CRED_BLOB_LENGTH,
    MAX_CREDENTIAL_COUNT_IN_LIST,
    MAX_CREDENTIAL_ID_LENGTH,
    AuthenticatorConfig,
)
from vauth.ctap.extensions import enabled
from vauth.ctap.messages.command import NoParameters
from vauth.ctap.messages.get_info import GetInfoResponse
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.ports import CredentialStore


@dataclass(frozen=True, slots=True)
class Context:
    """What authenticatorGetInfo uses."""

    config: AuthenticatorConfig
    store: CredentialStore
    pin_uv: PinUvAuth


async def handle(ctx: Context, _: NoParameters) -> GetInfoResponse:
    config = ctx.config
    pin = await ctx.pin_uv.pin_state()
    ctap21 = config.ctap21
    # U2F_V2: CTAP1/U2F messages (vauth.ctap.ctap1) share the sealed credential IDs.
    versions = ["U2F_V2", "FIDO_2_0"] + (["FIDO_2_1"] if ctap21 else [])
    options: dict[str, bool] = {
        "rk": config.has_resident_key,
        "up": True,
        "plat": False,
        "clientPin": pin.is_set,
    }
    if config.has_user_verification:
        options["uv"] = True  # built-in user verification, configured
    if ctap21:
        options.update(
            pinUvAuthToken=True,
            makeCredUvNotRqd=not pin.always_uv,
            alwaysUv=pin.always_uv,
            authnrCfg=True,
            setMinPINLength=True,
            credMgmt=True,
            largeBlobs=enabled(config, "largeBlobKey"),
        )
    info = GetInfoResponse(
        versions=tuple(versions),
        extensions=tuple(sorted(name for name in config.extensions if enabled(config, name))),
        aaguid=config.aaguid,
        options=options,
        max_msg_size=config.max_msg_size,
        pin_uv_auth_protocols=tuple(sorted(ctx.pin_uv.protocols, reverse=True)),
        max_credential_count_in_list=MAX_CREDENTIAL_COUNT_IN_LIST,
        max_credential_id_length=MAX_CREDENTIAL_ID_LENGTH,
        transports=(config.transport,),
        algorithms=tuple(int(alg) for alg in config.algorithms),
        firmware_version=config.firmware_version,
    )
    if not ctap21:
        return info
    stored = await ctx.store.count()
    return dataclasses.replace(
        info,
        force_pin_change=pin.force_pin_change,
        min_pin_length=pin.min_pin_length,
        max_rp_ids_for_set_min_pin_length=config.max_rp_ids_for_set_min_pin_length,
        max_serialized_large_blob_array=(
            config.max_serialized_large_blob_array if enabled(config, "largeBlobKey") else None
        ),
        max_cred_blob_length=MAX_CRED_BLOB_LENGTH if enabled(config, "credBlob") else None,
        remaining_discoverable_credentials=max(0, config.max_discoverable_credentials - stored),
    )
