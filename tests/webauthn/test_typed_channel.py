"""The client's channel is typed both ways (CTAP 2.1 section 6: each command's request and
response structures): it hands the authenticator typed requests and gets typed responses back,
reading no response member by its CBOR key; in process, nothing is encoded, decoded or turned
into a map on the way, and the byte path reads the same typed responses from the bytes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from webauthn_support import make_authenticator

from vauth.ctap.messages.base import Message
from vauth.ctap.messages.command import Command
from vauth.ctap.messages.get_info import GetInfoResponse
from vauth.webauthn.client import WebAuthnClient
from vauth.webauthn.ctap_messages import ByteChannel, DirectChannel, call

ORIGIN = "https://example.com"
WEBAUTHN = Path(__file__).resolve().parents[2] / "vauth" / "webauthn"


def creation(resident: str) -> dict[str, Any]:
    return {
        "rp": {"id": "example.com", "name": "Example"},
        "user": {"id": "dXNlcg", "name": "alice", "displayName": "Alice"},
        "challenge": "AAAAAAAAAAAAAAAAAAAAAA",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": resident},
        "extensions": {"credProps": True, "largeBlob": {"support": "preferred"}},
    }


@pytest.mark.parametrize("resident", ["required", "discouraged"])
async def test_in_process_no_response_becomes_a_map(
    monkeypatch: pytest.MonkeyPatch, resident: str
) -> None:
    """create() and get() with a PIN token (clientPIN too) run without ``to_cbor``."""
    client = WebAuthnClient(make_authenticator(), has_user_verification=False)
    await client.set_pin("271828")

    def refused(self: Message) -> dict[int, Any]:
        raise AssertionError(f"{type(self).__name__} was turned into a map")

    monkeypatch.setattr(Message, "to_cbor", refused)
    made = await client.create(creation(resident), ORIGIN)
    request = {
        "challenge": "AAAAAAAAAAAAAAAAAAAAAA",
        "rpId": "example.com",
        "allowCredentials": [{"type": "public-key", "id": made["id"]}],
        "userVerification": "required",
    }
    assert (await client.get(request, ORIGIN))["id"] == made["id"]


async def test_byte_and_direct_channels_read_the_same_typed_response() -> None:
    authenticator = make_authenticator()
    direct = await call(
        DirectChannel(authenticator), Command.GET_INFO, None, GetInfoResponse, "getInfo"
    )
    by_bytes = await call(
        ByteChannel(authenticator.process), Command.GET_INFO, None, GetInfoResponse, "getInfo"
    )
    assert direct == by_bytes and direct.versions


def test_the_client_reads_no_response_member_by_key() -> None:
    """No module of the client imports a response's key enum or indexes a response map."""
    found = []
    for path in sorted(WEBAUTHN.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and "messages" in node.module:
                found += [f"{path.name}: {a.name}" for a in node.names if "ResponseKey" in a.name]
    assert not found, found
