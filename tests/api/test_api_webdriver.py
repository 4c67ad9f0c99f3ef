"""The WebDriver virtual-authenticator commands over HTTP, as a test harness drives them."""

from __future__ import annotations

import json
import os

import cbor2
import pytest
import webauthn
from api_support import ORIGIN, RP_ID, Api, b64url, unb64url
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers.structs import PublicKeyCredentialDescriptor

from vauth.app.service import Service

BASE = "/webauthn/authenticator"


def p256_key() -> tuple[str, bytes]:
    """A new P-256 key as base64url PKCS#8, and its public half as a COSE key."""
    key = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    numbers = key.public_key().public_numbers()
    cose = cbor2.dumps(
        {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    )
    return b64url(pkcs8), cose


async def test_webdriver_flow(api: Api, service: Service) -> None:
    created = await api.ok(
        "POST",
        BASE,
        json={
            "protocol": "ctap2_1",
            "transport": "usb",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
        },
    )
    authenticator_id = created["authenticatorId"]
    assert set(created) == {"authenticatorId"}
    assert authenticator_id in service.authenticators
    path = f"{BASE}/{authenticator_id}"

    private_key, cose_public_key = p256_key()
    credential_id = os.urandom(16)
    params = {
        "credentialId": b64url(credential_id),
        "isResidentCredential": True,
        "rpId": RP_ID,
        "privateKey": private_key,
        "userHandle": b64url(b"user-7"),
        "signCount": 41,
        "userName": "alice",
    }
    assert await api.ok("POST", f"{path}/credential", json=params) is None
    second_id = b64url(os.urandom(16))
    second_key, _ = p256_key()
    await api.ok(
        "POST",
        f"{path}/credential",
        json={**params, "credentialId": second_id, "privateKey": second_key},
    )

    listed = await api.ok("GET", f"{path}/credentials")
    by_id = {c["credentialId"]: c for c in listed}
    assert set(by_id) == {b64url(credential_id), second_id}
    first = by_id[b64url(credential_id)]
    assert first["rpId"] == RP_ID
    assert first["isResidentCredential"] is True
    assert first["userHandle"] == b64url(b"user-7")
    assert first["signCount"] == 41
    assert first["userName"] == "alice"
    assert unb64url(first["privateKey"]) == unb64url(private_key)

    # The added key signs in; the relying party checks the signature with its public half.
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID, allow_credentials=[PublicKeyCredentialDescriptor(id=credential_id)]
    )
    assertion = await api.ok(
        "POST",
        f"{path}/get",
        json={"origin": ORIGIN, "options": json.loads(webauthn.options_to_json(options))},
    )
    verified = webauthn.verify_authentication_response(
        credential=assertion,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=cose_public_key,
        credential_current_sign_count=41,
        require_user_verification=True,
    )
    assert verified.new_sign_count > 41
    assert verified.user_verified is True

    assert await api.ok("POST", f"{path}/uv", json={"isUserVerified": False}) is None
    assertion = await api.ok(
        "POST",
        f"{path}/get",
        json={
            "origin": ORIGIN,
            "options": {
                **json.loads(webauthn.options_to_json(options)),
                "userVerification": "discouraged",
            },
        },
    )
    flags = unb64url(assertion["response"]["authenticatorData"])[32]
    assert flags & 0x04 == 0  # UV clear now

    assert await api.ok("DELETE", f"{path}/credentials/{second_id}") is None
    listed = await api.ok("GET", f"{path}/credentials")
    assert [c["credentialId"] for c in listed] == [b64url(credential_id)]

    status, body = await api.call("DELETE", f"{path}/credentials/{second_id}")
    assert (status, body["error"]) == (404, "no such credential")

    assert await api.ok("DELETE", f"{path}/credentials") is None
    assert await api.ok("GET", f"{path}/credentials") == []

    assert await api.ok("DELETE", path) is None
    assert authenticator_id not in service.authenticators
    status, body = await api.call("GET", f"{path}/credentials")
    assert (status, body["error"]) == (404, "no such authenticator")


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("DELETE", "", None),
        ("POST", "/credential", {}),
        ("GET", "/credentials", None),
        ("DELETE", "/credentials/AAAA", None),
        ("DELETE", "/credentials", None),
        ("POST", "/uv", {"isUserVerified": True}),
        ("POST", "/create", {"origin": ORIGIN, "options": {}}),
        ("POST", "/get", {"origin": ORIGIN, "options": {}}),
    ],
)
async def test_unknown_authenticator_is_404(
    api: Api, method: str, suffix: str, body: object
) -> None:
    status, answer = await api.call(method, f"{BASE}/nope{suffix}", json=body)
    assert status == 404
    assert answer == {"error": "no such authenticator", "message": "no authenticator with id nope"}


async def test_ctap_to_unknown_authenticator_is_404(api: Api) -> None:
    status, answer = await api.call(
        "POST", f"{BASE}/nope/ctap", data=b"\x04", headers={"Content-Type": "application/cbor"}
    )
    assert (status, answer["error"]) == (404, "no such authenticator")


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"hasResidentKey": True, "colour": "blue"}, "invalid argument"),
        ({"protocol": "ctap1/u2f", "attestation": "enterprise"}, "invalid argument"),
        ({"transport": "carrier-pigeon"}, "invalid argument"),
        ({"extensions": ["notAnExtension"]}, "unsupported operation"),
        ({"extensions": 5}, "invalid argument"),
        ({"extensions": "prf"}, "invalid argument"),
        ({"extensions": [["prf"]]}, "invalid argument"),
        ([], "invalid argument"),
    ],
)
async def test_bad_authenticator_configuration(api: Api, config: object, error: str) -> None:
    status, body = await api.call("POST", BASE, json=config)
    assert status == 400
    assert body["error"] == error


async def test_bad_credential_parameters(api: Api, authenticator_id: str) -> None:
    status, body = await api.call(
        "POST",
        f"{BASE}/{authenticator_id}/credential",
        json={"credentialId": "AAAA", "isResidentCredential": False, "rpId": RP_ID},
    )
    assert status == 400
    assert body["error"] == "invalid argument"
    assert "privateKey" in body["message"]


async def test_uv_must_be_boolean(api: Api, authenticator_id: str) -> None:
    path = f"{BASE}/{authenticator_id}/uv"
    status, body = await api.call("POST", path, json={"isUserVerified": "yes"})
    assert (status, body["error"]) == (400, "invalid argument")
    status, body = await api.call("POST", path, json={"isUserVerified": True, "x": 1})
    assert (status, body["error"]) == (400, "invalid argument")
