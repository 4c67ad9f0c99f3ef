"""authenticatorGetInfo (0x04), CTAP 2.1 section 6.4."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vauth.ctap.config import (
    MAX_CRED_BLOB_LENGTH,
    MAX_CREDENTIAL_COUNT_IN_LIST,
    MAX_CREDENTIAL_ID_LENGTH,
)
from vauth.ctap.extensions import enabled

if TYPE_CHECKING:
    from vauth.ctap.authenticator import Authenticator


async def handle(authenticator: Authenticator, params: dict[Any, Any]) -> dict[int, Any]:
    config = authenticator.config
    pin = await authenticator.pin_state()
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
    info: dict[int, Any] = {
        0x01: versions,
        0x03: config.aaguid,
        0x04: options,
        0x05: config.max_msg_size,
        0x07: MAX_CREDENTIAL_COUNT_IN_LIST,
        0x08: MAX_CREDENTIAL_ID_LENGTH,
        0x09: [config.transport],
        0x0A: [{"alg": int(alg), "type": "public-key"} for alg in config.algorithms],
        0x06: sorted(authenticator.pin_protocols, reverse=True),
        0x0E: config.firmware_version,
    }
    extensions = sorted(name for name in config.extensions if enabled(config, name))
    if extensions:
        info[0x02] = extensions
    if ctap21:
        stored = await authenticator.env.store.count()
        info[0x0C] = pin.force_pin_change
        info[0x0D] = pin.min_pin_length
        info[0x10] = config.max_rp_ids_for_set_min_pin_length
        if enabled(config, "largeBlobKey"):
            info[0x0B] = config.max_serialized_large_blob_array
        if enabled(config, "credBlob"):
            info[0x0F] = MAX_CRED_BLOB_LENGTH
        info[0x14] = max(0, config.max_discoverable_credentials - stored)
    return info
