"""Malformed requests at the daemon's edges (issue 10 item 8), on a real `vauth serve`: every
socket action and every JSON route, given a wrong-typed value for each of its members, answers
a structured error naming that member (never "internal" or HTTP 500); JSON nested too deeply
is answered too; and the daemon keeps serving.

The table of members below is written out by hand, apart from the daemon's own declarations,
so that a wrong declaration shows up here instead of being its own judge.
"""

from __future__ import annotations

import asyncio
import json
import struct
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support import Daemon
from vauth.daemon.actions import ACTIONS
from vauth.daemon.api.app import ROUTES
from vauth.inputs import MAX_DEPTH
from vauth.transport import framing
from vauth.transport.unix_socket import Client

ORIGIN = "https://example.com"
ANSWER_S = 10.0  # a refusal comes at once; this only keeps a regression from hanging the run

# action -> {member: kind}; "?" marks a member that may be null. Each action's valid params.
SOCKET: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "status": ({}, {}),
    "lock": ({}, {}),
    "unlock": ({"passphrase": "string"}, {"passphrase": "p"}),
    "create": (
        {
            "authenticatorId": "string",
            "origin": "string",
            "options": "object",
            "topOrigin": "string?",
            "ceremonyId": "string?",
        },
        {"origin": ORIGIN, "options": {}},
    ),
    "get": (
        {
            "authenticatorId": "string",
            "origin": "string",
            "options": "object",
            "topOrigin": "string?",
            "ceremonyId": "string?",
        },
        {"origin": ORIGIN, "options": {}},
    ),
    "ctap": ({"authenticatorId": "string", "message": "string"}, {"message": "BA=="}),
    "prompts.wait": ({"timeout": "number"}, {"timeout": 0}),
    "prompts.answer": (
        {
            "id": "string",
            "approve": "boolean",
            "verified": "boolean",
            "selected": "integer?",
            "synced": "boolean?",
        },
        {"id": "x", "approve": False},
    ),
    "rpId.check": ({"origin": "string?", "rpId": "string?"}, {"origin": ORIGIN}),
    "credentials.list": ({"rpId": "string?", "origin": "string?"}, {}),
    "credentials.show": ({"credentialId": "string"}, {"credentialId": "AAAA"}),
    "credentials.rename": (
        {"credentialId": "string", "nickname": "string", "via": "string?"},
        {"credentialId": "AAAA", "nickname": "n"},
    ),
    "credentials.delete": ({"credentialId": "string", "via": "string?"}, {"credentialId": "AAAA"}),
    "trash.list": ({}, {}),
    "trash.restore": ({"credentialId": "string", "via": "string?"}, {"credentialId": "AAAA"}),
    "trash.empty": ({"via": "string?"}, {}),
    "export.notice": ({"format": "string"}, {}),
    "authenticator.name": ({"displayName": "string"}, {"displayName": "d"}),
    "audit": ({"credentialId": "string?", "limit": "integer"}, {}),
    "export": ({"format": "string", "passphrase": "string?", "plaintext": "boolean"}, {}),
    "import": (
        {"data": "string", "passphrase": "string?", "progress": "boolean", "via": "string?"},
        {"data": ""},
    ),
    "recover": ({"recoveryKey": "string", "new": "string"}, {"recoveryKey": "x", "new": "y"}),
    "recoveryKey.new": ({"passphrase": "string"}, {"passphrase": "p"}),
    "passphrase": ({"old": "string", "new": "string"}, {"old": "a", "new": "b"}),
    "backup": ({"destination": "string"}, {"destination": "/nonexistent/b.db"}),
    "sync.status": ({}, {}),
    "attestation.ca": ({"authenticatorId": "string?"}, {}),
    "sync.init": (
        {"folder": "string", "deviceName": "string"},
        {"folder": "/nonexistent", "deviceName": "d"},
    ),
    "sync.join": (
        {"folder": "string", "deviceName": "string"},
        {"folder": "/nonexistent", "deviceName": "d"},
    ),
    "sync.pending": ({}, {}),
    "sync.approve": (
        {"deviceId": "string", "fingerprint": "string"},
        {"deviceId": "x", "fingerprint": "1"},
    ),
    "sync.devices": ({}, {}),
    "sync.leave": ({}, {}),
    "cancel": ({"ceremonyId": "string"}, {"ceremonyId": "x"}),
    "sync.remove": ({"deviceId": "string"}, {"deviceId": "x"}),
    "sync.default": ({"default": "string?"}, {}),
    "signal.unknownCredential": (
        {"origin": "string?", "rpId": "string", "credentialId": "string"},
        {"origin": ORIGIN, "rpId": "example.com", "credentialId": "AAAA"},
    ),
    "signal.allAcceptedCredentials": (
        {
            "origin": "string?",
            "rpId": "string",
            "userId": "string",
            "allAcceptedCredentialIds": "strings",
        },
        {"origin": ORIGIN, "rpId": "example.com", "userId": "AAAA", "allAcceptedCredentialIds": []},
    ),
    "signal.currentUserDetails": (
        {
            "origin": "string?",
            "rpId": "string",
            "userId": "string",
            "name": "string",
            "displayName": "string",
        },
        {
            "origin": ORIGIN,
            "rpId": "example.com",
            "userId": "AAAA",
            "name": "n",
            "displayName": "d",
        },
    ),
}

WRONG: dict[str, list[Any]] = {
    "string": [5, True, [], {}, None],
    "boolean": ["yes", 1, [], None],
    "integer": ["1", 1.5, True, [], None, -1],
    "number": ["25", True, [], None, float("nan"), float("inf"), -1, 1e9],
    "object": ["x", [], 5, None],
    "strings": ["x", [1], {}, None],
    "integer-or-string": [1.5, True, [], {}, None],
    "sign-count": ["1", 1.5, True, [], None, -2],  # -1 is CDP's "no counter"
}


def wrong_values(kind: str) -> list[Any]:
    nullable = kind.endswith("?")
    return [v for v in WRONG[kind.rstrip("?")] if not (nullable and v is None)]


def cases(table: dict[str, tuple[dict[str, str], dict[str, Any]]]) -> list[Any]:
    """(action or route, member, a wrong value) for every member of every entry of ``table``."""
    return [
        pytest.param(name, member, value, id=f"{name}-{member}-{value!r}")
        for name, (members, _valid) in table.items()
        for member, kind in members.items()
        for value in wrong_values(kind)
    ]


BASE = "/webauthn/authenticator"
CONFIGURATION = {
    "protocol": "string",
    "transport": "string",
    "hasResidentKey": "boolean",
    "hasUserVerification": "boolean",
    "isUserConsenting": "boolean",
    "isUserVerified": "boolean",
    "extensions": "strings",
    "defaultBackupEligibility": "boolean",
    "defaultBackupState": "boolean",
    "attestation": "string",
    "aaguid": "string",
    "seed": "integer-or-string",
    "ctap2Version": "string",
    "hasLargeBlob": "boolean",
    "hasCredBlob": "boolean",
    "hasMinPinLength": "boolean",
    "hasPrf": "boolean",
    "hasHmacSecret": "boolean",
    "hasHmacSecretMc": "boolean",
    "automaticPresenceSimulation": "boolean",
}
CREDENTIAL = {
    "credentialId": "string",
    "isResidentCredential": "boolean",
    "rpId": "string",
    "privateKey": "string",
    "userHandle": "string?",
    "signCount": "integer",
    "largeBlob": "string",
    "backupEligibility": "boolean",
    "backupState": "boolean",
    "userName": "string",
    "userDisplayName": "string",
}
CEREMONY = {"origin": "string", "options": "object"}
# route -> (members, valid body)
HTTP: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    BASE: (CONFIGURATION, {}),
    BASE + "/{authenticatorId}/credential": (CREDENTIAL, {}),
    BASE + "/{authenticatorId}/uv": ({"isUserVerified": "boolean"}, {"isUserVerified": True}),
    BASE + "/{authenticatorId}/create": (CEREMONY, {"origin": ORIGIN, "options": {}}),
    BASE + "/{authenticatorId}/get": (CEREMONY, {"origin": ORIGIN, "options": {}}),
    BASE + "/{authenticatorId}/credentials/{credentialId}/props": (
        {
            "backupEligibility": "boolean",
            "backupState": "boolean",
            "signCount": "sign-count",
            "userName": "string",
            "userDisplayName": "string",
        },
        {},
    ),
    BASE + "/{authenticatorId}/response-override-bits": (
        {"isBogusSignature": "boolean", "isBadUV": "boolean", "isBadUP": "boolean"},
        {},
    ),
    BASE + "/{authenticatorId}/fail-next": ({"status": "integer-or-string?"}, {"status": None}),
    BASE + "/{authenticatorId}/presence-simulation": ({"enabled": "boolean"}, {"enabled": True}),
}
NOT_JSON = {BASE + "/{authenticatorId}/ctap"}  # application/cbor


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base: Path = tmp_path_factory.mktemp("malformed")
    running = Daemon(base, "--ephemeral", "--presence", "auto", "--http", "127.0.0.1:0")
    yield running
    running.stop()
    assert "Traceback" not in "".join(running.log), "".join(running.log)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_the_tables_cover_every_action_and_route() -> None:
    assert set(SOCKET) == set(ACTIONS)
    json_routes = {path for method, path, _ in ROUTES if method == "POST"} - NOT_JSON
    assert set(HTTP) == json_routes


@pytest.mark.parametrize(("action", "member", "value"), cases(SOCKET))
async def test_socket_names_the_wrong_member(
    daemon: Daemon, action: str, member: str, value: Any
) -> None:
    await refused_naming(daemon, action, member, value)


async def refused_naming(daemon: Daemon, action: str, member: str, value: Any) -> str:
    """``action``'s valid params with ``member`` set to ``value``: refused, naming the member;
    the refusal's message."""
    params = {**SOCKET[action][1], member: value}
    client = await Client.connect(daemon.socket)
    try:
        reply = await asyncio.wait_for(client.request(action, params), ANSWER_S)
    finally:
        await client.close()
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == "invalid argument", reply
    assert reply["error"]["message"].startswith(f"{member} must be"), reply
    return str(reply["error"]["message"])


@pytest.mark.parametrize(("route", "member", "value"), cases(HTTP))
async def test_http_names_the_wrong_member(
    daemon: Daemon, route: str, member: str, value: Any
) -> None:
    body = {**HTTP[route][1], member: value}
    status, answer = await post(
        daemon, route.replace("{authenticatorId}", "vault").replace("{credentialId}", "AA"), body
    )
    assert (status, answer["error"]) == (400, "invalid argument"), answer
    assert answer["message"].startswith(f"{member} must be"), answer


async def post(daemon: Daemon, path: str, body: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {daemon.token}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ANSWER_S)) as session,
        session.post(daemon.http_url + path, data=data, headers=headers) as response,
    ):
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_aaguid_of_the_wrong_type_is_not_a_500(daemon: Daemon) -> None:
    """The issue's example: POST /webauthn/authenticator {"aaguid": 12} answered 500."""
    status, answer = await post(daemon, BASE, {"aaguid": 12})
    assert (status, answer) == (400, {"error": "invalid argument", "message": answer["message"]})
    assert "aaguid" in answer["message"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
@pytest.mark.parametrize("route", sorted(HTTP))
async def test_http_answers_deeply_nested_json(daemon: Daemon, route: str, depth: int) -> None:
    path = route.replace("{authenticatorId}", "vault").replace("{credentialId}", "AA")
    status, answer = await post(daemon, path, nested(depth).encode())
    assert (status, answer["error"]) == (400, "invalid argument"), answer
    assert "nested deeper" in answer["message"]
    status, _ = await post(daemon, BASE, {})
    assert status == 200


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
async def test_socket_answers_deeply_nested_frames(daemon: Daemon, depth: int) -> None:
    body = f'{{"id": 1, "action": "status", "params": {{"x": {nested(depth)}}}}}'.encode()
    reader, writer = await asyncio.open_unix_connection(str(daemon.socket))
    try:
        writer.write(struct.pack(">I", len(body)) + body)
        length = framing.frame_length(await asyncio.wait_for(reader.readexactly(4), ANSWER_S))
        reply = framing.decode(await reader.readexactly(length))
    finally:
        writer.close()
    assert reply["ok"] is False and reply["error"]["code"] == "bad_message", reply
    assert "nested deeper" in reply["error"]["message"]
    client = await Client.connect(daemon.socket)
    try:
        assert (await client.call("status"))["ok"] is True
    finally:
        await client.close()


def test_nesting_within_the_bound_is_served(daemon: Daemon) -> None:
    """Real requests nest a few levels (params.options.extensions.prf.evalByCredential...)."""

    async def run() -> dict[str, Any]:
        client = await Client.connect(daemon.socket)
        try:
            return await client.request("status", {"x": json.loads(nested(MAX_DEPTH - 2))})
        finally:
            await client.close()

    assert asyncio.run(run())["ok"] is True


# Issue 23: base64url members, decoded strictly at the edge (RFC 4648 section 5, unpadded, as
# WebAuthn's JSON and the schema's pattern have it). "AAEC!!AwQ" decoded to 00 01 02 03 04 before.
NOT_BASE64URL = ["AAEC!!AwQ", "AAECAw==", "AAEC+w", "AAEC/w"]
SOCKET_B64URL = {  # action -> its base64url members (written out, as the tables above are)
    "credentials.show": ("credentialId",),
    "credentials.rename": ("credentialId",),
    "credentials.delete": ("credentialId",),
    "trash.restore": ("credentialId",),
    "audit": ("credentialId",),
    "signal.unknownCredential": ("credentialId",),
    "signal.allAcceptedCredentials": ("userId", "allAcceptedCredentialIds"),
    "signal.currentUserDetails": ("userId",),
}
HTTP_B64URL = {BASE + "/{authenticatorId}/credential": ("credentialId", "privateKey", "userHandle")}
VALID_CREDENTIAL = {
    "credentialId": "AAEC",
    "isResidentCredential": False,
    "rpId": "example.com",
    "privateKey": "AAEC",  # a base64url member, if not a key: the edge refuses first
    "signCount": 0,
}


def test_the_base64url_tables_cover_every_base64url_member() -> None:
    declared = {
        name: tuple(f.name for f in action.fields if f.kind.schema.get("type") == "array"
                    or f.kind.schema.get("contentEncoding") == "base64url")
        for name, action in ACTIONS.items()
    }  # fmt: skip
    assert {name: members for name, members in declared.items() if members} == SOCKET_B64URL


@pytest.mark.parametrize("text", NOT_BASE64URL)
@pytest.mark.parametrize(
    ("action", "member"), [(a, m) for a, members in SOCKET_B64URL.items() for m in members]
)
async def test_socket_refuses_lenient_base64url_naming_the_member(
    daemon: Daemon, action: str, member: str, text: str
) -> None:
    value: Any = [text] if member == "allAcceptedCredentialIds" else text
    assert "base64url" in await refused_naming(daemon, action, member, value)


@pytest.mark.parametrize("text", NOT_BASE64URL)
@pytest.mark.parametrize(
    ("route", "member"), [(r, m) for r, members in HTTP_B64URL.items() for m in members]
)
async def test_http_refuses_lenient_base64url_naming_the_member(
    daemon: Daemon, route: str, member: str, text: str
) -> None:
    authenticator = await _tester(daemon)
    path = route.replace("{authenticatorId}", authenticator)
    status, answer = await post(daemon, path, {**VALID_CREDENTIAL, member: text})
    assert (status, answer["error"]) == (400, "invalid argument"), answer
    assert answer["message"].startswith(f"{member} must be a base64url string (unpadded)"), answer


@pytest.mark.parametrize("text", NOT_BASE64URL)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("DELETE", ""), ("POST", "/props")],
)
async def test_http_refuses_a_lenient_credential_id_in_the_path(
    daemon: Daemon, method: str, suffix: str, text: str
) -> None:
    authenticator = await _tester(daemon)
    quoted = urllib.parse.quote(text, safe="")
    path = f"{BASE}/{authenticator}/credentials/{quoted}{suffix}"
    headers = {"Authorization": f"Bearer {daemon.token}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ANSWER_S)) as session,
        session.request(method, daemon.http_url + path, data=b"{}", headers=headers) as response,
    ):
        answer = await response.json()
        assert (response.status, answer) == (
            400,
            {
                "error": "invalid argument",
                "message": "credentialId must be a base64url string (unpadded)",
            },
        )


async def _tester(daemon: Daemon) -> str:
    """A new tester authenticator on the daemon (Add Credential is a tester's)."""
    status, answer = await post(daemon, BASE, {})
    assert status == 200, answer
    return str(answer["authenticatorId"])
