"""The API's edge: token, Host, Origin, limits, and structured answers to every bad request --
after each of which the daemon keeps serving."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from api_support import TOKEN, Api

from vauth.app.service import Service
from vauth.daemon.api import MAX_BODY_BYTES, create_app

BASE = "/webauthn/authenticator"


async def still_serving(api: Api) -> None:
    assert (await api.ok("POST", BASE, json={}))["authenticatorId"]


def no_cors(response: aiohttp.ClientResponse) -> None:
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer tökén",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"), [("POST", BASE), ("GET", "/openapi.json"), ("GET", "/no/such/route")]
)
async def test_without_the_token_401(
    session: aiohttp.ClientSession,
    base_url: str,
    api: Api,
    service: Service,
    authorization: str | None,
    method: str,
    path: str,
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with session.request(method, base_url + path, headers=headers, json={}) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert await response.json() == {
            "error": "SecurityError",
            "message": "a valid Authorization: Bearer token is required",
        }
    assert service.authenticators == {}
    await still_serving(api)


async def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    status, body = await api.call(
        "POST", BASE, json={}, headers={"Authorization": f"bearer {TOKEN}"}
    )
    assert status == 200 and body["authenticatorId"]


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "127.0.0.2",
        "0.0.0.0",
        "[::2]",
        "localhost:http",
        "[::1]x",
        "",
    ],
)
async def test_foreign_host_refused(api: Api, service: Service, host: str) -> None:
    status, body = await api.call("POST", BASE, json={}, headers={"Host": host})
    assert status == 421
    assert body["error"] == "SecurityError"
    assert service.authenticators == {}
    await still_serving(api)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "[::1]"])
async def test_loopback_hosts_accepted(api: Api, host: str) -> None:
    port = api.base.rsplit(":", 1)[1]
    for value in (host, f"{host}:{port}"):
        status, body = await api.call("POST", BASE, json={}, headers={"Host": value})
        assert status == 200, body


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1"])
async def test_any_origin_refused(api: Api, service: Service, origin: str) -> None:
    async with api.request("POST", BASE, json={}, headers={"Origin": origin}) as response:
        assert response.status == 403
        assert await response.json() == {
            "error": "SecurityError",
            "message": "requests from web pages are refused",
        }
        no_cors(response)
    assert service.authenticators == {}


async def test_cors_preflight_refused(session: aiohttp.ClientSession, base_url: str) -> None:
    headers = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    async with session.options(base_url + BASE, headers=headers) as response:
        assert response.status == 403
        assert (await response.json())["error"] == "SecurityError"
        no_cors(response)


async def test_responses_are_hardened(api: Api) -> None:
    async with api.request("POST", BASE, json={}) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        no_cors(response)


@pytest.mark.parametrize(
    "body", [b"{", b"{'a': 1}", b"", b"\xff\xfe", b"[1, 2", b"NaNa", b'{"a": 1} trailing']
)
async def test_malformed_json_is_400(api: Api, body: bytes) -> None:
    status, answer = await api.call(
        "POST", BASE, data=body, headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert answer["error"] == "invalid argument"
    assert answer["message"].startswith("the body is not UTF-8 JSON")
    await still_serving(api)


@pytest.mark.parametrize("body", [[], "config", 3, None])
async def test_non_object_json_is_400(api: Api, authenticator_id: str, body: Any) -> None:
    for path in (BASE, f"{BASE}/{authenticator_id}/credential", f"{BASE}/{authenticator_id}/uv"):
        status, answer = await api.call("POST", path, json=body)
        assert (status, answer["error"]) == (400, "invalid argument"), path


async def test_oversized_body_is_413(api: Api) -> None:
    body = b'{"protocol": "' + b"x" * MAX_BODY_BYTES + b'"}'
    status, answer = await api.call(
        "POST", BASE, data=body, headers={"Content-Type": "application/json"}
    )
    assert status == 413
    assert answer["error"] == "invalid argument"
    assert str(MAX_BODY_BYTES) in answer["message"]
    await still_serving(api)


async def test_unknown_route_is_structured_404(api: Api) -> None:
    for path in ("/", "/session/1/webauthn/authenticator", f"{BASE}/x/y/z", "/openapi.yaml"):
        status, body = await api.call("GET", path)
        assert status == 404, path
        assert body == {"error": "unknown command", "message": f"no route {path}"}
    await still_serving(api)


async def test_wrong_method_is_structured_405(api: Api, authenticator_id: str) -> None:
    for method, path, allowed in [
        ("GET", BASE, "POST"),
        ("PUT", f"{BASE}/{authenticator_id}", "DELETE"),
        ("GET", f"{BASE}/{authenticator_id}/get", "POST"),
        ("POST", "/openapi.json", "GET"),
    ]:
        async with api.request(method, path) as response:
            assert response.status == 405, path
            assert response.headers["Allow"] == allowed
            body = await response.json()
            assert body["error"] == "unknown method"
            assert body["message"] == f"{method} is not allowed on {path}, only {allowed}"
    await still_serving(api)


async def test_a_bug_is_a_structured_500(
    api: Api, authenticator_id: str, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(authenticator_id: str) -> list[dict[str, Any]]:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(service, "get_credentials", broken)
    status, body = await api.call("GET", f"{BASE}/{authenticator_id}/credentials")
    assert (status, body) == (500, {"error": "unknown error", "message": "internal error"})
    await still_serving(api)


def test_create_app_needs_a_token(service: Service) -> None:
    with pytest.raises(ValueError, match="token"):
        create_app(service, "")
