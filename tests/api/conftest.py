"""Fixtures: a Service with an ephemeral authenticator setup, its API on a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from api_support import Api, serve

from vauth.app.service import Prompts, Service


@pytest.fixture
def service() -> Iterator[Service]:
    service = Service(None, Prompts())
    yield service
    service.close()


@pytest.fixture
async def base_url(service: Service) -> AsyncIterator[str]:
    async with serve(service) as url:
        yield url


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(session: aiohttp.ClientSession, base_url: str) -> Api:
    return Api(session, base_url)


@pytest.fixture
async def authenticator_id(api: Api) -> str:
    body = await api.ok("POST", "/webauthn/authenticator", json={"protocol": "ctap2_1"})
    return str(body["authenticatorId"])
