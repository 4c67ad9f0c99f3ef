"""Ceremonies over HTTP: /create and /get judged by py_webauthn, /ctap by a CBOR decoder."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import cbor2
import webauthn
from api_support import ORIGIN, RP_ID, Api, b64url, sign_count, unb64url
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from vauth.app.service import Service

BASE = "/webauthn/authenticator"
AAGUID = "01234567-89ab-cdef-0123-456789abcdef"


def creation_options(**kwargs: Any) -> Any:
    return webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name="alice",
        user_id=b"alice-handle",
        supported_pub_key_algs=[COSEAlgorithmIdentifier.ECDSA_SHA_256],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        **kwargs,
    )


def as_json(options: Any) -> Any:
    return json.loads(webauthn.options_to_json(options))


async def register(api: Api, authenticator_id: str) -> Any:
    options = creation_options()
    response = await api.ok(
        "POST",
        f"{BASE}/{authenticator_id}/create",
        json={"origin": ORIGIN, "options": as_json(options)},
    )
    return webauthn.verify_registration_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=True,
    )


async def test_create_and_get_verified_by_py_webauthn(api: Api, service: Service) -> None:
    created = await api.ok(
        "POST", BASE, json={"attestation": "packed", "aaguid": AAGUID, "seed": 7}
    )
    path = f"{BASE}/{created['authenticatorId']}"
    device = service.authenticators[created["authenticatorId"]]
    roots = [(await device.attestation_ca_pem()).encode()]

    options = creation_options(attestation=AttestationConveyancePreference.DIRECT)
    response = await api.ok(
        "POST", f"{path}/create", json={"origin": ORIGIN, "options": as_json(options)}
    )
    registered = webauthn.verify_registration_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=True,
        pem_root_certs_bytes_by_fmt={AttestationFormat.PACKED: roots},
    )
    assert registered.fmt == AttestationFormat.PACKED
    assert registered.aaguid == AAGUID
    assert registered.user_verified is True
    assert unb64url(response["rawId"]) == registered.credential_id

    request = webauthn.generate_authentication_options(
        rp_id=RP_ID, user_verification=UserVerificationRequirement.REQUIRED
    )
    assertion = await api.ok(
        "POST", f"{path}/get", json={"origin": ORIGIN, "options": as_json(request)}
    )
    verified = webauthn.verify_authentication_response(
        credential=assertion,
        expected_challenge=request.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=registered.credential_public_key,
        credential_current_sign_count=registered.sign_count,
        require_user_verification=True,
    )
    assert verified.credential_id == registered.credential_id
    assert verified.new_sign_count > registered.sign_count
    assert unb64url(assertion["response"]["userHandle"]) == b"alice-handle"


async def test_64_concurrent_sign_ins_count_distinctly(api: Api, authenticator_id: str) -> None:
    registered = await register(api, authenticator_id)
    challenges = [bytes([i]) * 32 for i in range(64)]

    async def sign_in(challenge: bytes) -> int:
        options = webauthn.generate_authentication_options(
            rp_id=RP_ID,
            challenge=challenge,
            allow_credentials=[PublicKeyCredentialDescriptor(id=registered.credential_id)],
        )
        assertion = await api.ok(
            "POST",
            f"{BASE}/{authenticator_id}/get",
            json={"origin": ORIGIN, "options": as_json(options)},
        )
        webauthn.verify_authentication_response(
            credential=assertion,
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            credential_public_key=registered.credential_public_key,
            credential_current_sign_count=registered.sign_count,
        )
        return sign_count(unb64url(assertion["response"]["authenticatorData"]))

    counts = await asyncio.gather(*(sign_in(c) for c in challenges))
    assert len(set(counts)) == 64
    assert min(counts) > registered.sign_count
    assert sorted(counts) == list(range(min(counts), min(counts) + 64))
    (stored,) = await api.ok("GET", f"{BASE}/{authenticator_id}/credentials")
    assert stored["signCount"] == max(counts)


async def test_foreign_rp_id_is_a_security_error(api: Api, authenticator_id: str) -> None:
    options = as_json(creation_options())
    status, body = await api.call(
        "POST",
        f"{BASE}/{authenticator_id}/create",
        json={"origin": "https://evil.example", "options": options},
    )
    assert status == 403
    assert body["error"] == "SecurityError"
    assert body["message"]
    assert await api.ok("GET", f"{BASE}/{authenticator_id}/credentials") == []


async def test_excluded_credential_is_an_invalid_state_error(
    api: Api, authenticator_id: str
) -> None:
    registered = await register(api, authenticator_id)
    options = creation_options(
        exclude_credentials=[PublicKeyCredentialDescriptor(id=registered.credential_id)]
    )
    status, body = await api.call(
        "POST",
        f"{BASE}/{authenticator_id}/create",
        json={"origin": ORIGIN, "options": as_json(options)},
    )
    assert (status, body["error"]) == (409, "InvalidStateError")


async def test_no_credential_is_not_allowed(api: Api, authenticator_id: str) -> None:
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID, allow_credentials=[PublicKeyCredentialDescriptor(id=b"\x01" * 16)]
    )
    status, body = await api.call(
        "POST",
        f"{BASE}/{authenticator_id}/get",
        json={"origin": ORIGIN, "options": as_json(options)},
    )
    assert (status, body["error"]) == (403, "NotAllowedError")


async def test_ceremony_arguments_are_checked(api: Api, authenticator_id: str) -> None:
    path = f"{BASE}/{authenticator_id}/create"
    status, body = await api.call("POST", path, json={"origin": 5, "options": {}})
    assert (status, body["error"]) == (400, "invalid argument")
    assert body["message"].startswith("origin ")
    status, body = await api.call("POST", path, json={"origin": ORIGIN, "options": []})
    assert (status, body["error"]) == (400, "invalid argument")
    assert body["message"].startswith("options ")
    status, body = await api.call("POST", path, json={"origin": ORIGIN, "options": {}, "x": 1})
    assert (status, body["error"]) == (400, "invalid argument")


async def ctap(api: Api, authenticator_id: str, message: bytes) -> tuple[int, bytes, str]:
    async with api.request(
        "POST",
        f"{BASE}/{authenticator_id}/ctap",
        data=message,
        headers={"Content-Type": "application/cbor"},
    ) as response:
        return response.status, await response.read(), response.content_type


async def test_ctap_get_info(api: Api, service: Service) -> None:
    created = await api.ok("POST", BASE, json={"aaguid": AAGUID})
    status, body, content_type = await ctap(api, created["authenticatorId"], b"\x04")
    assert (status, content_type) == (200, "application/cbor")
    assert body[0] == 0x00
    info = cbor2.loads(body[1:])
    assert "FIDO_2_0" in info[1]
    assert info[3] == uuid.UUID(AAGUID).bytes
    assert info[4]["rk"] is True


async def test_ctap_make_credential_then_list_it(api: Api, authenticator_id: str) -> None:
    request = {
        1: b"\x00" * 32,
        2: {"id": RP_ID},
        3: {"id": b"bob", "name": "bob"},
        4: [{"type": "public-key", "alg": -7}],
        7: {"rk": True, "uv": True},
    }
    status, body, _ = await ctap(
        api, authenticator_id, b"\x01" + cbor2.dumps(request, canonical=True)
    )
    assert (status, body[0]) == (200, 0x00)
    attestation = cbor2.loads(body[1:])
    credential_id_length = int.from_bytes(attestation[2][53:55], "big")
    credential_id = attestation[2][55 : 55 + credential_id_length]
    (listed,) = await api.ok("GET", f"{BASE}/{authenticator_id}/credentials")
    assert listed["credentialId"] == b64url(credential_id)
    assert listed["userHandle"] == b64url(b"bob")


async def test_malformed_cbor_is_answered_by_the_authenticator(
    api: Api, authenticator_id: str
) -> None:
    status, body, content_type = await ctap(api, authenticator_id, b"\x01\xff\x00garbage")
    assert (status, content_type) == (200, "application/cbor")
    assert body == b"\x12"  # CTAP2_ERR_INVALID_CBOR
    status, body, _ = await ctap(api, authenticator_id, b"\x04")
    assert (status, body[0]) == (200, 0x00)


async def test_ctap_needs_a_cbor_message(api: Api, authenticator_id: str) -> None:
    path = f"{BASE}/{authenticator_id}/ctap"
    status, body = await api.call(
        "POST", path, data=b"", headers={"Content-Type": "application/cbor"}
    )
    assert (status, body["error"]) == (400, "invalid argument")
    status, body = await api.call("POST", path, json={"command": 4})
    assert (status, body["error"]) == (415, "invalid argument")
