"""A running API on a real loopback socket, and a client that speaks to it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from vauth.app.service import Service
from vauth.daemon.api import ApiServer, Limits, create_app

TOKEN = "test-token-0123456789abcdef"
ORIGIN = "https://login.example.com"
RP_ID = "example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_count(authenticator_data: bytes) -> int:
    """rpIdHash (32) || flags (1) || signCount (4, big-endian) || ..."""
    return int.from_bytes(authenticator_data[33:37], "big")


@asynccontextmanager
async def serve(
    service: Service, token: str = TOKEN, limits: Limits | None = None
) -> AsyncIterator[str]:
    """Run ``create_app(service, token, limits)`` as the daemon does (ApiServer) on 127.0.0.1,
    on a free port: yields the base URL."""
    server = ApiServer(create_app(service, token, limits), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


class Api:
    """A client with the token; ``call`` returns (status, JSON body)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str = TOKEN) -> None:
        self.session, self.base = session, base
        self.auth = {"Authorization": f"Bearer {token}"}

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        return self.session.request(
            method, self.base + path, headers={**self.auth, **(headers or {})}, **kwargs
        )

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.request(method, path, **kwargs) as response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        status, body = await self.call(method, path, **kwargs)
        assert status == 200, body
        return body
