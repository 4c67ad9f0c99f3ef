"""Malformed origins at the daemon's edges (issue 10 item 7): through the Unix socket's
``create``/``get`` and the HTTP API's ``/create``/``/get``, on a real `vauth serve`.

WebAuthn L3 5.1.3 step 7 (and 5.1.4 step 6): "If effective domain is not a valid domain, then
return a DOMException whose name is "SecurityError""; step 8: "If pkOptions.rp.id ... is not a
registrable domain suffix of and is not equal to effectiveDomain, return a DOMException whose
name is "SecurityError"". A browser sends an origin only in its serialized form (HTML 7.1.1,
"ASCII serialization of an origin"): anything else is refused before any rpId is considered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support import Daemon, b64, creation
from vauth.transport.unix_socket import Client

GOOD = "https://login.example.com"
EVIL = [f"https://evil.com{c}.example.com" for c in ("\\", "%2f", "%00", "\x00", " ", ";", "!")]
MALFORMED = [
    *EVIL,
    "https://evil.com%5c.example.com",
    "https://user@example.com",
    "https://user:pass@login.example.com",
    "https://example.com/",
    "https://example.com/path",
    "https://example.com?q=1",
    "https://example.com#fragment",
    "https://example.com.",
    "https://Example.com",
    "https://example.com:443",
    "ftp://example.com",
    "wss://example.com",
    "blob:https://example.com/0f9c",
    "https://faß.example.com",
    "https://[0:0::1]",
    "http://[::1]:80",
    "https://foo_bar.example.com",
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base: Path = tmp_path_factory.mktemp("origins")
    running = Daemon(base, "--ephemeral", "--presence", "auto", "--http", "127.0.0.1:0")
    yield running
    running.stop()


def request_options() -> dict[str, Any]:
    return {"challenge": b64(b"c" * 32), "rpId": "example.com"}


async def socket_call(daemon: Daemon, action: str, origin: str, options: Any) -> dict[str, Any]:
    client = await Client.connect(daemon.socket)
    try:
        return await client.call(action, origin=origin, options=options)
    finally:
        await client.close()


async def http_call(daemon: Daemon, route: str, origin: str, options: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {daemon.token}"}
    url = f"{daemon.http_url}/webauthn/authenticator/vault/{route}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"origin": origin, "options": options}, headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_a_serialized_origin_still_works(daemon: Daemon) -> None:
    """The control: the same calls with a serialized origin succeed (so refusals below are
    the origin's doing)."""
    created = await socket_call(daemon, "create", GOOD, creation("alice"))
    assert created["ok"] is True, created
    assert (await socket_call(daemon, "get", GOOD, request_options()))["ok"] is True
    status, body = await http_call(daemon, "get", GOOD, request_options())
    assert status == 200, body


@pytest.mark.parametrize("origin", MALFORMED)
@pytest.mark.parametrize("action", ["create", "get"])
async def test_socket_refuses_malformed_origins(daemon: Daemon, action: str, origin: str) -> None:
    await socket_call(daemon, "create", GOOD, creation("bob"))  # a passkey get could find
    options = creation("mallory") if action == "create" else request_options()
    reply = await socket_call(daemon, action, origin, options)
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == "SecurityError", reply


@pytest.mark.parametrize("origin", MALFORMED)
@pytest.mark.parametrize("route", ["create", "get"])
async def test_http_refuses_malformed_origins(daemon: Daemon, route: str, origin: str) -> None:
    options = creation("mallory") if route == "create" else request_options()
    status, body = await http_call(daemon, route, origin, options)
    assert (status, body["error"]) == (403, "SecurityError"), body


async def test_refusal_names_what_the_origin_really_is(daemon: Daemon) -> None:
    reply = await socket_call(daemon, "get", EVIL[0], request_options())
    assert "not a serialized origin" in reply["error"]["message"]
    assert "'https://evil.com'" in reply["error"]["message"]
