"""W3C WebAuthn L3 "Test Vectors" (sctn-test-vectors) reproduced byte for byte.

The vector's credential key, credential ID, AAGUID and flags are injected through the KeySource
port and the authenticator configuration; everything else is vauth's own output. ECDSA in the
vectors is RFC 6979 deterministic, as vauth's signatures are.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from vauth import VirtualAuthenticator
from vauth.base64url import encode as b64url_encode
from vauth.ctap import cbor
from vauth.ctap.cose import Algorithm, CoseKey
from vauth.testing.doubles import ScriptedKeySource

VECTORS = json.loads(
    (Path(__file__).parent.parent / "spec-vectors" / "webauthn-l3-test-vectors.json").read_text()
)["vectors"]
UV, BE, BS = 0x04, 0x08, 0x10


def es256_key(hex_scalar: str) -> CoseKey:
    return CoseKey(Algorithm.ES256, ec.derive_private_key(int(hex_scalar, 16), ec.SECP256R1()))


def ctap_ok(va: VirtualAuthenticator, command: int, params: dict[int, Any]) -> dict[int, Any]:
    response = va.process(bytes([command]) + cbor.encode(params))
    assert response[0] == 0, f"CTAP status 0x{response[0]:02x}"
    result: dict[int, Any] = cbor.decode(response[1:])
    return result


def register(name: str, attestation: str) -> tuple[VirtualAuthenticator, dict[str, str], bytes]:
    vector = VECTORS[name]
    reg = vector["registration"]
    flags = int(reg["auth_data_UV_BE_BS"], 16)
    credential_id = bytes.fromhex(reg["credential_id"])
    va = VirtualAuthenticator(
        attestation=attestation,
        # The vectors' UV flag is the authenticator's capability: without built-in UV (and no
        # PIN) a discoverable credential needs none, as CTAP 2.1 section 6.1.2 step 7 allows.
        has_user_verification=bool(flags & UV),
        aaguid=bytes.fromhex(reg["aaguid"]),
        default_backup_eligibility=bool(flags & BE),
        default_backup_state=bool(flags & BS),
        key_source=ScriptedKeySource(
            keys=[es256_key(reg["credential_private_key"])], credential_ids=[credential_id]
        ),
    )
    if attestation == "packed":
        statement = cbor.decode(bytes.fromhex(reg["attestationObject"]))["attStmt"]
        ca = bytes.fromhex(VECTORS["attestation-root-cert"]["registration"]["attestation_ca_cert"])
        asyncio.run(
            va.authenticator.set_attestation_identity(
                es256_key(reg["attestation_private_key"]), tuple(statement["x5c"]), ca
            )
        )
    client_data_hash = hashlib.sha256(bytes.fromhex(reg["clientDataJSON"])).digest()
    response = ctap_ok(
        va,
        0x01,
        {
            1: client_data_hash,
            2: {"id": "example.org"},
            3: {"id": b"vector-user", "name": "user"},
            4: [{"alg": -7, "type": "public-key"}],
            7: {"rk": True, "uv": bool(flags & UV)},
        },
    )
    attestation_object = cbor.encode(
        {"fmt": response[1], "attStmt": response[3], "authData": response[2]}
    )
    return va, reg, attestation_object


CASES = [("none-es256", "none"), ("packed-self-es256", "packed-self"), ("packed-es256", "packed")]


@pytest.mark.parametrize(("name", "attestation"), CASES)
def test_registration_attestation_object(name: str, attestation: str) -> None:
    _, reg, attestation_object = register(name, attestation)
    assert attestation_object.hex() == reg["attestationObject"]


@pytest.mark.parametrize(("name", "attestation"), CASES)
def test_authentication_data_and_signature(name: str, attestation: str) -> None:
    va, reg, _ = register(name, attestation)
    auth = VECTORS[name]["authentication"]
    flags = int(auth["auth_data_UV_BS"], 16)
    credential_id = bytes.fromhex(reg["credential_id"])
    va.set_credential_properties(b64url_encode(credential_id), backup_state=bool(flags & BS))
    response = ctap_ok(
        va,
        0x02,
        {
            1: "example.org",
            2: hashlib.sha256(bytes.fromhex(auth["clientDataJSON"])).digest(),
            3: [{"id": credential_id, "type": "public-key"}],
            5: {"uv": bool(flags & UV)},
        },
    )
    assert response[2].hex() == auth["authenticatorData"]
    assert response[3].hex() == auth["signature"]


def test_packed_chain_matches_the_vector_root() -> None:
    _, reg, attestation_object = register("packed-es256", "packed")
    root = x509.load_der_x509_certificate(
        bytes.fromhex(VECTORS["attestation-root-cert"]["registration"]["attestation_ca_cert"])
    )
    leaf = x509.load_der_x509_certificate(cbor.decode(attestation_object)["attStmt"]["x5c"][0])
    leaf.verify_directly_issued_by(root)
    assert leaf.serial_number == int(reg["attestation_cert_serial_number"], 16)


def _examples(name: str) -> list[dict[str, Any]]:
    path = Path(__file__).parent.parent / "spec-vectors" / name
    examples: list[dict[str, Any]] = json.loads(path.read_text())["examples"]
    return examples


@pytest.mark.parametrize(
    "example", _examples("ctap-make-credential.json"), ids=lambda e: e["vector"]
)
def test_ctap_make_credential_examples(example: dict[str, Any]) -> None:
    inject = example["inject"]
    options = cbor.decode(bytes.fromhex(example["request"])[1:])[7]
    va = VirtualAuthenticator(
        attestation=example["attestation"],
        has_user_verification=options["uv"],
        aaguid=bytes.fromhex(inject["aaguid"]),
        default_backup_eligibility=inject["backup_eligible"],
        default_backup_state=inject["backup_state"],
        key_source=ScriptedKeySource(
            keys=[es256_key(inject["credential_private_key"])],
            credential_ids=[bytes.fromhex(inject["credential_id"])],
        ),
    )
    expected = bytes.fromhex(example["response"])
    if "attestation_private_key" in inject:
        x5c = tuple(cbor.decode(expected[1:])[3]["x5c"])
        asyncio.run(
            va.authenticator.set_attestation_identity(
                es256_key(inject["attestation_private_key"]), x5c, x5c[0]
            )
        )
    assert va.process(bytes.fromhex(example["request"])).hex() == example["response"]


@pytest.mark.parametrize("example", _examples("ctap-get-assertion.json"), ids=lambda e: e["vector"])
def test_ctap_get_assertion_examples(example: dict[str, Any]) -> None:
    attestation = dict(CASES)[example["vector"]]
    va, reg, _ = register(example["vector"], attestation)
    va.set_credential_properties(
        b64url_encode(bytes.fromhex(reg["credential_id"])), backup_state=example["backup_state"]
    )
    assert va.process(bytes.fromhex(example["request"])).hex() == example["response"]


@pytest.mark.parametrize("example", _examples("ctap-status-codes.json"), ids=lambda e: e["what"])
def test_ctap_status_code_examples(example: dict[str, Any]) -> None:
    va = VirtualAuthenticator()
    assert va.process(bytes.fromhex(example["request"]))[:1].hex() == example["status"]
