"""W3C WebAuthn L3 PRF test vectors (test-vectors-extensions-prf-ctap) reproduced byte for byte.

Both halves are vauth's own code: the client layer's ``HmacSecret`` (prf -> salts -> saltEnc,
saltAuth; outputs -> results) and the authenticator's hmac-secret extension (``open_salts``,
``Salts.output``). Only what the vectors fix is injected: both key-agreement keys, CredRandom and
the protocol 2 IVs (through each protocol's random-bytes port).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from vauth.base64url import decode as b64url_decode
from vauth.ctap.config import AuthenticatorConfig
from vauth.ctap.extensions.hmac_secret import HmacSecretInput, open_salts
from vauth.ctap.pin_protocol import PinUvAuthProtocol, PinUvAuthProtocolTwo
from vauth.ctap.pin_uv import PinUvAuth
from vauth.ctap.status import CtapError, CtapStatus
from vauth.testing.doubles import FakeClock, InMemoryStore, ScriptedKeySource
from vauth.webauthn.extensions import HmacSecret, prf_salt
from vauth.webauthn.options import PrfValues
from vauth.webauthn.pin import PinSession

DATA = json.loads(
    (
        Path(__file__).parent.parent / "spec-vectors" / "webauthn-l3-prf-test-vectors.json"
    ).read_text()
)
SHARED = DATA["shared"]
SEED = SHARED["seed"].encode()
PROTOCOLS: dict[int, type[PinUvAuthProtocol]] = {1: PinUvAuthProtocol, 2: PinUvAuthProtocolTwo}


def prng(index: int) -> bytes:
    return hashlib.sha256(SEED + bytes([index])).digest()


class ScriptedRandom:
    """os.urandom, except that the next call returns ``queued`` when one is set."""

    def __init__(self) -> None:
        self.queued: bytes | None = None

    def __call__(self, n: int) -> bytes:
        if self.queued is None:
            return os.urandom(n)
        value, self.queued = self.queued, None
        assert len(value) == n
        return value


def protocol(version: int, private_scalar: bytes) -> tuple[PinUvAuthProtocol, ScriptedRandom]:
    random = ScriptedRandom()
    made = PROTOCOLS[version](random)
    made.set_key_agreement_key(
        ec.derive_private_key(int.from_bytes(private_scalar, "big"), ec.SECP256R1())
    )
    return made, random


class UnusedChannel:
    async def request(self, command: int, params: dict[int, Any] | None) -> dict[Any, Any]:
        raise AssertionError("the vectors need no authenticator round trip")


@pytest.mark.parametrize("name", sorted(DATA["vectors"]))
def test_prf_hmac_secret_vector(name: str) -> None:
    vector = DATA["vectors"][name]
    version = vector["pin_uv_auth_protocol"]
    platform_key = bytes.fromhex(SHARED["platform_key_agreement_private_key"])
    assert platform_key == prng(0x04)
    cred_random = bytes.fromhex(SHARED["authenticator_cred_random"])
    assert cred_random == prng(0x06)

    # The authenticator, with its key-agreement key injected: its public key is the vector's.
    authenticator_protocol, authenticator_random = protocol(version, prng(0x05))
    cose = authenticator_protocol.get_public_key()
    expected_key = SHARED["authenticator_key_agreement_public_key"]
    assert (cose[1], cose[3], cose[-1]) == (2, -25, 1)
    assert cose[-2].hex() == expected_key["x"] and cose[-3].hex() == expected_key["y"]

    # The client: ECDH with the authenticator's public key gives the vector's shared secret.
    session = PinSession(UnusedChannel(), (version,))
    session.protocol, client_random = protocol(version, platform_key)
    shared_secret = session.protocol.decapsulate(cose)
    assert shared_secret.hex() == vector["shared_secret"]

    first = bytes.fromhex(vector["prf_eval_first"])
    second = bytes.fromhex(vector["prf_eval_second"]) if "prf_eval_second" in vector else None
    assert first == SEED + b"\x02"
    assert prf_salt(first).hex() == vector["salt1"]
    if second is not None:
        assert prf_salt(second).hex() == vector["salt2"]

    # Client computes saltEnc (protocol 2: with the vector's IV) and saltAuth.
    hmac_secret = HmacSecret(session, session.protocol.get_public_key(), shared_secret)
    values = PrfValues(first=first, second=second)
    if version == 2:
        client_random.queued = prng(vector["iv_salt_index"])[:16]
    extension_input = hmac_secret.input(values)
    assert extension_input[2].hex() == vector["salt_enc"]
    assert extension_input[4] == version

    # Authenticator opens the salts (checking saltAuth) and computes the encrypted outputs.
    salts = open_salts(
        pin_uv_with(version, authenticator_protocol),
        HmacSecretInput.from_cbor(extension_input, "hmac-secret"),
    )
    assert salts.shared_secret == shared_secret
    assert [s.hex() for s in salts.salts] == [vector["salt1"]] + (
        [vector["salt2"]] if second is not None else []
    )
    if version == 2:
        authenticator_random.queued = prng(vector["iv_output_index"])[:16]
    output_enc = salts.output(cred_random)
    assert output_enc.hex() == vector["output_enc"]

    # Client decrypts into the prf results.
    results = hmac_secret.results(output_enc, values)
    assert results is not None
    assert b64url_decode(results["first"]).hex() == vector["prf_results_first"] == vector["output1"]
    if second is not None:
        assert b64url_decode(results["second"]).hex() == vector["prf_results_second"]
        assert vector["prf_results_second"] == vector["output2"]
    else:
        assert "second" not in results


def pin_uv_with(version: int, protocol: PinUvAuthProtocol) -> PinUvAuth:
    """The authenticator's PIN/UV auth component on fakes, offering only ``protocol``."""
    pin_uv = PinUvAuth(InMemoryStore(), FakeClock(), ScriptedKeySource(), AuthenticatorConfig())
    pin_uv.protocols = {version: protocol}
    return pin_uv


def test_tampered_salt_auth_is_refused() -> None:
    """The same vector with one bit of saltAuth flipped: PIN_AUTH_INVALID, no output."""
    vector = DATA["vectors"]["single-input-pin-protocol-2"]
    authenticator_protocol, _ = protocol(2, prng(0x05))
    session = PinSession(UnusedChannel(), (2,))
    session.protocol, _ = protocol(2, bytes.fromhex(SHARED["platform_key_agreement_private_key"]))
    shared_secret = session.protocol.decapsulate(authenticator_protocol.get_public_key())
    hmac_secret = HmacSecret(session, session.protocol.get_public_key(), shared_secret)
    extension_input = hmac_secret.input(PrfValues(first=bytes.fromhex(vector["prf_eval_first"])))
    extension_input[3] = bytes([extension_input[3][0] ^ 1]) + extension_input[3][1:]
    with pytest.raises(CtapError) as raised:
        open_salts(
            pin_uv_with(2, authenticator_protocol),
            HmacSecretInput.from_cbor(extension_input, "hmac-secret"),
        )
    assert raised.value.status == CtapStatus.PIN_AUTH_INVALID
