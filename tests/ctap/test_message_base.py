"""One base for every CTAP message (vauth/ctap/messages/base.py): each field names its CBOR key
in its metadata, as python-fido2's data classes do; no message writes its own encoder, every
response reads back, and the bytes are those a peer that is not vauth reads (CTAP 2.1 section 6,
each command's response structure; section 8, canonical CBOR)."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import sys

import pytest
from fido2.ctap2 import AssertionResponse, AttestationResponse, CredentialManagement
from fido2.ctap2.pin import ClientPin

import vauth.ctap.messages as messages
from vauth.ctap import cbor
from vauth.ctap.auth_data import build
from vauth.ctap.messages.base import Message, Response
from vauth.ctap.messages.client_pin import ClientPinResponse
from vauth.ctap.messages.credential_management import CredentialManagementResponse
from vauth.ctap.messages.get_assertion import GetAssertionResponse
from vauth.ctap.messages.get_info import GetInfoResponse
from vauth.ctap.messages.large_blobs import LargeBlobsResponse
from vauth.ctap.messages.make_credential import MakeCredentialResponse

AUTH_DATA = build(b"h" * 32, 0x05, 7)
KEY = {1: 2, 3: -7, -1: 1, -2: b"x" * 32, -3: b"y" * 32}


def message_types() -> list[type[Message]]:
    for info in pkgutil.iter_modules(messages.__path__):
        importlib.import_module(f"{messages.__name__}.{info.name}")
    found: list[type[Message]] = []
    pending = [Message]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            # slots=True makes a new class: the one the module names is the message type.
            named = getattr(sys.modules[sub.__module__], sub.__name__, None) is sub
            if named and dataclasses.is_dataclass(sub):
                found.append(sub)
    return found


@pytest.mark.parametrize("kind", message_types(), ids=lambda k: k.__name__)
def test_no_message_writes_its_own_encoder(kind: type[Message]) -> None:
    """Each field carries its key in its metadata, and the base alone encodes."""
    assert "to_cbor" not in vars(kind)
    for field in dataclasses.fields(kind):
        assert "cbor" in field.metadata, f"{kind.__name__}.{field.name} names no CBOR key"


# One instance of each response type, every member filled.
FULL = [
    MakeCredentialResponse("packed", AUTH_DATA, {"alg": -7, "sig": b"s"}, b"k" * 32),
    GetAssertionResponse(
        b"i" * 16,
        AUTH_DATA,
        b"s" * 70,
        user={"id": b"u", "name": "alice", "displayName": "Alice"},
        number_of_credentials=2,
        user_selected=True,
        large_blob_key=b"k" * 32,
    ),
    ClientPinResponse(KEY, b"t" * 32, 8, False, 3),
    CredentialManagementResponse(
        existing_resident_credentials_count=3,
        max_possible_remaining_resident_credentials_count=97,
        rp={"id": "example.com", "name": "Example"},
        rp_id_hash=b"h" * 32,
        total_rps=2,
        user={"id": b"u", "name": "alice"},
        credential_id=b"c" * 16,
        public_key=KEY,
        total_credentials=2,
        cred_protect=1,
        large_blob_key=b"k" * 32,
    ),
    LargeBlobsResponse(b"\x80" + b"h" * 16),
    GetInfoResponse(versions=("FIDO_2_0",), aaguid=bytes(16), options={"up": True, "rk": True}),
]


def test_every_response_type_is_covered() -> None:
    responses = {k for k in message_types() if issubclass(k, Response) and k.members()}
    assert responses == {type(r) for r in FULL}


@pytest.mark.parametrize("response", FULL, ids=lambda r: type(r).__name__)
def test_every_response_reads_back(response: Response) -> None:
    """What the authenticator sends, a client reads back as the same typed response."""
    body = response.to_cbor()
    assert cbor.encode_ordered(body) == cbor.encode(body)  # canonical by construction
    assert type(response).from_cbor(cbor.decode(cbor.encode(body))) == response


def test_responses_read_as_python_fido2_reads_them() -> None:
    """A peer client reads the members the names say (python-fido2's own numbering)."""
    made = AttestationResponse.from_dict(FULL[0].to_cbor())
    assert made.fmt == "packed" and made.large_blob_key == b"k" * 32
    asserted = AssertionResponse.from_dict(FULL[1].to_cbor())
    assert asserted.credential == {"id": b"i" * 16, "type": "public-key"}
    assert asserted.number_of_credentials == 2 and asserted.user_selected is True
    pin = FULL[2].to_cbor()
    assert pin[ClientPin.RESULT.PIN_UV_TOKEN] == b"t" * 32
    assert pin[ClientPin.RESULT.UV_RETRIES] == 3
    managed = FULL[3].to_cbor()
    assert managed[CredentialManagement.RESULT.CREDENTIAL_ID] == {
        "id": b"c" * 16,
        "type": "public-key",
    }
    assert managed[CredentialManagement.RESULT.TOTAL_RPS] == 2


def test_a_malformed_response_reads_as_none_and_a_wrong_optional_as_absent() -> None:
    """A client takes a response from any authenticator: a required member of the wrong type
    makes it malformed; an optional one is left out."""
    assert GetAssertionResponse.from_cbor({1: {"id": b"i"}, 2: AUTH_DATA, 3: "text"}) is None
    read = GetAssertionResponse.from_cbor({2: AUTH_DATA, 3: b"s", 4: "not a map", 5: True})
    assert read == GetAssertionResponse(b"", AUTH_DATA, b"s")  # no credential: allowList's one
    assert ClientPinResponse.from_cbor({2: "text", 3: 8}) == ClientPinResponse(pin_retries=8)
