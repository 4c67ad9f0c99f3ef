"""clientDataJSON and the attestation object, byte for byte against the WebAuthn L3 vectors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cbor2
import pytest

from vauth import base64url
from vauth.webauthn.attestation import AttestationResult
from vauth.webauthn.client_data import CREATE, GET, client_data_json

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "spec-vectors" / "webauthn-l3-test-vectors.json").read_text()
)["vectors"]
CREDENTIAL_VECTORS = [name for name in VECTORS if name != "attestation-root-cert"]
EXTRA_DATA = re.compile(rb',"extraData":"[^"]*"')


@pytest.mark.parametrize("name", CREDENTIAL_VECTORS)
@pytest.mark.parametrize(("ceremony", "kind"), [("registration", CREATE), ("authentication", GET)])
def test_client_data_json_matches_the_spec_vectors(name: str, ceremony: str, kind: str) -> None:
    vector = VECTORS[name][ceremony]
    expected = EXTRA_DATA.sub(b"", bytes.fromhex(vector["clientDataJSON"]))
    challenge = bytes.fromhex(vector["challenge"])
    assert client_data_json(kind, challenge, "https://example.org") == expected


@pytest.mark.parametrize("name", CREDENTIAL_VECTORS)
def test_attestation_object_matches_the_spec_vectors(name: str) -> None:
    raw = bytes.fromhex(VECTORS[name]["registration"]["attestationObject"])
    decoded = cbor2.loads(raw)
    result = AttestationResult(decoded["fmt"], decoded["authData"], decoded["attStmt"])
    assert result.attestation_object() == raw
    assert list(decoded) == ["fmt", "attStmt", "authData"]


def test_exact_layout_same_origin() -> None:
    data = client_data_json(CREATE, b"\xff\xfe", "https://example.com")
    assert data == (
        b'{"type":"webauthn.create","challenge":"__4","origin":"https://example.com",'
        b'"crossOrigin":false}'
    )


def test_exact_layout_cross_origin_with_top_origin() -> None:
    data = client_data_json(GET, b"\x00", "https://idp.example", "https://rp.example")
    assert data == (
        b'{"type":"webauthn.get","challenge":"AA","origin":"https://idp.example",'
        b'"crossOrigin":true,"topOrigin":"https://rp.example"}'
    )


def test_strings_are_escaped_as_ccd_to_string_says() -> None:
    data = client_data_json(GET, b"", 'https://a"b\\c\x01ü')
    assert b'"origin":"https://a\\"b\\\\c\\u0001\xc3\xbc"' in data
    assert json.loads(data)["origin"] == 'https://a"b\\c\x01ü'


def test_base64url() -> None:
    assert base64url.encode(b"\xfb\xff") == "-_8"
    assert base64url.decode("-_8") == b"\xfb\xff"
    assert base64url.decode("-_8=") == b"\xfb\xff"
    with pytest.raises(ValueError):
        base64url.decode("+/8=")
