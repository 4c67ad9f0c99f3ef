"""Thin handlers: parse the request, await one service method, answer JSON (or CBOR).

The service is async and sends blocking work to threads itself; nothing here blocks.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from vauth.api.errors import ApiError
from vauth.api.openapi import OPENAPI
from vauth.service import Service

SERVICE: web.AppKey[Service] = web.AppKey("service", Service)
CBOR = "application/cbor"


async def read_json(request: web.Request) -> Any:
    body = await request.read()
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError("invalid argument", f"the body is not JSON: {exc}") from None


async def read_object(request: web.Request, allowed: frozenset[str] | None = None) -> Any:
    value = await read_json(request)
    if not isinstance(value, dict):
        raise ApiError("invalid argument", "the body must be a JSON object")
    if allowed is not None and not set(value) <= allowed:
        unknown = ", ".join(sorted(set(value) - allowed))
        raise ApiError("invalid argument", f"unknown members: {unknown}")
    return value


def ok(value: Any = None) -> web.Response:
    return web.json_response(value)


def _service(request: web.Request) -> Service:
    return request.app[SERVICE]


def _id(request: web.Request) -> str:
    return request.match_info["authenticatorId"]


async def add_authenticator(request: web.Request) -> web.Response:
    config = await read_object(request)
    return ok(await _service(request).add_authenticator(config))


async def remove_authenticator(request: web.Request) -> web.Response:
    await _service(request).remove_authenticator(_id(request))
    return ok()


async def add_credential(request: web.Request) -> web.Response:
    params = await read_object(request)
    await _service(request).add_credential(_id(request), params)
    return ok()


async def get_credentials(request: web.Request) -> web.Response:
    return ok(await _service(request).get_credentials(_id(request)))


async def remove_credential(request: web.Request) -> web.Response:
    credential_id = request.match_info["credentialId"]
    await _service(request).remove_credential(_id(request), credential_id)
    return ok()


async def remove_all_credentials(request: web.Request) -> web.Response:
    await _service(request).remove_all_credentials(_id(request))
    return ok()


async def set_user_verified(request: web.Request) -> web.Response:
    body = await read_object(request, frozenset({"isUserVerified"}))
    await _service(request).set_user_verified(_id(request), body.get("isUserVerified"))
    return ok()


async def ctap(request: web.Request) -> web.Response:
    """One CTAP2 message in, status byte || CBOR out. A message the authenticator cannot
    parse is answered by the authenticator (e.g. CTAP2_ERR_INVALID_CBOR), with HTTP 200."""
    if request.content_type != CBOR:
        raise ApiError("invalid argument", f"the body must be {CBOR}", 415)
    message = await request.read()
    if not message:
        raise ApiError("invalid argument", "the body must hold one CTAP2 message")
    response = await _service(request).ctap(_id(request), message)
    return web.Response(body=response, content_type=CBOR)


_CEREMONY = frozenset({"origin", "options"})


async def create(request: web.Request) -> web.Response:
    body = await read_object(request, _CEREMONY)
    result = await _service(request).create(_id(request), body.get("origin"), body.get("options"))
    return ok(result)


async def get(request: web.Request) -> web.Response:
    body = await read_object(request, _CEREMONY)
    result = await _service(request).get(_id(request), body.get("origin"), body.get("options"))
    return ok(result)


async def openapi(request: web.Request) -> web.Response:
    return ok(OPENAPI)
