"""Whole ceremonies: python-fido2's Fido2Client in front of vauth, Fido2Server judging them."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fido2.attestation import AttestationResult, AttestationVerifier, UntrustedAttestation
from fido2.client import ClientError, DefaultClientDataCollector, Fido2Client
from fido2.server import Fido2Server
from fido2.webauthn import (
    AuthenticatorData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from vauth import VirtualAuthenticator
from vauth.testing.doubles import VauthCtapDevice

RP = PublicKeyCredentialRpEntity(id="example.com", name="Example")
ORIGIN = "https://login.example.com"


class TrustVauthCa(AttestationVerifier):
    def __init__(self, ca_pem: str) -> None:
        super().__init__()
        cert = x509.load_pem_x509_certificate(ca_pem.encode())
        self.ca_der = cert.public_bytes(serialization.Encoding.DER)

    def ca_lookup(self, attestation_result: AttestationResult, auth_data: AuthenticatorData):
        return self.ca_der


def client_for(va: VirtualAuthenticator) -> Fido2Client:
    return Fido2Client(VauthCtapDevice(va), DefaultClientDataCollector(ORIGIN))


# python-fido2's client gets a pinUvAuthToken by built-in UV (getPinUvAuthTokenUsingUv...) and
# sends its pinUvAuthParam, as browsers do with CTAP 2.1 authenticators.
@pytest.mark.parametrize("alg", [-7, -8, -35, -257])
@pytest.mark.parametrize("attestation", ["none", "packed-self", "packed"])
@pytest.mark.parametrize("uv", ["preferred", "required"])
def test_register_then_authenticate(alg: int, attestation: str, uv: str) -> None:
    va = VirtualAuthenticator(attestation=attestation)
    conveyance = "none" if attestation == "none" else "direct"
    verifier = TrustVauthCa(va.attestation_ca_pem()) if attestation == "packed" else None
    server = Fido2Server(RP, attestation=conveyance, verify_attestation=verifier)
    server.allowed_algorithms = [p for p in server.allowed_algorithms if p.alg == alg]
    client = client_for(va)
    user = PublicKeyCredentialUserEntity(id=b"user-42", name="alice", display_name="Alice")
    options, state = server.register_begin(
        user,
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement(uv),
    )
    registration = client.make_credential(options.public_key)
    auth_data = server.register_complete(state, registration)
    credential = auth_data.credential_data
    assert credential is not None and credential.public_key[3] == alg
    assert auth_data.is_user_verified()
    assert auth_data.is_user_present()

    # Discoverable: no allowCredentials needed.
    options, state = server.authenticate_begin(user_verification=UserVerificationRequirement(uv))
    selection = client.get_assertion(options.public_key)
    response = selection.get_response(0)
    assert response.response.user_handle == b"user-42"
    server.authenticate_complete(state, [credential], response)
    assert AuthenticatorData(response.response.authenticator_data).is_user_verified()


def test_packed_attestation_fails_against_a_foreign_ca() -> None:
    va = VirtualAuthenticator(attestation="packed")
    foreign = VirtualAuthenticator(attestation="packed")
    server = Fido2Server(
        RP, attestation="direct", verify_attestation=TrustVauthCa(foreign.attestation_ca_pem())
    )
    options, state = server.register_begin(PublicKeyCredentialUserEntity(id=b"u", name="u"))
    registration = client_for(va).make_credential(options.public_key)
    with pytest.raises(UntrustedAttestation):
        server.register_complete(state, registration)


def test_exclude_credentials_are_refused() -> None:
    va = VirtualAuthenticator()
    server = Fido2Server(RP)
    client = client_for(va)
    user = PublicKeyCredentialUserEntity(id=b"user-1", name="bob")
    options, state = server.register_begin(user)
    credential = server.register_complete(state, client.make_credential(options.public_key))
    options, _ = server.register_begin(user, credentials=[credential.credential_data])
    with pytest.raises(ClientError) as exc:
        client.make_credential(options.public_key)
    assert exc.value.code == ClientError.ERR.DEVICE_INELIGIBLE


def test_foreign_rp_id_is_refused_by_the_client() -> None:
    va = VirtualAuthenticator()
    server = Fido2Server(PublicKeyCredentialRpEntity(id="evil.org", name="Evil"))
    options, _ = server.register_begin(PublicKeyCredentialUserEntity(id=b"u", name="u"))
    with pytest.raises(ClientError) as exc:
        client_for(va).make_credential(options.public_key)
    assert exc.value.code == ClientError.ERR.BAD_REQUEST


def test_sign_count_seen_by_the_server_increases() -> None:
    va = VirtualAuthenticator()
    server = Fido2Server(RP)
    client = client_for(va)
    options, state = server.register_begin(PublicKeyCredentialUserEntity(id=b"u", name="u"))
    credential = server.register_complete(state, client.make_credential(options.public_key))
    counts = []
    for _ in range(3):
        options, state = server.authenticate_begin([credential.credential_data])
        response = client.get_assertion(options.public_key).get_response(0)
        server.authenticate_complete(state, [credential.credential_data], response)
        counts.append(AuthenticatorData(response.response.authenticator_data).counter)
    assert counts[0] < counts[1] < counts[2]
