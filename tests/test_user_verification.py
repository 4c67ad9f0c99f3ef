"""User verification as a browser does it, through the public API: built-in UV, or a
pinUvAuthToken from the PIN the caller gave; py_webauthn checks with require_user_verification."""

from __future__ import annotations

import json
import os

import pytest
import webauthn
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from vauth import VirtualAuthenticator, WebAuthnError, base64url
from vauth.ctap import cbor
from vauth.testing.doubles import InMemoryStore

RP_ID, ORIGIN = "example.com", "https://example.com"


def register(va: VirtualAuthenticator, uv: str, rk: str = "required") -> tuple[object, bool]:
    options = webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name="alice",
        challenge=os.urandom(32),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement(rk),
            user_verification=UserVerificationRequirement(uv),
        ),
    )
    response = va.create(json.loads(webauthn.options_to_json(options)), ORIGIN)
    verified = webauthn.verify_registration_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=uv == "required",
    )
    flags = base64url.decode(response["response"]["authenticatorData"])[32]
    return verified, bool(flags & 0x04)


def authenticate(va: VirtualAuthenticator, registered: object, uv: str) -> bool:
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID,
        challenge=os.urandom(32),
        allow_credentials=[PublicKeyCredentialDescriptor(id=registered.credential_id)],  # type: ignore[attr-defined]
        user_verification=UserVerificationRequirement(uv),
    )
    response = va.get(json.loads(webauthn.options_to_json(options)), ORIGIN)
    webauthn.verify_authentication_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=registered.credential_public_key,  # type: ignore[attr-defined]
        credential_current_sign_count=0,
        require_user_verification=uv == "required",
    )
    return bool(base64url.decode(response["response"]["authenticatorData"])[32] & 0x04)


@pytest.mark.parametrize("uv", ["required", "preferred", "discouraged"])
def test_built_in_uv(uv: str) -> None:
    va = VirtualAuthenticator()
    registered, verified = register(va, uv)
    assert verified  # a discoverable credential on a protected authenticator always gets UV
    assert authenticate(va, registered, uv) is (uv != "discouraged")


@pytest.mark.parametrize("uv", ["required", "preferred"])
def test_pin_token(uv: str) -> None:
    va = VirtualAuthenticator(has_user_verification=False, pin="1234")
    registered, verified = register(va, uv)
    assert verified
    assert authenticate(va, registered, uv)


def test_non_discoverable_without_uv_on_a_pin_protected_authenticator() -> None:
    va = VirtualAuthenticator(has_user_verification=False, pin="1234")
    registered, verified = register(va, "discouraged", rk="discouraged")
    assert not verified  # makeCredUvNotRqd
    assert not authenticate(va, registered, "discouraged")


def test_set_pin_then_change_it() -> None:
    store = InMemoryStore()
    va = VirtualAuthenticator(store=store, has_user_verification=False)
    registered, verified = register(va, "discouraged")
    assert not verified  # no PIN, no UV
    va.set_pin("1234")
    assert authenticate(va, registered, "required")
    va.set_pin("98765")
    assert authenticate(va, registered, "required")
    other = VirtualAuthenticator(
        store=store, has_user_verification=False, pin="1234"
    )  # a stale PIN for the same authenticator
    with pytest.raises(WebAuthnError) as exc:
        authenticate(other, registered, "required")
    assert exc.value.name == "NotAllowedError" and "PIN is wrong" in exc.value.message


def test_pin_needed_but_not_given() -> None:
    store = InMemoryStore()
    va = VirtualAuthenticator(store=store, has_user_verification=False, pin="1234")
    registered, _ = register(va, "required")
    stranger = VirtualAuthenticator(store=store, has_user_verification=False)
    with pytest.raises(WebAuthnError) as exc:
        authenticate(stranger, registered, "required")
    assert exc.value.name == "NotAllowedError" and "PIN" in exc.value.message


def test_uv_required_on_an_unprotected_authenticator() -> None:
    va = VirtualAuthenticator(has_user_verification=False)
    with pytest.raises(WebAuthnError) as exc:
        register(va, "required")
    assert exc.value.name == "NotAllowedError"  # as Chromium answers (webauthn/errors.py)


def test_client_notices_a_pin_set_behind_its_back() -> None:
    va = VirtualAuthenticator(has_user_verification=False)
    register(va, "discouraged")  # the client has read getInfo: no PIN
    from fido2.ctap2 import Ctap2
    from fido2.ctap2.pin import ClientPin

    from vauth.testing.doubles import VauthCtapDevice

    ClientPin(Ctap2(VauthCtapDevice(va))).set_pin("4321")
    with pytest.raises(WebAuthnError) as exc:
        register(va, "discouraged")  # discoverable now needs the PIN, which it lacks
    assert "PIN" in exc.value.message
    assert cbor.decode(va.process(b"\x04")[1:])[4]["clientPin"] is True
