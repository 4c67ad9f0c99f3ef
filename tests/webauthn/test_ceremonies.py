"""Whole ceremonies: an RP library writes the options, WebAuthnClient and vauth answer, the RP
library verifies the registration and the assertion.

py_webauthn judges ES256, EdDSA and RS256; it has no ES384, so python-fido2's Fido2Server judges
that one (and, on the way, the ``{"publicKey": ...}`` wrapper its JSON comes in).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import cbor2
import pytest
import webauthn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.attestation.base import AttestationVerifier
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationConveyancePreference as Fido2Conveyance,
)
from fido2.webauthn import PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn_support import AuthenticatorFactory

from vauth import base64url
from vauth.ctap.attestation import AttestationMode
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.config import DEFAULT_AAGUID
from vauth.webauthn.client import WebAuthnClient

RP_ID = "example.com"
ORIGIN = "https://login.example.com"
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
EXPECTED_FMT = {
    AttestationMode.NONE: AttestationFormat.NONE,
    AttestationMode.PACKED_SELF: AttestationFormat.PACKED,
    AttestationMode.PACKED: AttestationFormat.PACKED,
}


def registration_options(
    alg: COSEAlgorithmIdentifier,
    conveyance: AttestationConveyancePreference = AttestationConveyancePreference.DIRECT,
    resident_key: ResidentKeyRequirement = ResidentKeyRequirement.DISCOURAGED,
) -> Any:
    return webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name="alice",
        user_id=b"alice-user-handle",
        supported_pub_key_algs=[alg],
        attestation=conveyance,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=resident_key,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )


async def verify_registration(
    authenticator: Authenticator, options: Any, response: dict[str, Any]
) -> Any:
    roots = [(await authenticator.attestation_identity()).ca_pem().encode()]
    return webauthn.verify_registration_response(
        credential=json.dumps(response),
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        supported_pub_key_algs=ALGORITHMS,
        pem_root_certs_bytes_by_fmt={AttestationFormat.PACKED: roots},
    )


async def authenticate(
    client: WebAuthnClient, registered: Any, allow: list[bytes] | None
) -> tuple[dict[str, Any], Any]:
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID,
        allow_credentials=[PublicKeyCredentialDescriptor(id=i) for i in allow or []],
    )
    response = await client.get(webauthn.options_to_json(options), ORIGIN)
    verified = webauthn.verify_authentication_response(
        credential=json.dumps(response),
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=registered.credential_public_key,
        credential_current_sign_count=registered.sign_count,
    )
    return response, verified


@pytest.mark.parametrize("mode", list(AttestationMode))
@pytest.mark.parametrize("alg", ALGORITHMS, ids=lambda a: a.name)
async def test_create_then_get_verified_by_py_webauthn(
    new_authenticator: AuthenticatorFactory, alg: COSEAlgorithmIdentifier, mode: AttestationMode
) -> None:
    authenticator = new_authenticator(mode)
    client = WebAuthnClient(authenticator.process)
    options = registration_options(alg)
    response = await client.create(webauthn.options_to_json(options), ORIGIN)

    registered = await verify_registration(authenticator, options, response)
    assert registered.fmt == EXPECTED_FMT[mode]
    assert registered.aaguid == str(uuid.UUID(bytes=DEFAULT_AAGUID))
    assert registered.user_verified is True
    assert response["response"]["publicKeyAlgorithm"] == alg
    assert base64url.decode(response["rawId"]) == registered.credential_id
    statement = cbor2.loads(base64url.decode(response["response"]["attestationObject"]))
    assert ("x5c" in statement["attStmt"]) is (mode is AttestationMode.PACKED)

    assertion, verified = await authenticate(client, registered, [registered.credential_id])
    assert verified.credential_id == registered.credential_id
    assert verified.new_sign_count > registered.sign_count
    assert verified.user_verified is True
    assert "userHandle" not in assertion["response"]  # a non-discoverable credential has none


@pytest.mark.parametrize("alg", ALGORITHMS, ids=lambda a: a.name)
async def test_discoverable_credential_signs_in_without_allow_list(
    new_authenticator: AuthenticatorFactory,
    alg: COSEAlgorithmIdentifier,
) -> None:
    authenticator = new_authenticator()
    client = WebAuthnClient(authenticator.process)
    options = registration_options(alg, resident_key=ResidentKeyRequirement.REQUIRED)
    response = await client.create(webauthn.options_to_json(options), ORIGIN)
    registered = await verify_registration(authenticator, options, response)

    assertion, verified = await authenticate(client, registered, None)
    assert verified.credential_id == registered.credential_id
    assert base64url.decode(assertion["response"]["userHandle"]) == b"alice-user-handle"


@pytest.mark.parametrize("mode", [AttestationMode.PACKED, AttestationMode.PACKED_SELF])
async def test_conveyance_none_strips_attestation_and_can_zero_the_aaguid(
    new_authenticator: AuthenticatorFactory, mode: AttestationMode
) -> None:
    authenticator = new_authenticator(mode)
    client = WebAuthnClient(authenticator.process, anonymize_aaguid=True)
    options = registration_options(
        COSEAlgorithmIdentifier.ECDSA_SHA_256, AttestationConveyancePreference.NONE
    )
    response = await client.create(webauthn.options_to_json(options), ORIGIN)
    registered = await verify_registration(authenticator, options, response)
    assert registered.fmt == AttestationFormat.NONE
    assert registered.aaguid == "00000000-0000-0000-0000-000000000000"
    statement = cbor2.loads(base64url.decode(response["response"]["attestationObject"]))
    assert statement["attStmt"] == {}
    # authenticatorData in the response is the anonymized one too
    assert base64url.decode(response["response"]["authenticatorData"]) == statement["authData"]


async def test_conveyance_none_keeps_the_aaguid_as_l3_does(
    new_authenticator: AuthenticatorFactory,
) -> None:
    authenticator = new_authenticator(AttestationMode.PACKED)
    client = WebAuthnClient(authenticator.process)
    options = registration_options(
        COSEAlgorithmIdentifier.ECDSA_SHA_256, AttestationConveyancePreference.NONE
    )
    response = await client.create(webauthn.options_to_json(options), ORIGIN)
    registered = await verify_registration(authenticator, options, response)
    assert registered.fmt == AttestationFormat.NONE
    assert registered.aaguid == "76617574-6800-0000-a000-000000000001"


@pytest.mark.parametrize(
    "conveyance",
    [AttestationConveyancePreference.INDIRECT, AttestationConveyancePreference.ENTERPRISE],
)
async def test_indirect_and_enterprise_keep_the_statement(
    new_authenticator: AuthenticatorFactory,
    conveyance: AttestationConveyancePreference,
) -> None:
    authenticator = new_authenticator(AttestationMode.PACKED)
    client = WebAuthnClient(authenticator.process)
    options = registration_options(COSEAlgorithmIdentifier.ECDSA_SHA_256, conveyance)
    response = await client.create(webauthn.options_to_json(options), ORIGIN)
    registered = await verify_registration(authenticator, options, response)
    assert registered.fmt == AttestationFormat.PACKED


async def test_cross_origin_call_is_marked_in_client_data(
    new_authenticator: AuthenticatorFactory,
) -> None:
    authenticator = new_authenticator()
    client = WebAuthnClient(authenticator.process)
    options = registration_options(COSEAlgorithmIdentifier.ECDSA_SHA_256)
    response = await client.create(
        webauthn.options_to_json(options), ORIGIN, top_origin="https://shop.example"
    )
    data = json.loads(base64url.decode(response["response"]["clientDataJSON"]))
    assert data == {
        "type": "webauthn.create",
        "challenge": base64url.encode(options.challenge),
        "origin": ORIGIN,
        "crossOrigin": True,
        "topOrigin": "https://shop.example",
    }
    same = await client.create(webauthn.options_to_json(options), ORIGIN, top_origin=ORIGIN)
    data = json.loads(base64url.decode(same["response"]["clientDataJSON"]))
    assert data["crossOrigin"] is False
    assert "topOrigin" not in data


class TrustVauthCa(AttestationVerifier):
    def __init__(self, ca_pem: str) -> None:
        super().__init__()
        cert = x509.load_pem_x509_certificate(ca_pem.encode())
        self.ca_der = cert.public_bytes(serialization.Encoding.DER)

    def ca_lookup(self, attestation_result: Any, auth_data: Any) -> bytes:
        return self.ca_der


@pytest.mark.parametrize("mode", list(AttestationMode))
async def test_es384_create_then_get_verified_by_python_fido2(
    new_authenticator: AuthenticatorFactory, mode: AttestationMode
) -> None:
    authenticator = new_authenticator(mode)
    client = WebAuthnClient(authenticator.process)
    ca_pem = (await authenticator.attestation_identity()).ca_pem()
    verifier = TrustVauthCa(ca_pem) if mode is AttestationMode.PACKED else None
    server = Fido2Server(
        PublicKeyCredentialRpEntity(id=RP_ID, name="Example"),
        attestation=Fido2Conveyance.DIRECT,
        verify_attestation=verifier,
    )
    server.allowed_algorithms = [p for p in server.allowed_algorithms if p.alg == -35]
    user = PublicKeyCredentialUserEntity(id=b"u-384", name="carol", display_name="Carol")
    options, state = server.register_begin(user)
    response = await client.create(dict(options), ORIGIN)
    auth_data = server.register_complete(state, response)
    credential = auth_data.credential_data
    assert credential is not None
    assert credential.public_key[3] == -35
    assert response["response"]["publicKeyAlgorithm"] == -35
    assert response["response"]["attestationObject"]
    fmt = cbor2.loads(base64url.decode(response["response"]["attestationObject"]))["fmt"]
    assert fmt == EXPECTED_FMT[mode].value

    spki = serialization.load_der_public_key(base64url.decode(response["response"]["publicKey"]))
    assert isinstance(spki, ec.EllipticCurvePublicKey)
    assert spki.curve.name == "secp384r1"
    assert spki.public_numbers().x.to_bytes(48, "big") == credential.public_key[-2]

    request, state = server.authenticate_begin([credential])
    assertion = await client.get(dict(request), ORIGIN)
    assert server.authenticate_complete(state, [credential], assertion) == credential
