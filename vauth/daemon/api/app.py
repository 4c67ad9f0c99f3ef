"""``create_app(service, token)``: the routing table, the middlewares, the limits."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from vauth.app.service import Service
from vauth.daemon.api import handlers as h
from vauth.daemon.api.middlewares import (
    bearer_auth,
    errors,
    harden_headers,
    loopback_host,
    no_origin,
)
from vauth.daemon.api.server import CLOSING, IN_FLIGHT, LIMITS, Limits, in_flight

MAX_BODY_BYTES = 1 << 20
BASE = "/webauthn/authenticator"
AUTHENTICATOR = BASE + "/{authenticatorId}"

# (method, path, handler): the one routing table, mirrored by openapi.py (a test checks it).
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", BASE, h.add_authenticator),
    ("DELETE", AUTHENTICATOR, h.remove_authenticator),
    ("POST", AUTHENTICATOR + "/credential", h.add_credential),
    ("GET", AUTHENTICATOR + "/credentials", h.get_credentials),
    ("DELETE", AUTHENTICATOR + "/credentials/{credentialId}", h.remove_credential),
    ("DELETE", AUTHENTICATOR + "/credentials", h.remove_all_credentials),
    ("GET", AUTHENTICATOR + "/credentials/{credentialId}", h.get_credential),
    ("POST", AUTHENTICATOR + "/credentials/{credentialId}/props", h.set_credential_properties),
    ("POST", AUTHENTICATOR + "/uv", h.set_user_verified),
    ("POST", AUTHENTICATOR + "/response-override-bits", h.set_response_override_bits),
    ("POST", AUTHENTICATOR + "/fail-next", h.fail_next),
    ("POST", AUTHENTICATOR + "/presence-simulation", h.set_automatic_presence_simulation),
    ("GET", AUTHENTICATOR + "/events", h.events),
    ("GET", AUTHENTICATOR + "/attestation-ca", h.attestation_ca),
    ("POST", AUTHENTICATOR + "/ctap", h.ctap),
    ("POST", AUTHENTICATOR + "/create", h.create),
    ("POST", AUTHENTICATOR + "/get", h.get),
    ("GET", "/openapi.json", h.openapi),
)


def create_app(service: Service, token: str, limits: Limits | None = None) -> web.Application:
    """The API over ``service``; every request needs ``Authorization: Bearer <token>``.
    ``limits``: the read times and connections that ``ApiServer`` holds it to."""
    if not token:
        raise ValueError("the API needs a token")
    app = web.Application(
        middlewares=[in_flight, errors, loopback_host, no_origin, bearer_auth(token)],
        client_max_size=MAX_BODY_BYTES,
    )
    app[h.SERVICE] = service
    app[LIMITS] = limits or Limits()
    app[IN_FLIGHT] = set()
    app[CLOSING] = asyncio.Event()
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    app.on_response_prepare.append(harden_headers)
    return app
