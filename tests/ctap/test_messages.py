"""The shared CTAP message schema (vauth/ctap/messages/): both ends build and read the same
types, responses are canonical by construction, and requests survive a round trip.
CTAP 2.1 section 6.1 (makeCredential), 6.2 (getAssertion), 8 (canonical CBOR)."""

from __future__ import annotations

import pytest
from fido2.ctap2 import CredentialManagement, Info
from fido2.webauthn import Aaguid

from vauth.ctap import cbor
from vauth.ctap.auth_data import AttestedCredentialData, AuthenticatorData, build
from vauth.ctap.cose import Algorithm
from vauth.ctap.messages.client_pin import Permission
from vauth.ctap.messages.credential_management import (
    CredentialManagementRequest,
    CredentialManagementResponse,
)
from vauth.ctap.messages.credential_management import ParamKey as CmParamKey
from vauth.ctap.messages.credential_management import ResponseKey as CmResponseKey
from vauth.ctap.messages.credential_management import Subcommand as CmSubcommand
from vauth.ctap.messages.get_assertion import GetAssertionRequest, GetAssertionResponse
from vauth.ctap.messages.get_info import GetInfoResponse
from vauth.ctap.messages.large_blobs import LargeBlobsRequest, LargeBlobsResponse
from vauth.ctap.messages.make_credential import MakeCredentialRequest, MakeCredentialResponse
from vauth.testing.doubles import ScriptedKeySource
from vauth.webauthn.ctap_messages import AuthenticatorInfo

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


# -- getInfo (CTAP 2.1 section 6.4) ----------------------------------------------------------

FULL_INFO = GetInfoResponse(
    versions=("U2F_V2", "FIDO_2_0", "FIDO_2_1"),
    aaguid=bytes(16),
    extensions=("credBlob", "hmac-secret"),
    # Not in canonical order on purpose: the response must order them (section 8).
    options={"clientPin": False, "rk": True, "makeCredUvNotRqd": True, "up": True, "uv": True},
    max_msg_size=1200,
    pin_uv_auth_protocols=(2, 1),
    max_credential_count_in_list=8,
    max_credential_id_length=128,
    transports=("usb",),
    algorithms=(-7, -8),
    max_serialized_large_blob_array=1024,
    force_pin_change=False,
    min_pin_length=4,
    firmware_version=1,
    max_cred_blob_length=32,
    max_rp_ids_for_set_min_pin_length=8,
    remaining_discoverable_credentials=100,
)


def test_get_info_response_is_canonical_by_construction() -> None:
    body = FULL_INFO.to_cbor()
    assert cbor.encode_ordered(body) == cbor.encode(body)
    assert list(body) == sorted(body)


def test_get_info_response_round_trips() -> None:
    assert GetInfoResponse.from_cbor(cbor.decode(cbor.encode(FULL_INFO.to_cbor()))) == FULL_INFO


def test_get_info_response_reads_as_python_fido2_reads_it() -> None:
    """A peer client that is not vauth's reads the same members from the same bytes."""
    info = Info.from_dict(cbor.decode(cbor.encode(FULL_INFO.to_cbor())))
    assert info.versions == list(FULL_INFO.versions)
    assert info.extensions == list(FULL_INFO.extensions)
    assert info.aaguid == Aaguid(FULL_INFO.aaguid)
    assert info.options == FULL_INFO.options
    assert info.max_msg_size == 1200
    assert info.pin_uv_protocols == [2, 1]
    assert info.max_creds_in_list == 8 and info.max_cred_id_length == 128
    assert info.transports == ["usb"]
    assert [a["alg"] for a in info.algorithms] == [-7, -8]
    assert info.max_large_blob == 1024 and info.force_pin_change is False
    assert info.min_pin_length == 4 and info.firmware_version == 1
    assert info.max_cred_blob_length == 32 and info.max_rpids_for_min_pin == 8
    assert info.remaining_disc_creds == 100


def test_client_reads_a_foreign_get_info_leniently() -> None:
    """A member of the wrong type from another authenticator is treated as absent, and the
    client falls back to the spec's defaults (maxMsgSize 1024, one credential per list)."""
    info = AuthenticatorInfo.from_cbor(
        {0x02: "hmac-secret", 0x04: {"rk": 1, "up": True}, 0x05: True, 0x06: [2, True], 0x07: 0}
    )
    assert info.extensions == frozenset()
    assert info.options == {"up": True}
    assert info.max_msg_size == 1024
    assert info.pin_uv_auth_protocols == (2,)
    assert info.max_credential_count_in_list == 1


# -- credentialManagement (CTAP 2.1 section 6.8) ---------------------------------------------


def test_credential_management_keys_match_python_fido2() -> None:
    """A peer's numbering of the same schema: subcommands, subCommandParams, response keys."""
    assert {s.name: int(s) for s in CmSubcommand} == {
        "GET_CREDS_METADATA": CredentialManagement.CMD.GET_CREDS_METADATA,
        "ENUMERATE_RPS_BEGIN": CredentialManagement.CMD.ENUMERATE_RPS_BEGIN,
        "ENUMERATE_RPS_GET_NEXT_RP": CredentialManagement.CMD.ENUMERATE_RPS_NEXT,
        "ENUMERATE_CREDENTIALS_BEGIN": CredentialManagement.CMD.ENUMERATE_CREDS_BEGIN,
        "ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL": CredentialManagement.CMD.ENUMERATE_CREDS_NEXT,
        "DELETE_CREDENTIAL": CredentialManagement.CMD.DELETE_CREDENTIAL,
        "UPDATE_USER_INFORMATION": CredentialManagement.CMD.UPDATE_USER_INFO,
    }
    assert [int(k) for k in CmParamKey] == [int(p) for p in CredentialManagement.PARAM]
    peer = [int(r) for r in CredentialManagement.RESULT if r.name != "THIRD_PARTY_PAYMENT"]
    assert [int(k) for k in CmResponseKey] == peer


def test_credential_management_request_round_trips() -> None:
    request = CredentialManagementRequest(
        sub_command=CmSubcommand.DELETE_CREDENTIAL,
        sub_command_params={CmParamKey.CREDENTIAL_ID: {"id": b"c" * 16, "type": "public-key"}},
        pin_uv_auth_protocol=2,
        pin_uv_auth_param=b"p" * 32,
    )
    decoded = CredentialManagementRequest.from_cbor(cbor.decode(cbor.encode(request.to_cbor())))
    assert decoded == request
    # pinUvAuthParam authenticates subCommand || subCommandParams (section 6.8.5).
    assert request.auth_message() == b"\x06" + cbor.encode(request.sub_command_params)


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_credential_management_responses_are_canonical_by_construction(
    algorithm: Algorithm,
) -> None:
    key = ScriptedKeySource().generate_key(algorithm)
    responses = [
        CredentialManagementResponse(
            existing_resident_credentials_count=3,
            max_possible_remaining_resident_credentials_count=97,
        ),
        CredentialManagementResponse(
            rp={"id": "example.com", "name": "Example"}, rp_id_hash=b"h" * 32, total_rps=2
        ),
        CredentialManagementResponse(
            user={"id": b"u", "name": "alice", "displayName": "Alice"},
            credential_id=b"c" * 16,
            public_key=key.cose_public_key(),
            total_credentials=2,
            cred_protect=1,
            large_blob_key=b"k" * 32,
        ),
    ]
    for response in responses:
        body = response.to_cbor()
        assert cbor.encode_ordered(body) == cbor.encode(body)


# -- largeBlobs (CTAP 2.1 section 6.10) ------------------------------------------------------


def test_large_blobs_requests_round_trip() -> None:
    for request in (
        LargeBlobsRequest(offset=0, get=960),
        LargeBlobsRequest(
            offset=0, set=b"f" * 17, length=17, pin_uv_auth_param=b"p" * 32, pin_uv_auth_protocol=2
        ),
        LargeBlobsRequest(offset=960, set=b"g"),
    ):
        assert LargeBlobsRequest.from_cbor(cbor.decode(cbor.encode(request.to_cbor()))) == request


def test_large_blobs_response_is_canonical_and_read_back() -> None:
    body = LargeBlobsResponse(b"\x80" + b"h" * 16).to_cbor()
    assert cbor.encode_ordered(body) == cbor.encode(body)
    assert LargeBlobsResponse.from_cbor(body) == LargeBlobsResponse(b"\x80" + b"h" * 16)
    assert LargeBlobsResponse.from_cbor({0x01: "not bytes"}) is None
