"""Fuzz the HTTP API's request handling: every route of ``vauth.daemon.api.create_app`` through
aiohttp's test server and client, with a valid bearer token.

An input is a request: byte 0 picks the route (``ROUTES`` in order), byte 1 the Content-Type
(bits 0-1: JSON, CBOR, none, text) and the authenticator in the path (bits 2-3: the service's
own, an added tester, an unknown id, an id with odd characters); the rest is the body (and, for
DELETE .../credentials/{credentialId}, also the credential id). Each input starts from the same
state: ``Service(VirtualAuthenticator(seed=1), Prompts())`` plus one tester authenticator.
Properties: the server answers; never 500; a failure is a JSON object with string ``error`` and
``message``; a success is JSON (CBOR with a CtapStatus first for ``/ctap``); nothing was
logged as an unhandled exception.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import sys
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

with _common.instrumented("vauth"):
    from vauth import VirtualAuthenticator
    from vauth.app.service import VAULT_ID, Prompts, Service
    from vauth.ctap.status import CtapStatus
    from vauth.daemon.api import app as api_app
    from vauth.daemon.api import create_app

from aiohttp.test_utils import TestClient, TestServer

TARGET = "api"
TOKEN = "fuzz-token-0123456789"
TESTER_ID = "0123456789abcdef"
IDS = (VAULT_ID, TESTER_ID, "no-such-authenticator", "%2e%2e%2F%00%ff")
CONTENT_TYPES = ("application/json", "application/cbor", None, "text/plain")
STATUSES = frozenset(int(s) for s in CtapStatus)
_errors = _common.LoggedErrors("vauth", "aiohttp")
_loop = asyncio.new_event_loop()
_service = Service(VirtualAuthenticator(seed=1).device, Prompts())


async def _start() -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(_service, TOKEN)))
    await client.start_server()
    return client


_client = _loop.run_until_complete(_start())
atexit.register(lambda: _loop.run_until_complete(_client.close()))


def request_input(
    handler: str, body: bytes, content_type: int | None = None, who: int = 0
) -> bytes:
    """The input that sends ``body`` to the route of the handler named ``handler``."""
    index = next(i for i, r in enumerate(api_app.ROUTES) if r[2].__name__ == handler)
    if content_type is None:
        content_type = 1 if handler == "ctap" else 0
    return bytes([index, content_type | who << 2]) + body


def fresh_state() -> None:
    for authenticator in _service.authenticators.values():
        authenticator.close()
    _service.authenticators = {
        VAULT_ID: VirtualAuthenticator(seed=1).device,
        TESTER_ID: VirtualAuthenticator(seed=2).device,
    }


async def send(data: bytes) -> tuple[str, int, str | None, bytes]:
    method, path, handler = api_app.ROUTES[data[0] % len(api_app.ROUTES)]
    flags = data[1] if len(data) > 1 else 0
    body = data[2:]
    values = {
        "authenticatorId": IDS[flags >> 2 & 3],
        "credentialId": urllib.parse.quote(body.decode("latin-1"), safe="") or "x",
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    content_type = CONTENT_TYPES[flags & 3]
    if content_type is not None:
        headers["Content-Type"] = content_type
    # Through the session: TestClient.request keeps every response until the client closes.
    url = _client.make_url(path)
    async with _client.session.request(method, url, data=body, headers=headers) as response:
        if response.status == 200 and response.content_type == "text/event-stream":
            return handler.__name__, response.status, response.content_type, b""  # endless
        return handler.__name__, response.status, response.content_type, await response.read()


def check(route: str, status: int, content_type: str | None, body: bytes) -> None:
    if status >= 500:
        raise _common.PropertyViolation(f"{route}: HTTP {status}: {body[:300]!r}")
    if route == "events" and status == 200:
        if content_type != "text/event-stream":
            raise _common.PropertyViolation(f"events answered {content_type}")
        return
    if route == "ctap" and status == 200:
        if content_type != "application/cbor" or not body or body[0] not in STATUSES:
            raise _common.PropertyViolation(f"ctap answered {content_type} {body[:40].hex()}")
        return
    try:
        value = json.loads(body)
    except ValueError:
        raise _common.PropertyViolation(
            f"{route}: HTTP {status}, not JSON: {body[:200]!r}"
        ) from None
    if status >= 400 and not (
        isinstance(value, dict)
        and isinstance(value.get("error"), str)
        and isinstance(value.get("message"), str)
    ):
        raise _common.PropertyViolation(f"{route}: HTTP {status} answered {str(value)[:200]}")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    fresh_state()
    with _errors.trapping():
        route, status, content_type, body = _loop.run_until_complete(send(data))
    check(route, status, content_type, body)


if __name__ == "__main__":
    _common.main(TARGET, test_one_input, _common.prefixed_json_mutator(2))
