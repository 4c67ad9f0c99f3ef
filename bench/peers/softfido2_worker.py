"""Time soft-fido2's ``Fido2Authenticator`` (runs inside its own venv; see bench/README.md).

Prints one JSON object on stdout: ``{"peer", "version", "env", "timings_ns": {name: [ns, ...]}}``.
soft-fido2 takes WebAuthn L3 JSON options (base64url strings) and returns JSON-ready dicts.
A ``Fido2Authenticator`` instance owns exactly one key pair (generated in ``__init__``) and has no
credential store, so a *new* credential costs a new instance; ``residentKey`` is accepted but has
no effect at this API level.
"""

from __future__ import annotations

import argparse
import json
import os
from importlib.metadata import version
from typing import Any

import cbor2
from benchlib import (
    DEFAULT_ITERATIONS,
    ORIGIN,
    RP_ID,
    RP_NAME,
    USER_DISPLAY_NAME,
    USER_ID,
    USER_NAME,
    b64url,
    b64url_decode,
    crypto_info,
    default_warmup,
    measure,
    measure_floors,
)
from soft_fido2 import Fido2Authenticator

ATTESTATION_FORMAT = "packed-self"


def creation_options(challenge: bytes) -> dict[str, Any]:
    return {
        "challenge": b64url(challenge),
        "rp": {"id": RP_ID, "name": RP_NAME},
        "user": {"id": b64url(USER_ID), "name": USER_NAME, "displayName": USER_DISPLAY_NAME},
        "pubKeyCredParams": [{"alg": -7, "type": "public-key"}],
        "authenticatorSelection": {"residentKey": "required", "requireResidentKey": True},
        "attestation": "direct",
        "timeout": 60000,
        "origin": ORIGIN,  # soft-fido2 reads the origin from the options (default https://<rp id>)
    }


def request_options(challenge: bytes, credential_id: str) -> dict[str, Any]:
    return {
        "challenge": b64url(challenge),
        "rpId": RP_ID,
        "allowCredentials": [{"id": credential_id, "type": "public-key"}],
        "timeout": 60000,
        "origin": ORIGIN,
    }


def create_fresh(options: dict[str, Any]) -> dict[str, Any]:
    """A new credential: new authenticator (P-256 keygen) + packed self-attested create."""
    result: dict[str, Any] = Fido2Authenticator().credential_create(
        options, atteStmtFmt=ATTESTATION_FORMAT
    )
    return result


def run(iterations: int, warmup: int) -> dict[str, Any]:
    challenge = os.urandom(32)
    create_opts = creation_options(challenge)

    sample = create_fresh(create_opts)
    attestation = cbor2.loads(b64url_decode(sample["response"]["attestationObject"]))
    if attestation["fmt"] != "packed" or "x5c" in attestation["attStmt"]:
        raise RuntimeError(f"expected packed self attestation, got {attestation!r}")

    # Same instance and key for every call: attestation work only, no key generation.
    reused = Fido2Authenticator()
    reused.credential_create(create_opts, atteStmtFmt=ATTESTATION_FORMAT)

    # get(): the authenticator that created the credential answers every assertion.
    asserter = Fido2Authenticator()
    registration = asserter.credential_create(create_opts, atteStmtFmt=ATTESTATION_FORMAT)
    get_opts = request_options(challenge, registration["id"])
    if not asserter.credential_request(get_opts)["response"]["signature"]:
        raise RuntimeError("credential_request() returned no signature")

    timings = {
        "get": measure(lambda: asserter.credential_request(get_opts), iterations, warmup),
        "create": measure(lambda: create_fresh(create_opts), iterations, warmup),
        "create_reused_key": measure(
            lambda: reused.credential_create(create_opts, atteStmtFmt=ATTESTATION_FORMAT),
            iterations,
            warmup,
        ),
        **measure_floors(iterations, warmup),
    }
    return {
        "peer": "soft-fido2",
        "version": version("soft-fido2"),
        "env": crypto_info(),
        "timings_ns": timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--warmup", type=int, default=None)
    args = parser.parse_args()
    warmup = default_warmup(args.iterations) if args.warmup is None else args.warmup
    print(json.dumps(run(args.iterations, warmup)))


if __name__ == "__main__":
    main()
