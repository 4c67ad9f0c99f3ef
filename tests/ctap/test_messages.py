"""The shared CTAP message schema (vauth/ctap/messages/): both ends build and read the same
types, responses are canonical by construction, and requests survive a round trip.
CTAP 2.1 section 6.1 (makeCredential), 6.2 (getAssertion), 8 (canonical CBOR)."""

from __future__ import annotations

from vauth.ctap import cbor
from vauth.ctap.auth_data import AttestedCredentialData, AuthenticatorData, build
from vauth.ctap.messages.client_pin import Permission
from vauth.ctap.messages.get_assertion import GetAssertionRequest, GetAssertionResponse
from vauth.ctap.messages.make_credential import MakeCredentialRequest, MakeCredentialResponse

CDH = bytes(range(32))


def test_make_credential_request_round_trips() -> None:
    request = MakeCredentialRequest(
        client_data_hash=CDH,
        rp_id="example.com",
        rp_name="Example",
        user_id=b"user",
        user_name="alice",
        user_display_name="Alice",
        pub_key_cred_params=(("public-key", -7), ("public-key", -8)),
        exclude_list=(("public-key", b"\x01" * 16),),
        extensions={"credProtect": 2},
        options={"rk": True},
        pin_uv_auth_param=b"\x02" * 32,
        pin_uv_auth_protocol=2,
    )
    assert MakeCredentialRequest.from_cbor(cbor.decode(cbor.encode(request.to_cbor()))) == request


def test_get_assertion_request_round_trips() -> None:
    request = GetAssertionRequest(
        rp_id="example.com",
        client_data_hash=CDH,
        allow_list=(("public-key", b"\x01" * 16),),
        extensions={"credBlob": True},
        options={"up": False},
        pin_uv_auth_param=b"\x02" * 16,
        pin_uv_auth_protocol=1,
    )
    assert GetAssertionRequest.from_cbor(cbor.decode(cbor.encode(request.to_cbor()))) == request


def test_responses_are_canonical_by_construction() -> None:
    """encode_ordered skips the canonical check: every response type must not need it."""
    responses = [
        MakeCredentialResponse("packed", b"a" * 40, {"alg": -7, "sig": b"s", "x5c": [b"c"]}),
        MakeCredentialResponse("none", b"a" * 40, {}, large_blob_key=b"k" * 32),
        GetAssertionResponse(b"i" * 16, b"a" * 37, b"s" * 70),
        GetAssertionResponse(
            b"i" * 16,
            b"a" * 37,
            b"s" * 70,
            user={"id": b"u", "name": "alice", "displayName": "Alice"},
            number_of_credentials=2,
            user_selected=True,
            large_blob_key=b"k" * 32,
        ),
    ]
    for response in responses:
        body = response.to_cbor()
        assert cbor.encode_ordered(body) == cbor.encode(body)


def test_make_credential_response_names_the_new_credential() -> None:
    """The audit reads the new credential's ID from the attested credential data."""
    data = build(
        b"h" * 32,
        0x01,
        1,
        AttestedCredentialData(b"g" * 16, b"new-id", {1: 2, 3: -7, -1: 1, -2: b"x", -3: b"y"}),
    )
    assert AuthenticatorData(data).credential_id == b"new-id"
    assert AuthenticatorData(build(b"h" * 32, 0x01, 1)).credential_id is None


def test_permissions_are_flags() -> None:
    """CTAP 2.1 section 6.5.5.7: mc 0x01, ga 0x02, cm 0x04, be 0x08, lbw 0x10, acfg 0x20."""
    assert [int(p) for p in Permission] == [0x01, 0x02, 0x04, 0x08, 0x10, 0x20]
    assert Permission.MC | Permission.GA == 0x03
