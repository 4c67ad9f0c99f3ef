"""allowCredentials / excludeCredentials longer than maxCredentialCountInList (64 for vauth):
silent probes per batch, then the real request with the batch that matched."""

from __future__ import annotations

from typing import Any

import pytest
from webauthn_support import Recorder

from vauth import base64url
from vauth.ctap import cbor
from vauth.ctap.authenticator import Authenticator
from vauth.webauthn.client import WebAuthnClient
from vauth.webauthn.errors import WebAuthnError

ORIGIN = "https://example.com"
CREATION: dict[str, Any] = {
    "rp": {"name": "Example"},
    "user": {"id": "dXNlcg", "name": "alice", "displayName": "Alice"},
    "challenge": base64url.encode(b"c" * 32),
    "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
}


def fakes(count: int) -> list[dict[str, str]]:
    return [
        {"type": "public-key", "id": base64url.encode(i.to_bytes(2, "big") * 16)}
        for i in range(count)
    ]


def with_real(count: int, position: int, real_id: str) -> list[dict[str, str]]:
    descriptors = fakes(count)
    descriptors.insert(position, {"type": "public-key", "id": real_id})
    return descriptors


def commands(recorder: Recorder) -> list[tuple[int, dict[Any, Any]]]:
    return [(m[0], cbor.decode(m[1:]) if len(m) > 1 else {}) for m in recorder.requests]


async def registered(authenticator: Authenticator) -> tuple[Recorder, WebAuthnClient, str]:
    recorder = Recorder(authenticator.process)
    client = WebAuthnClient(recorder)
    created = await client.create(CREATION, ORIGIN)
    recorder.requests.clear()
    return recorder, client, created["id"]


def request(allow: list[dict[str, str]]) -> dict[str, Any]:
    return {"challenge": base64url.encode(b"g" * 32), "allowCredentials": allow}


async def test_get_probes_batches_then_asks_with_the_matching_one(
    authenticator: Authenticator,
) -> None:
    recorder, client, real_id = await registered(authenticator)
    response = await client.get(request(with_real(70, 66, real_id)), ORIGIN)
    assert response["id"] == real_id

    sent = commands(recorder)
    assert [command for command, _ in sent] == [0x02, 0x02, 0x02]
    probe1, probe2, real = (params for _, params in sent)
    assert probe1[0x05] == {"up": False} and len(probe1[0x03]) == 64
    assert probe2[0x05] == {"up": False} and len(probe2[0x03]) == 7
    assert 0x05 not in real or "up" not in real[0x05]
    assert real[0x03] == probe2[0x03]
    assert base64url.decode(real_id) in [d["id"] for d in real[0x03]]


async def test_get_stops_probing_at_the_first_match(authenticator: Authenticator) -> None:
    recorder, client, real_id = await registered(authenticator)
    response = await client.get(request(with_real(200, 3, real_id)), ORIGIN)
    assert response["id"] == real_id
    sent = commands(recorder)
    assert len(sent) == 2  # one probe, one real request
    assert len(sent[1][1][0x03]) == 64


async def test_get_without_any_match_is_not_allowed(authenticator: Authenticator) -> None:
    recorder, client, _ = await registered(authenticator)
    with pytest.raises(WebAuthnError) as info:
        await client.get(request(fakes(130)), ORIGIN)
    assert info.value.name == "NotAllowedError"
    sent = commands(recorder)
    assert len(sent) == 4  # three probes, then the first batch (never an empty allowList)
    assert len(sent[3][1][0x03]) == 64


async def test_short_lists_are_sent_without_probing(authenticator: Authenticator) -> None:
    recorder, client, real_id = await registered(authenticator)
    await client.get(request(with_real(63, 10, real_id)), ORIGIN)
    sent = commands(recorder)
    assert len(sent) == 1
    assert len(sent[0][1][0x03]) == 64


async def test_create_probes_the_exclude_list(authenticator: Authenticator) -> None:
    recorder, client, real_id = await registered(authenticator)
    options = {**CREATION, "excludeCredentials": with_real(70, 65, real_id)}
    with pytest.raises(WebAuthnError) as info:
        await client.create(options, ORIGIN)
    assert info.value.name == "InvalidStateError"
    sent = commands(recorder)
    assert [command for command, _ in sent] == [0x02, 0x02, 0x01]
    assert sent[2][1][0x05] == sent[1][1][0x03]


async def test_create_with_a_long_foreign_exclude_list_succeeds(
    authenticator: Authenticator,
) -> None:
    recorder, client, real_id = await registered(authenticator)
    options = {**CREATION, "excludeCredentials": fakes(100)}
    response = await client.create(options, ORIGIN)
    assert response["id"] != real_id
    sent = commands(recorder)
    assert [command for command, _ in sent] == [0x02, 0x02, 0x01]
    assert 0x05 not in sent[2][1]
