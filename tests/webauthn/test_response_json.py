"""The JSON a page gets: PublicKeyCredential.toJSON() shapes, key for key."""

from __future__ import annotations

import json
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from webauthn_support import AuthenticatorFactory

from vauth import base64url
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.cose import Algorithm
from vauth.webauthn.client import WebAuthnClient

ORIGIN = "https://example.com"


def creation(alg: int, resident_key: str = "discouraged") -> dict[str, Any]:
    return {
        "rp": {"id": "example.com", "name": "Example"},
        "user": {"id": "dXNlcg", "name": "alice", "displayName": "Alice"},
        "challenge": base64url.encode(b"c" * 32),
        "pubKeyCredParams": [{"type": "public-key", "alg": alg}],
        "authenticatorSelection": {"residentKey": resident_key},
        "extensions": {"credProps": True},
    }


REQUEST = {"challenge": base64url.encode(b"g" * 32), "rpId": "example.com"}


def is_b64url(value: Any) -> bool:
    return isinstance(value, str) and base64url.encode(base64url.decode(value)) == value


@pytest.mark.parametrize("alg", list(Algorithm), ids=lambda a: a.name)
async def test_registration_response_json(
    new_authenticator: AuthenticatorFactory, alg: Algorithm
) -> None:
    client = WebAuthnClient(new_authenticator().process)
    response = await client.create(creation(int(alg)), ORIGIN)

    assert list(response) == [
        "authenticatorAttachment",
        "clientExtensionResults",
        "id",
        "rawId",
        "response",
        "type",
    ]
    assert response["type"] == "public-key"
    assert response["authenticatorAttachment"] == "cross-platform"
    assert response["id"] == response["rawId"] and is_b64url(response["id"])
    assert response["clientExtensionResults"] == {"credProps": {"rk": False}}
    inner = response["response"]
    assert list(inner) == [
        "attestationObject",
        "authenticatorData",
        "clientDataJSON",
        "publicKey",
        "publicKeyAlgorithm",
        "transports",
    ]
    assert inner["publicKeyAlgorithm"] == int(alg)
    assert inner["transports"] == ["usb"]
    for name in ("attestationObject", "authenticatorData", "clientDataJSON", "publicKey"):
        assert is_b64url(inner[name]), name

    attestation = cbor2.loads(base64url.decode(inner["attestationObject"]))
    assert list(attestation) == ["fmt", "attStmt", "authData"]
    assert attestation["fmt"] == "none"
    assert attestation["authData"] == base64url.decode(inner["authenticatorData"])
    credential_id = base64url.decode(response["id"])
    auth_data = attestation["authData"]
    assert auth_data[55 : 55 + len(credential_id)] == credential_id

    public_key = serialization.load_der_public_key(base64url.decode(inner["publicKey"]))
    assert public_key is not None
    json.dumps(response)  # JSON-serializable as it is


async def test_authentication_response_json(authenticator: Authenticator) -> None:
    client = WebAuthnClient(authenticator.process, transport="internal")
    created = await client.create(creation(-7, "required"), ORIGIN)
    assert created["authenticatorAttachment"] == "platform"
    assert created["response"]["transports"] == ["internal"]
    assert created["clientExtensionResults"] == {"credProps": {"rk": True}}

    response = await client.get(REQUEST, ORIGIN)
    assert list(response) == [
        "authenticatorAttachment",
        "clientExtensionResults",
        "id",
        "rawId",
        "response",
        "type",
    ]
    assert response["authenticatorAttachment"] == "platform"
    assert response["clientExtensionResults"] == {}
    assert response["id"] == response["rawId"] == created["id"]
    inner = response["response"]
    assert list(inner) == ["authenticatorData", "clientDataJSON", "signature", "userHandle"]
    assert all(is_b64url(value) for value in inner.values())
    assert base64url.decode(inner["userHandle"]) == b"user"
    client_data = json.loads(base64url.decode(inner["clientDataJSON"]))
    assert client_data["type"] == "webauthn.get"
    assert client_data["origin"] == ORIGIN


async def test_user_handle_is_omitted_for_a_non_discoverable_credential(
    client: WebAuthnClient,
) -> None:
    created = await client.create(creation(-7), ORIGIN)
    allow = [{"type": "public-key", "id": created["id"]}]
    response = await client.get({**REQUEST, "allowCredentials": allow}, ORIGIN)
    assert "userHandle" not in response["response"]
    assert len(base64url.decode(response["response"]["authenticatorData"])) == 37
