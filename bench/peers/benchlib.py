"""Timing helpers shared by bench/run.py and the peer workers.

Stdlib + ``cryptography`` only: this module is imported both from the project venv and from each
peer's own venv (whose ``cryptography`` version may differ, hence :func:`crypto_info`).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

RP_ID = "example.com"
RP_NAME = "Example"
ORIGIN = "https://example.com"
USER_ID = b"vauth-bench-user-0001"
USER_NAME = "alice"
USER_DISPLAY_NAME = "Alice"

DEFAULT_ITERATIONS = 10000


def default_warmup(iterations: int) -> int:
    """Warm-up calls run (and discarded) before each timed series."""
    return max(20, iterations // 10)


def b64url(data: bytes) -> str:
    """Unpadded base64url, as used by the WebAuthn L3 JSON serialisation."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def creation_options_json(
    challenge: bytes, attestation: str, resident: bool = True
) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptionsJSON for an ES256 credential, resident (discoverable)
    unless ``resident`` is false."""
    selection = (
        {"residentKey": "required", "requireResidentKey": True}
        if resident
        else {"residentKey": "discouraged"}
    )
    return {
        "rp": {"id": RP_ID, "name": RP_NAME},
        "user": {"id": b64url(USER_ID), "name": USER_NAME, "displayName": USER_DISPLAY_NAME},
        "challenge": b64url(challenge),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "timeout": 60000,
        "authenticatorSelection": selection,
        "attestation": attestation,
    }


def request_options_json(challenge: bytes, credential_id: str) -> dict[str, Any]:
    """PublicKeyCredentialRequestOptionsJSON naming one credential."""
    return {
        "challenge": b64url(challenge),
        "timeout": 60000,
        "rpId": RP_ID,
        "allowCredentials": [{"id": credential_id, "type": "public-key"}],
    }


def measure(fn: Callable[[], object], iterations: int, warmup: int) -> list[int]:
    """Call ``fn`` ``warmup`` times untimed, then ``iterations`` times; return each duration (ns).

    The garbage collector is left enabled (as in real use); a collection is forced before the
    timed loop so that one series does not pay for the garbage of the previous one.
    """
    for _ in range(warmup):
        fn()
    gc.collect()
    clock = time.perf_counter_ns
    samples = [0] * iterations
    for i in range(iterations):
        start = clock()
        fn()
        samples[i] = clock() - start
    return samples


def es256_sign_op() -> Callable[[], object]:
    """One ECDSA P-256 / SHA-256 signature over a 32-byte message (the signing floor)."""
    key = ec.generate_private_key(ec.SECP256R1())
    message = os.urandom(32)
    algorithm = ec.ECDSA(hashes.SHA256())
    return lambda: key.sign(message, algorithm)


def p256_keygen_op() -> Callable[[], object]:
    """One P-256 private key generation (the key-generation floor)."""
    curve = ec.SECP256R1()
    return lambda: ec.generate_private_key(curve)


def measure_floors(iterations: int, warmup: int) -> dict[str, list[int]]:
    return {
        "es256_sign": measure(es256_sign_op(), iterations, warmup),
        "p256_keygen": measure(p256_keygen_op(), iterations, warmup),
    }


def crypto_info() -> dict[str, Any]:
    """Versions that explain differences between the floors of different venvs."""
    import cryptography
    from cryptography.hazmat.backends.openssl import backend

    return {
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "openssl": backend.openssl_version_text(),
    }


def worker_main(run: Callable[[int, int], dict[str, Any]], description: str | None) -> None:
    """A peer worker's command line: ``--iterations N [--warmup W]``; prints ``run``'s report
    as one JSON object on stdout."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--warmup", type=int, default=None)
    args = parser.parse_args()
    warmup = default_warmup(args.iterations) if args.warmup is None else args.warmup
    print(json.dumps(run(args.iterations, warmup)))
