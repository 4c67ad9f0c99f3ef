"""Parsing PublicKeyCredential{Creation,Request}OptionsJSON: shapes, defaults and the errors."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.options import (
    CredentialDescriptor,
    CredentialParameters,
    parse_creation_options,
    parse_request_options,
)

CREATION: dict[str, Any] = {
    "rp": {"id": "example.com", "name": "Example"},
    "user": {"id": "dXNlci0x", "name": "alice", "displayName": "Alice"},
    "challenge": "AAECAwQFBgcICQoLDA0ODw",
    "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
}
REQUEST: dict[str, Any] = {"challenge": "AAECAwQFBgcICQoLDA0ODw", "rpId": "example.com"}


def creation(**changes: Any) -> dict[str, Any]:
    options = copy.deepcopy(CREATION)
    options.update(changes)
    return options


def without(path: str) -> dict[str, Any]:
    options = copy.deepcopy(CREATION)
    *parents, last = path.split(".")
    target = options
    for name in parents:
        target = target[name]
    del target[last]
    return options


def error_of(call: Any, *args: Any) -> WebAuthnError:
    with pytest.raises(WebAuthnError) as info:
        call(*args)
    return info.value


def test_minimal_creation_options_and_defaults() -> None:
    options = parse_creation_options(CREATION)
    assert options.rp.id == "example.com"
    assert options.user.id == b"user-1"
    assert options.user.display_name == "Alice"
    assert options.challenge == bytes(range(16))
    assert options.pub_key_cred_params == (
        CredentialParameters("public-key", -7),
        CredentialParameters("public-key", -257),
    )
    assert options.attestation == "none"
    assert options.timeout is None
    assert options.exclude_credentials == ()
    assert options.authenticator_selection.resident_key == "discouraged"
    assert options.authenticator_selection.user_verification == "preferred"
    assert options.extensions.cred_props is False


def test_json_text_and_public_key_wrapper_are_accepted() -> None:
    text = json.dumps({"publicKey": CREATION})
    assert parse_creation_options(text) == parse_creation_options(CREATION)
    assert parse_request_options({"publicKey": REQUEST}).rp_id == "example.com"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("rp", "options.rp is required"),
        ("rp.name", "options.rp.name is required"),
        ("user", "options.user is required"),
        ("user.id", "options.user.id is required"),
        ("user.name", "options.user.name is required"),
        ("user.displayName", "options.user.displayName is required"),
        ("challenge", "options.challenge is required"),
        ("pubKeyCredParams", "options.pubKeyCredParams is required"),
    ],
)
def test_missing_required_member_is_type_error_naming_it(path: str, message: str) -> None:
    error = error_of(parse_creation_options, without(path))
    assert (error.name, error.message) == ("TypeError", message)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (creation(challenge=123), "options.challenge must be a string"),
        (creation(rp="example.com"), "options.rp must be an object"),
        (creation(user={"id": 5, "name": "a", "displayName": "a"}), "options.user.id must be"),
        (creation(pubKeyCredParams={"alg": -7}), "options.pubKeyCredParams must be an array"),
        (creation(pubKeyCredParams=[{"type": "public-key"}]), "pubKeyCredParams[0].alg is req"),
        (creation(pubKeyCredParams=[{"type": "public-key", "alg": "-7"}]), "[0].alg must be"),
        (creation(pubKeyCredParams=[{"type": "public-key", "alg": True}]), "[0].alg must be"),
        (creation(timeout=-1), "options.timeout must be a non-negative integer"),
        (creation(timeout="60000"), "options.timeout must be a non-negative integer"),
        (creation(excludeCredentials=[{"id": "AAAA"}]), "excludeCredentials[0].type is req"),
        (creation(excludeCredentials=[{"type": "public-key"}]), "excludeCredentials[0].id is req"),
        (creation(authenticatorSelection={"residentKey": 1}), "Selection.residentKey must be"),
        (
            creation(authenticatorSelection={"requireResidentKey": "yes"}),
            "options.authenticatorSelection.requireResidentKey must be a boolean",
        ),
        (
            creation(authenticatorSelection={"userVerification": False}),
            "options.authenticatorSelection.userVerification must be a string",
        ),
        (creation(attestation=["direct"]), "options.attestation must be a string"),
        (creation(extensions=[]), "options.extensions must be an object"),
        (creation(extensions={"credProps": "true"}), "options.extensions.credProps must be"),
        (
            creation(extensions={"enforceCredentialProtectionPolicy": 1}),
            "options.extensions.enforceCredentialProtectionPolicy must be a boolean",
        ),
        (creation(hints="security-key"), "options.hints must be an array"),
        ("not json", "options are not valid JSON"),
        ([], "options must be an object"),
    ],
)
def test_mistyped_member_is_type_error_naming_it(options: Any, message: str) -> None:
    error = error_of(parse_creation_options, options)
    assert error.name == "TypeError"
    assert message in error.message


@pytest.mark.parametrize("user_id", ["", "A" * 88])  # 0 bytes and 66 bytes
def test_user_id_must_be_1_to_64_bytes(user_id: str) -> None:
    options = creation(user={"id": user_id, "name": "a", "displayName": "a"})
    error = error_of(parse_creation_options, options)
    assert error.name == "TypeError"
    assert "options.user.id must be 1 to 64 bytes" in error.message


def test_user_id_of_64_bytes_is_fine() -> None:
    options = creation(user={"id": "A" * 85 + "w", "name": "a", "displayName": "a"})
    assert len(parse_creation_options(options).user.id) == 64


@pytest.mark.parametrize("challenge", ["AA+/", "AA AA", "A", "AAA=A"])
def test_bad_base64url_is_encoding_error(challenge: str) -> None:
    error = error_of(parse_creation_options, creation(challenge=challenge))
    assert error.name == "EncodingError"
    assert "options.challenge" in error.message


def test_base64url_padding_is_optional() -> None:
    padded = parse_creation_options(creation(challenge="AAECAwQFBgcICQoLDA0ODw=="))
    assert padded.challenge == bytes(range(16))


def test_authenticator_selection_values() -> None:
    options = parse_creation_options(
        creation(
            authenticatorSelection={
                "residentKey": "preferred",
                "requireResidentKey": True,
                "userVerification": "required",
                "authenticatorAttachment": "cross-platform",
            },
            attestation="direct",
            timeout=30000,
            hints=["security-key"],
        )
    )
    selection = options.authenticator_selection
    assert selection.resident_key == "preferred"  # residentKey wins over requireResidentKey
    assert selection.user_verification == "required"
    assert selection.authenticator_attachment == "cross-platform"
    assert options.attestation == "direct"
    assert options.timeout == 30000
    assert options.hints == ("security-key",)


def test_require_resident_key_decides_when_resident_key_is_absent() -> None:
    options = parse_creation_options(creation(authenticatorSelection={"requireResidentKey": True}))
    assert options.authenticator_selection.resident_key == "required"


def test_unknown_enumeration_values_are_ignored() -> None:
    options = parse_creation_options(
        creation(
            attestation="fancy",
            authenticatorSelection={"residentKey": "maybe", "userVerification": "sometimes"},
            extensions={"credentialProtectionPolicy": "whatever", "unknownExt": 1},
        )
    )
    assert options.attestation == "none"
    assert options.authenticator_selection.resident_key == "discouraged"
    assert options.authenticator_selection.user_verification == "preferred"
    assert options.extensions.credential_protection_policy is None


@pytest.mark.parametrize("conveyance", ["none", "indirect", "direct", "enterprise"])
def test_attestation_conveyance_values(conveyance: str) -> None:
    assert parse_creation_options(creation(attestation=conveyance)).attestation == conveyance


def test_cred_protect_extension_uses_the_ctap_names() -> None:
    options = parse_creation_options(
        creation(
            extensions={
                "credProps": True,
                "credentialProtectionPolicy": "userVerificationOptionalWithCredentialIDList",
                "enforceCredentialProtectionPolicy": True,
            }
        )
    )
    assert options.extensions.cred_props is True
    assert options.extensions.credential_protection_policy == (
        "userVerificationOptionalWithCredentialIDList"
    )
    assert options.extensions.enforce_credential_protection_policy is True


def test_exclude_credentials_are_decoded_with_transports() -> None:
    options = parse_creation_options(
        creation(excludeCredentials=[{"type": "public-key", "id": "AQID", "transports": ["usb"]}])
    )
    assert options.exclude_credentials == (CredentialDescriptor("public-key", b"\1\2\3", ("usb",)),)


def test_request_options() -> None:
    options = parse_request_options(
        {
            **REQUEST,
            "timeout": 1000,
            "userVerification": "discouraged",
            "allowCredentials": [{"type": "public-key", "id": "AQID"}],
            "hints": ["client-device"],
            "extensions": {"appid": "https://example.com"},
        }
    )
    assert options.challenge == bytes(range(16))
    assert options.rp_id == "example.com"
    assert options.user_verification == "discouraged"
    assert options.allow_credentials == (CredentialDescriptor("public-key", b"\1\2\3"),)
    assert options.timeout == 1000


@pytest.mark.parametrize(
    ("options", "name", "message"),
    [
        ({}, "TypeError", "options.challenge is required"),
        ({"challenge": "AAAA", "rpId": 7}, "TypeError", "options.rpId must be a string"),
        (
            {"challenge": "AAAA", "allowCredentials": [{"type": "public-key", "id": "*"}]},
            "EncodingError",
            "options.allowCredentials[0].id is not base64url",
        ),
        (
            {"challenge": "AAAA", "allowCredentials": "AAAA"},
            "TypeError",
            "options.allowCredentials must be an array",
        ),
        ({"challenge": "AAAA", "extensions": 1}, "TypeError", "options.extensions must be"),
    ],
)
def test_request_option_errors(options: dict[str, Any], name: str, message: str) -> None:
    error = error_of(parse_request_options, options)
    assert error.name == name
    assert message in error.message
