"""The in-process typed path (``Authenticator.request`` with a typed request, as vauth's own
client calls it) and the CTAP byte path (``process``, as a transport carries it) answer every
request alike, byte for byte, malformed ones included: the typed path skips encoding and
decoding, never a check.

CTAP 2.1 section 6 ("Authenticator API"): a request is parsed, strictly, before it is acted on;
section 8 ("Message Encoding"): responses are CTAP2 canonical CBOR.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from vauth import VirtualAuthenticator
from vauth.ctap import cbor
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.messages.get_assertion import GetAssertionRequest
from vauth.ctap.messages.make_credential import MakeCredentialRequest
from vauth.ctap.status import CtapError

CDH = hashlib.sha256(b"client data").digest()
RP = {"id": "example.com", "name": "Example"}
ES256 = [{"alg": -7, "type": "public-key"}]
MC, GA, GNA = 0x01, 0x02, 0x08
KINDS: dict[int, Any] = {MC: MakeCredentialRequest, GA: GetAssertionRequest}


def user(name: str) -> dict[str, Any]:
    return {"id": name.encode(), "name": name, "displayName": name.title()}


def make(name: str, extra: dict[int, Any] | None = None) -> dict[int, Any]:
    return {1: CDH, 2: RP, 3: user(name), 4: ES256, 7: {"rk": True, "uv": True}, **(extra or {})}


# (command, parameters): valid ceremonies between malformed and refused requests; the last
# getNextAssertion continues the discoverable getAssertion just before it.
SEQUENCE: list[tuple[int, dict[int, Any] | None]] = [
    (MC, make("alice")),
    (MC, make("bob", {6: {"credProtect": 1}})),
    (MC, {1: CDH, 2: RP, 3: user("carol"), 4: ES256}),  # non-discoverable
    (MC, {1: CDH, 2: RP, 3: user("dave")}),  # no pubKeyCredParams: MISSING_PARAMETER
    (MC, {1: "text", 2: RP, 3: user("dave"), 4: ES256}),  # CBOR_UNEXPECTED_TYPE
    (MC, make("erin", {4: [{"alg": True, "type": "public-key"}]})),
    (MC, make("erin", {4: [{"alg": -7, "type": "other"}]})),  # UNSUPPORTED_ALGORITHM
    (MC, make("erin", {7: {"rk": True, "up": False}})),  # INVALID_OPTION
    (MC, make("erin", {10: 1})),  # enterprise attestation: INVALID_PARAMETER
    (GA, {1: "example.com", 2: CDH, 5: {"uv": True}}),  # discoverable: several accounts
    (GNA, None),
    (GA, {1: "example.com", 2: CDH, 5: {"up": False}}),  # a silent probe
    (GA, {1: "example.com", 2: CDH, 5: {"rk": True}}),  # rk: UNSUPPORTED_OPTION
    (GA, {1: "example.com"}),  # MISSING_PARAMETER
    (GA, {1: b"bytes", 2: CDH}),  # CBOR_UNEXPECTED_TYPE
    (GA, {1: "example.com", 2: CDH, 3: [{"id": 1, "type": "public-key"}]}),
    (GA, {1: "example.com", 2: CDH, 5: {"up": "yes"}}),
    (GA, {1: "example.com", 2: CDH, 4: {"hmac-secret": 7}}),  # a malformed extension input
    (GA, {1: "nobody.example", 2: CDH}),  # NO_CREDENTIALS
    (GA, {1: "example.com", 2: CDH, 6: b"\x00" * 16}),  # no protocol: MISSING_PARAMETER
    (GA, {1: "example.com", 2: CDH, 6: b"\x00" * 16, 7: 7}),  # unknown protocol
    (GA, {1: "example.com", 2: CDH, 6: b"\x00" * 16, 7: 1}),  # no pinUvAuthToken: PIN_AUTH_INVALID
    (GNA, None),  # nothing pending any more: NOT_ALLOWED
]


async def by_bytes(authenticator: Authenticator, command: int, params: Any) -> bytes:
    payload = b"" if params is None else cbor.encode(params)
    return await authenticator.process(bytes([command]) + payload)


async def by_request(authenticator: Authenticator, command: int, params: Any) -> bytes:
    try:
        response = await authenticator.request(command, params)
    except CtapError as exc:
        return bytes([exc.status])
    return b"\x00" + cbor.encode(response) if response else b"\x00"


async def by_typed_request(authenticator: Authenticator, command: int, params: Any) -> bytes:
    """The typed request where one can be built from ``params``; where it cannot (the request
    is malformed), the map, so that both authenticators see the same sequence."""
    kind = KINDS.get(command)
    if kind is not None:
        with contextlib.suppress(CtapError):
            params = kind.from_cbor(params)
    return await by_request(authenticator, command, params)


async def test_typed_map_and_byte_paths_answer_alike() -> None:
    paths = (by_bytes, by_request, by_typed_request)
    authenticators = [VirtualAuthenticator(seed=7).device.authenticator for _ in paths]
    statuses = []
    for command, params in SEQUENCE:
        answers = [
            await path(authenticator, command, params)
            for path, authenticator in zip(paths, authenticators, strict=True)
        ]
        assert answers[0] == answers[1] == answers[2], (command, params)
        statuses.append(answers[0][0])
    # The sequence exercises what it means to: successes and several distinct refusals.
    assert statuses.count(0) >= 6
    assert len(set(statuses)) >= 7
