"""CDP WebAuthn's commands beyond WebDriver's, and its events, over the HTTP API: driven as a
test harness would, the ceremonies verified by py_webauthn (a relying party's library).

CDP WebAuthn domain: https://chromedevtools.github.io/devtools-protocol/tot/WebAuthn/
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp
import pytest
import webauthn
from api_support import ORIGIN, RP_ID, Api, b64url, serve
from webauthn.helpers.exceptions import InvalidAuthenticationResponse

from vauth.app.service import Prompts, Service

BASE = "/webauthn/authenticator"
UP, UV = 0x01, 0x04


def creation(challenge: bytes, user: bytes = b"user-1") -> dict[str, Any]:
    return {
        "challenge": b64url(challenge),
        "rp": {"id": RP_ID, "name": "Example"},
        "user": {"id": b64url(user), "name": "alice", "displayName": "Alice"},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
    }


def request(challenge: bytes) -> dict[str, Any]:
    return {"challenge": b64url(challenge), "rpId": RP_ID, "userVerification": "preferred"}


class EventStream:
    """The /events stream, read as an EventSource would (``event:`` and ``data:`` lines)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self) -> tuple[str, Any]:
        name, data = "message", ""
        async with asyncio.timeout(5):
            while True:
                line = (await self.response.content.readline()).decode().rstrip("\r\n")
                if line.startswith("event:"):
                    name = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    data += line.removeprefix("data:").strip()
                elif line == "" and name != "message":
                    return name, json.loads(data) if data else None


async def open_events(api: Api, authenticator_id: str) -> EventStream:
    response = await api.request("GET", f"{BASE}/{authenticator_id}/events")
    assert response.status == 200 and response.content_type == "text/event-stream"
    stream = EventStream(response)
    assert (await stream.next())[0] == "ready"
    return stream


async def register(api: Api, authenticator_id: str) -> tuple[Any, dict[str, Any]]:
    challenge = os.urandom(16)
    response = await api.ok(
        "POST",
        f"{BASE}/{authenticator_id}/create",
        json={"origin": ORIGIN, "options": creation(challenge)},
    )
    verified = webauthn.verify_registration_response(
        credential=response,
        expected_challenge=challenge,
        expected_origin=ORIGIN,
        expected_rp_id=RP_ID,
        require_user_verification=True,
    )
    return verified, response


async def authenticate(
    api: Api, authenticator_id: str, verified: Any, uv: bool = False, counter: int = 0
) -> Any:
    challenge = os.urandom(16)
    response = await api.ok(
        "POST",
        f"{BASE}/{authenticator_id}/get",
        json={"origin": ORIGIN, "options": request(challenge)},
    )
    return webauthn.verify_authentication_response(
        credential=response,
        expected_challenge=challenge,
        expected_origin=ORIGIN,
        expected_rp_id=RP_ID,
        credential_public_key=verified.credential_public_key,
        credential_current_sign_count=counter,
        require_user_verification=uv,
    )


async def test_events_stream_credential_added_and_asserted(api: Api) -> None:
    authenticator_id = (await api.ok("POST", BASE, json={"hasPrf": True}))["authenticatorId"]
    stream = await open_events(api, authenticator_id)
    verified, _ = await register(api, authenticator_id)
    name, added = await stream.next()
    credential_id = b64url(verified.credential_id)
    assert name == "credentialAdded"
    assert added["authenticatorId"] == authenticator_id
    assert added["credential"]["credentialId"] == credential_id
    assert added["credential"]["userName"] == "alice" and added["credential"]["privateKey"]
    await authenticate(api, authenticator_id, verified)
    name, asserted = await stream.next()
    assert name == "credentialAsserted"
    assert asserted["credential"]["credentialId"] == credential_id
    assert asserted["credential"]["signCount"] == 2
    stream.response.close()


async def test_response_override_bits_make_a_relying_party_refuse(
    api: Api, authenticator_id: str
) -> None:
    verified, _ = await register(api, authenticator_id)
    path = f"{BASE}/{authenticator_id}/response-override-bits"
    await api.ok("POST", path, json={"isBogusSignature": True})
    with pytest.raises(InvalidAuthenticationResponse, match="signature"):
        await authenticate(api, authenticator_id, verified)
    await api.ok("POST", path, json={"isBadUV": True})  # isBogusSignature reset to false
    with pytest.raises(InvalidAuthenticationResponse, match="verif"):
        await authenticate(api, authenticator_id, verified, uv=True)
    await api.ok("POST", path, json={})
    assert (await authenticate(api, authenticator_id, verified, uv=True)).user_verified


async def test_fail_next_answers_the_next_ceremony_with_its_dom_error(
    api: Api, authenticator_id: str
) -> None:
    verified, _ = await register(api, authenticator_id)
    await api.ok("POST", f"{BASE}/{authenticator_id}/fail-next", json={"status": "NO_CREDENTIALS"})
    status, body = await api.call(
        "POST",
        f"{BASE}/{authenticator_id}/get",
        json={"origin": ORIGIN, "options": request(os.urandom(16))},
    )
    assert (status, body["error"]) == (403, "NotAllowedError")
    await authenticate(api, authenticator_id, verified, counter=0)
    status, body = await api.call(
        "POST", f"{BASE}/{authenticator_id}/fail-next", json={"status": "NOT_ONE"}
    )
    assert (status, body["error"]) == (400, "invalid argument") and "NOT_ONE" in body["message"]


async def test_get_credential_and_set_its_properties(api: Api, authenticator_id: str) -> None:
    verified, _ = await register(api, authenticator_id)
    credential_id = b64url(verified.credential_id)
    one = f"{BASE}/{authenticator_id}/credentials/{credential_id}"
    assert (await api.ok("GET", one)) == (
        await api.ok("GET", f"{BASE}/{authenticator_id}/credentials")
    )[0]
    await api.ok(
        "POST",
        one + "/props",
        json={"signCount": -1, "userName": "bob", "userDisplayName": "Bob", "backupState": False},
    )
    got = await api.ok("GET", one)
    assert (got["signCount"], got["userName"], got["userDisplayName"]) == (0, "bob", "Bob")
    assert (await authenticate(api, authenticator_id, verified)).new_sign_count == 0
    status, body = await api.call("POST", one + "/props", json={"signCount": -2})
    assert status == 400 and body["message"].startswith("signCount must be")
    status, body = await api.call("GET", f"{BASE}/{authenticator_id}/credentials/AAAA")
    assert (status, body["error"]) == (404, "no such credential")


async def test_automatic_presence_simulation_off_holds_the_ceremony(api: Api) -> None:
    created = await api.ok("POST", BASE, json={"automaticPresenceSimulation": False})
    authenticator_id = created["authenticatorId"]
    waiting = asyncio.ensure_future(register(api, authenticator_id))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await api.ok("POST", f"{BASE}/{authenticator_id}/presence-simulation", json={"enabled": True})
    await asyncio.wait_for(waiting, 5)


async def test_the_event_stream_ends_when_the_server_stops(session: aiohttp.ClientSession) -> None:
    service = Service(None, Prompts())
    async with serve(service) as url:
        api = Api(session, url)
        authenticator_id = (await api.ok("POST", BASE, json={}))["authenticatorId"]
        stream = await open_events(api, authenticator_id)
        stopped = asyncio.get_running_loop().time()
    # serve() closed the server: the stream ended at once, not after the 60 s shutdown grace.
    assert asyncio.get_running_loop().time() - stopped < 5
    assert await stream.response.content.read() == b""
    service.close()


async def test_events_of_an_unknown_authenticator_are_404(api: Api) -> None:
    status, body = await api.call("GET", f"{BASE}/nope/events")
    assert (status, body["error"]) == (404, "no such authenticator")
