"""A seeded authenticator's attestation CA depends on its seed alone, a running daemon exports
its CA (HTTP route and `vauth ca`), and relying-party libraries vauth did not write accept its
packed x5c attestations against that CA: py_webauthn (``pem_root_certs_bytes_by_fmt``) and
python-fido2's server (an ``AttestationVerifier`` whose ``ca_lookup`` is the exported CA).

WebAuthn L3 8.2.1 (packed, x5c): "verify that attestnCert meets the requirements in 8.2.1 ...
and that x5c chains up to an acceptable trust anchor" (7.1 step 22)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import webauthn
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fido2.attestation.base import AttestationVerifier, UntrustedAttestation
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationConveyancePreference,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
)
from webauthn.helpers.exceptions import InvalidRegistrationResponse
from webauthn.helpers.structs import AttestationFormat

from tests import support
from vauth import VirtualAuthenticator

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "https://example.com"
SEED = "reproducible"


def creation(user: str) -> dict[str, Any]:
    return {**support.creation(user), "attestation": "direct"}


def cli_ca(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "vauth.cli", "ca", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_a_seeded_ca_is_a_function_of_the_seed_alone() -> None:
    """The CA does not depend on how many keys were drawn before the first attestation."""
    busy = VirtualAuthenticator(attestation="packed", seed=SEED)
    for user in ("alice", "bob", "carol"):
        busy.create(creation(user), ORIGIN)
    fresh = VirtualAuthenticator(attestation="packed", seed=SEED)
    assert busy.attestation_ca_pem() == fresh.attestation_ca_pem() == cli_ca("--seed", SEED)
    other = VirtualAuthenticator(attestation="packed", seed="another seed")
    assert other.attestation_ca_pem() != fresh.attestation_ca_pem()


def test_py_webauthn_accepts_packed_x5c_against_the_seeds_ca_and_refuses_another() -> None:
    va = VirtualAuthenticator(attestation="packed", seed=SEED)
    va.create(creation("warm-up"), ORIGIN)  # keys drawn before: the CA must not move
    options = creation("alice")
    response = va.create(options, ORIGIN)
    challenge = support.unb64(options["challenge"])
    ca = cli_ca("--seed", SEED).encode()
    verified = webauthn.verify_registration_response(
        credential=response,
        expected_challenge=challenge,
        expected_origin=ORIGIN,
        expected_rp_id="example.com",
        pem_root_certs_bytes_by_fmt={AttestationFormat.PACKED: [ca]},
    )
    assert verified.fmt == AttestationFormat.PACKED
    stranger = VirtualAuthenticator(attestation="packed", seed="another seed").attestation_ca_pem()
    with pytest.raises(InvalidRegistrationResponse, match=r"(?i)certificate chain"):
        webauthn.verify_registration_response(
            credential=response,
            expected_challenge=challenge,
            expected_origin=ORIGIN,
            expected_rp_id="example.com",
            pem_root_certs_bytes_by_fmt={AttestationFormat.PACKED: [stranger.encode()]},
        )


class TrustTheCa(AttestationVerifier):
    def __init__(self, pem: str) -> None:
        super().__init__()
        self.der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)

    def ca_lookup(self, attestation_result: Any, auth_data: Any) -> bytes:
        return self.der


def test_a_running_daemon_exports_its_ca_and_fido2_server_trusts_it(tmp_path: Path) -> None:
    """`vauth serve --ephemeral --authenticator '{"attestation": "packed", "seed": S}'`: its CA
    over HTTP and from `vauth ca` is the one `vauth ca --seed S` prints, after it has made a
    credential, and python-fido2's Fido2Server verifies the daemon's x5c chain up to it."""
    options = json.dumps({"attestation": "packed", "seed": SEED})
    daemon = support.Daemon(
        tmp_path,
        "--ephemeral",
        "--presence",
        "auto",
        "--http",
        "127.0.0.1:0",
        "--authenticator",
        options,
    )
    try:

        def api(method: str, path: str, body: Any = None) -> Any:
            request = urllib.request.Request(
                daemon.http_url + path,
                data=None if body is None else json.dumps(body).encode(),
                method=method,
                headers={
                    "Authorization": f"Bearer {daemon.token}",
                    "Content-Type": "application/json",
                },
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.loads(answer.read())

        def register(trusted_ca: str, user: bytes) -> None:
            """One registration through the daemon, completed by python-fido2's server."""
            server = Fido2Server(
                PublicKeyCredentialRpEntity(name="Example", id="example.com"),
                attestation=AttestationConveyancePreference.DIRECT,
                verify_attestation=TrustTheCa(trusted_ca),
            )
            registration, state = server.register_begin(
                PublicKeyCredentialUserEntity(id=user, name=user.decode(), display_name="User"),
            )
            made = api(
                "POST",
                "/webauthn/authenticator/vault/create",
                {"origin": ORIGIN, "options": dict(registration)["publicKey"]},
            )
            server.register_complete(state, RegistrationResponse.from_dict(made))

        register(cli_ca("--seed", SEED), b"alice")
        exported = api("GET", "/webauthn/authenticator/vault/attestation-ca")["certificate"]
        assert exported == daemon.cli("ca").stdout == cli_ca("--seed", SEED)
        stranger = VirtualAuthenticator(attestation="packed", seed=os.urandom(8))
        with pytest.raises(UntrustedAttestation):
            register(stranger.attestation_ca_pem(), b"bob")
    finally:
        assert daemon.stop() == 0
