"""Time soft-webauthn's ``SoftWebauthnDevice`` (runs inside the soft-webauthn venv: fido2 < 2).

Prints one JSON object on stdout: ``{"peer", "version", "env", "timings_ns": {name: [ns, ...]}}``.
soft-webauthn takes the pre-L3 options shape (``{"publicKey": {...}}`` with raw ``bytes``), holds a
single credential per device, supports ES256 with ``none`` attestation only, and returns raw
``bytes`` fields (no base64url / JSON serialisation).
"""

from __future__ import annotations

import os
from importlib.metadata import version
from typing import Any

from benchlib import (
    ORIGIN,
    RP_ID,
    RP_NAME,
    USER_DISPLAY_NAME,
    USER_ID,
    USER_NAME,
    crypto_info,
    measure,
    measure_floors,
    worker_main,
)
from soft_webauthn import SoftWebauthnDevice


def creation_options(challenge: bytes) -> dict[str, Any]:
    return {
        "publicKey": {
            "challenge": challenge,
            "rp": {"id": RP_ID, "name": RP_NAME},
            "user": {"id": USER_ID, "name": USER_NAME, "displayName": USER_DISPLAY_NAME},
            "pubKeyCredParams": [{"alg": -7, "type": "public-key"}],
            "attestation": "none",
        }
    }


def request_options(challenge: bytes, credential_id: bytes) -> dict[str, Any]:
    return {
        "publicKey": {
            "challenge": challenge,
            "rpId": RP_ID,
            "allowCredentials": [{"id": credential_id, "type": "public-key"}],
        }
    }


def run(iterations: int, warmup: int) -> dict[str, Any]:
    challenge = os.urandom(32)

    # create(): every call generates a fresh P-256 key (the device keeps only the last one).
    create_device = SoftWebauthnDevice()
    create_opts = creation_options(challenge)
    created = create_device.create(create_opts, ORIGIN)
    if created["type"] != "public-key" or not created["response"]["attestationObject"]:
        raise RuntimeError(f"unexpected create() result: {created!r}")

    # get(): one credential created up front, then repeated assertions naming it.
    get_device = SoftWebauthnDevice()
    registration = get_device.create(create_opts, ORIGIN)
    get_opts = request_options(challenge, registration["rawId"])
    if not get_device.get(get_opts, ORIGIN)["response"]["signature"]:
        raise RuntimeError("get() returned no signature")

    timings = {
        "get": measure(lambda: get_device.get(get_opts, ORIGIN), iterations, warmup),
        "create": measure(lambda: create_device.create(create_opts, ORIGIN), iterations, warmup),
        **measure_floors(iterations, warmup),
    }
    return {
        "peer": "soft-webauthn",
        "version": version("soft-webauthn"),
        "env": {**crypto_info(), "fido2": version("fido2")},
        "timings_ns": timings,
    }


if __name__ == "__main__":
    worker_main(run, __doc__)
