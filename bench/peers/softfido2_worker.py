"""Time soft-fido2's ``Fido2Authenticator`` (runs inside its own venv; see bench/README.md).

Prints one JSON object on stdout: ``{"peer", "version", "env", "timings_ns": {name: [ns, ...]}}``.
soft-fido2 takes WebAuthn L3 JSON options (base64url strings) and returns JSON-ready dicts.
A ``Fido2Authenticator`` instance owns exactly one key pair (generated in ``__init__``) and has no
credential store, so a *new* credential costs a new instance; ``residentKey`` is accepted but has
no effect at this API level.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from typing import Any

import cbor2
from benchlib import (
    ORIGIN,
    b64url_decode,
    creation_options_json,
    crypto_info,
    measure,
    measure_floors,
    request_options_json,
    worker_main,
)
from soft_fido2 import Fido2Authenticator

ATTESTATION_FORMAT = "packed-self"


# soft-fido2 reads the origin from the options (default https://<rp id>).
def creation_options(challenge: bytes) -> dict[str, Any]:
    return {**creation_options_json(challenge, "direct"), "origin": ORIGIN}


def request_options(challenge: bytes, credential_id: str) -> dict[str, Any]:
    return {**request_options_json(challenge, credential_id), "origin": ORIGIN}


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


if __name__ == "__main__":
    worker_main(run, __doc__)
