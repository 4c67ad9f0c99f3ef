"""Thin handlers: parse the request, await one service method, answer JSON (or CBOR).

The service is async and sends blocking work to threads itself; nothing here blocks.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

from aiohttp import web
from aiohttp_sse import sse_response

from vauth import inputs
from vauth.app.service import Service
from vauth.daemon.api.errors import ApiError
from vauth.daemon.api.openapi import OPENAPI
from vauth.daemon.api.schemas import (
    CREDENTIAL_ID,
    CREDENTIAL_PARAMETERS,
    Ceremony,
    Configuration,
    CredentialProperties,
    Failure,
    OverrideBits,
    PresenceSimulation,
    UserVerified,
)
from vauth.daemon.api.server import CLOSING, LIMITS

SERVICE: web.AppKey[Service] = web.AppKey("service", Service)
CBOR = "application/cbor"
P = TypeVar("P")


async def read_body(request: web.Request) -> bytes:
    """The whole body, within the API's body read time (408 if it does not arrive in it)."""
    limit = request.app[LIMITS].body_timeout_s
    try:
        async with asyncio.timeout(limit):
            return await request.read()
    except TimeoutError:
        raise ApiError(
            "timeout", f"the request body did not arrive within {limit:g} seconds", 408
        ) from None


async def read_json(request: web.Request) -> Any:
    """The body as JSON, decoded within vauth.inputs' bounds (nesting depth included)."""
    try:
        return inputs.loads(await read_body(request))
    except inputs.InvalidInput as exc:
        raise ApiError("invalid argument", f"the body is {exc.message}") from None


async def _members(request: web.Request) -> dict[str, Any]:
    value = await read_json(request)
    if not isinstance(value, dict):
        raise ApiError("invalid argument", "the body must be a JSON object")
    return value


async def read_object(request: web.Request, fields: tuple[inputs.Field, ...]) -> dict[str, Any]:
    """The body as a JSON object whose members have the kinds ``fields`` declare; else
    ``invalid argument`` naming the member."""
    value = await _members(request)
    inputs.check(value, fields)
    return value


async def read_params(request: web.Request, params: type[P]) -> P:
    """The body as an instance of its ``@parameters`` class, which declares every member it may
    have; else ``invalid argument`` naming the member."""
    return inputs.parse(params, await _members(request), closed=True)


def ok(value: Any = None) -> web.Response:
    return web.json_response(value)


def _service(request: web.Request) -> Service:
    return request.app[SERVICE]


def _id(request: web.Request) -> str:
    return request.match_info["authenticatorId"]


def _credential_id(request: web.Request) -> str:
    """The path's {credentialId}, refused here (naming it) unless it is unpadded base64url."""
    credential_id = request.match_info["credentialId"]
    CREDENTIAL_ID.check(credential_id)
    return credential_id


async def add_authenticator(request: web.Request) -> web.Response:
    config = await read_params(request, Configuration)
    return ok(await _service(request).add_authenticator(config))


async def remove_authenticator(request: web.Request) -> web.Response:
    await _service(request).remove_authenticator(_id(request))
    return ok()


async def add_credential(request: web.Request) -> web.Response:
    _service(request).device(_id(request))  # WebDriver 11.3: no such authenticator comes first
    params = await read_object(request, CREDENTIAL_PARAMETERS)
    await _service(request).add_credential(_id(request), params)
    return ok()


async def get_credentials(request: web.Request) -> web.Response:
    return ok(await _service(request).get_credentials(_id(request)))


async def remove_credential(request: web.Request) -> web.Response:
    await _service(request).remove_credential(_id(request), _credential_id(request))
    return ok()


async def remove_all_credentials(request: web.Request) -> web.Response:
    await _service(request).remove_all_credentials(_id(request))
    return ok()


async def set_user_verified(request: web.Request) -> web.Response:
    body = await read_params(request, UserVerified)
    await _service(request).set_user_verified(_id(request), body.is_user_verified)
    return ok()


async def get_credential(request: web.Request) -> web.Response:
    """CDP WebAuthn.getCredential."""
    return ok(await _service(request).get_credential(_id(request), _credential_id(request)))


async def set_credential_properties(request: web.Request) -> web.Response:
    """WebDriver "Set Credential Properties", with CDP's signCount, userName, userDisplayName."""
    _service(request).device(_id(request))
    body = await read_params(request, CredentialProperties)
    await _service(request).set_credential_properties(_id(request), _credential_id(request), body)
    return ok()


async def set_response_override_bits(request: web.Request) -> web.Response:
    """CDP WebAuthn.setResponseOverrideBits."""
    _service(request).device(_id(request))
    body = await read_params(request, OverrideBits)
    await _service(request).set_response_override_bits(
        _id(request), body.is_bogus_signature, body.is_bad_uv, body.is_bad_up
    )
    return ok()


async def fail_next(request: web.Request) -> web.Response:
    """vauth: the next makeCredential or getAssertion fails with a chosen CTAP status."""
    _service(request).device(_id(request))
    body = await read_params(request, Failure)
    await _service(request).fail_next(_id(request), body.status)
    return ok()


async def set_automatic_presence_simulation(request: web.Request) -> web.Response:
    """CDP WebAuthn.setAutomaticPresenceSimulation."""
    _service(request).device(_id(request))
    body = await read_params(request, PresenceSimulation)
    await _service(request).set_automatic_presence_simulation(_id(request), body.enabled)
    return ok()


async def attestation_ca(request: web.Request) -> web.Response:
    """vauth: the authenticator's attestation CA (PEM), a relying party's trust anchor."""
    return ok({"certificate": await _service(request).attestation_ca(_id(request))})


async def events(request: web.Request) -> web.StreamResponse:
    """CDP WebAuthn's credential events as server-sent events (``event:`` the CDP name,
    ``data:`` its parameters as JSON), until the client or the server goes away."""
    device = _service(request).device(_id(request))
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    closing = request.app[CLOSING]
    unsubscribe = device.events.subscribe(lambda name, params: queue.put_nowait((name, params)))
    try:
        async with sse_response(request) as stream:
            await stream.send("", event="ready")  # subscribed: events from now on reach it
            while stream.is_connected() and not closing.is_set():
                waiters = (
                    asyncio.ensure_future(queue.get()),
                    asyncio.ensure_future(closing.wait()),
                )
                done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                for waiter in pending:
                    waiter.cancel()
                if waiters[0] in done:
                    name, params = waiters[0].result()
                    await stream.send(json.dumps(params), event=name)
        return stream
    finally:
        unsubscribe()


async def ctap(request: web.Request) -> web.Response:
    """One CTAP2 message in, status byte || CBOR out. A message the authenticator cannot
    parse is answered by the authenticator (e.g. CTAP2_ERR_INVALID_CBOR), with HTTP 200."""
    if request.content_type != CBOR:
        raise ApiError("invalid argument", f"the body must be {CBOR}", 415)
    message = await read_body(request)
    if not message:
        raise ApiError("invalid argument", "the body must hold one CTAP2 message")
    response = await _service(request).ctap(_id(request), message)
    return web.Response(body=response, content_type=CBOR)


async def create(request: web.Request) -> web.Response:
    body = await read_params(request, Ceremony)
    result = await _service(request).create(_id(request), body.origin, body.options, tester=True)
    return ok(result)


async def get(request: web.Request) -> web.Response:
    body = await read_params(request, Ceremony)
    result = await _service(request).get(_id(request), body.origin, body.options, tester=True)
    return ok(result)


async def openapi(request: web.Request) -> web.Response:
    return ok(OPENAPI)
