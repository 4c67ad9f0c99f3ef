"""The request pipeline, outermost first: errors, host, origin, auth.

``errors`` turns every failure -- ours, the service's, aiohttp's own 404/405/413 and any bug --
into ``{"error", "message"}`` JSON, so nothing below it can answer HTML or kill the daemon.
``host`` refuses any Host but a loopback name (DNS rebinding), ``origin`` any request a web page
made (no CORS, ever), and ``auth`` any request without the bearer token. The checks come before
routing's answer, so a stranger learns nothing, not even which routes exist.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from vauth.app.service import ServiceError
from vauth.daemon.api.errors import ApiError, error_response
from vauth.inputs import InvalidInput

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})

# aiohttp's own refusals, as WebDriver error codes.
_HTTP_CODES = {404: "unknown command", 405: "unknown method", 500: "unknown error"}


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        response = error_response(exc.code, exc.message, exc.status, exc.headers)
        if exc.status == 408:  # what is left of a stalled body is not waited for
            response.force_close()
        return response
    except ServiceError as exc:
        return error_response(exc.code, exc.message, exc.status)
    except InvalidInput as exc:
        return error_response("invalid argument", exc.message, 400)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers: dict[str, str] = {}
        message = exc.text or exc.reason
        if isinstance(exc, web.HTTPNotFound):
            message = f"no route {request.path}"
        elif isinstance(exc, web.HTTPMethodNotAllowed):
            allowed = ", ".join(sorted(exc.allowed_methods))
            headers[hdrs.ALLOW] = allowed
            message = f"{request.method} is not allowed on {request.path}, only {allowed}"
        code = _HTTP_CODES.get(exc.status, "invalid argument")
        return error_response(code, message, exc.status, headers)
    except Exception:
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_response("unknown error", "internal error", 500)


def host_name(host: str) -> str:
    """``host[:port]`` -> ``host``, brackets kept on an IPv6 literal."""
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1 :] if end >= 0 else ""
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return ""
        return host[: end + 1]
    name, colon, port = host.partition(":")
    if colon and not port.isdigit():
        return ""
    return name


@web.middleware
async def loopback_host(request: web.Request, handler: Handler) -> web.StreamResponse:
    host = request.headers.get(hdrs.HOST, "")
    if host_name(host).lower() not in LOOPBACK_HOSTS:
        raise ApiError("SecurityError", "the Host must be localhost, 127.0.0.1 or [::1]", 421)
    return await handler(request)


@web.middleware
async def no_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    if hdrs.ORIGIN in request.headers:
        raise ApiError("SecurityError", "requests from web pages are refused", 403)
    return await handler(request)


def bearer_auth(token: str) -> Middleware:
    expected = token.encode()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        try:
            presented = given.strip().encode()
        except UnicodeEncodeError:
            presented = b""
        ok = hmac.compare_digest(presented, expected)
        if scheme.lower() != "bearer" or not ok:
            raise ApiError(
                "SecurityError",
                "a valid Authorization: Bearer token is required",
                401,
                {hdrs.WWW_AUTHENTICATE: 'Bearer realm="vauth"'},
            )
        return await handler(request)

    return auth


async def harden_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: no CORS header leaves, and nothing is cached or sniffed."""
    for name in [n for n in response.headers if n.lower().startswith("access-control-")]:
        del response.headers[name]
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
