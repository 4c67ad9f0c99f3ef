"""Slow and greedy clients (issue 10 item 9): the HTTP API bounds how long a request's head and
body may take to arrive and how many connections are open; the Unix socket bounds how long a
frame may take once begun. Real servers on 127.0.0.1 and a real socket file, with small bounds
so that the tests are quick."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from vauth.app.service import Prompts, Service
from vauth.daemon.api import ApiServer, Limits, create_app
from vauth.transport import framing, unix_socket

TOKEN = "slow-client-test-token"
LIMITS = Limits(header_timeout_s=0.5, body_timeout_s=0.5, max_connections=4)
SLACK_S = 1.5  # scheduling on a loaded machine; still far below any unbounded wait
HEAD = b"POST /webauthn/authenticator HTTP/1.1\r\nHost: 127.0.0.1\r\n"
AUTHORIZED = HEAD + f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n".encode()


@pytest.fixture
async def port() -> AsyncIterator[int]:
    service = Service(None, Prompts())
    server = ApiServer(create_app(service, TOKEN, LIMITS), "127.0.0.1", 0)
    await server.start()
    try:
        yield server.port
    finally:
        await server.close()
        service.close()


async def until_closed(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start = time.monotonic()
    data = await asyncio.wait_for(reader.read(), 10)
    return data, time.monotonic() - start


async def connect(port: int, data: bytes = b"") -> tuple[asyncio.StreamReader, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def good_request(port: int) -> int:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.post(
            f"http://127.0.0.1:{port}/webauthn/authenticator",
            json={},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response,
    ):
        return response.status


@pytest.mark.parametrize(
    "sent", [b"", b"PO", HEAD, AUTHORIZED + b"Content-Length: 2\r\n"], ids=lambda s: repr(s[:12])
)
async def test_a_stalled_head_is_closed_within_the_bound(port: int, sent: bytes) -> None:
    reader, writer = await connect(port, sent)
    data, took = await until_closed(reader)
    writer.close()
    assert data == b""
    assert LIMITS.header_timeout_s * 0.8 <= took < LIMITS.header_timeout_s + SLACK_S
    assert await good_request(port) == 200


async def test_a_stalled_body_gets_408_within_the_bound(port: int) -> None:
    reader, writer = await connect(port, AUTHORIZED + b"Content-Length: 100\r\n\r\n{")
    data, took = await until_closed(reader)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body) == {
        "error": "timeout",
        "message": f"the request body did not arrive within {LIMITS.body_timeout_s:g} seconds",
    }
    assert took < LIMITS.body_timeout_s + SLACK_S
    assert await good_request(port) == 200


async def test_stalled_connections_do_not_starve_others(port: int) -> None:
    """More stalled heads than the limit: each newcomer displaces the longest-stalled one, so a
    well-behaved client is served at once, long before any head times out."""
    stalled = [await connect(port, HEAD) for _ in range(LIMITS.max_connections * 2)]
    start = time.monotonic()
    assert await good_request(port) == 200
    assert time.monotonic() - start < LIMITS.header_timeout_s
    closed = 0
    for reader, writer in stalled:
        closed += reader.at_eof() or await _closed_soon(reader)
        writer.close()
    assert closed >= LIMITS.max_connections + 1  # the limit was held


async def _closed_soon(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 0.05) == b""
    except TimeoutError:
        return False


async def test_past_the_limit_with_every_connection_busy_503(tmp_path: Path) -> None:
    """Requests in progress (here: bodies still arriving) are never displaced; a newcomer is
    told to come back."""
    limits = Limits(header_timeout_s=5, body_timeout_s=5, max_connections=2)
    service = Service(None, Prompts())
    server = ApiServer(create_app(service, TOKEN, limits), "127.0.0.1", 0)
    await server.start()
    try:
        busy = [
            await connect(server.port, AUTHORIZED + b"Content-Length: 10\r\n\r\n{")
            for _ in range(limits.max_connections)
        ]
        await asyncio.sleep(0.2)  # their heads are read; their handlers wait for the bodies
        reader, writer = await connect(server.port)
        data, took = await until_closed(reader)
        writer.close()
        assert data.startswith(b"HTTP/1.1 503 ") and took < 1
        assert json.loads(data.partition(b"\r\n\r\n")[2])["error"] == "unknown error"
        for busy_reader, busy_writer in busy:  # they finish normally
            busy_writer.write(b"}" + b" " * 8)  # the rest of the 10 bytes: {}, spaced
            await busy_writer.drain()
            assert (await busy_reader.readline()).startswith(b"HTTP/1.1 200 ")
            busy_writer.close()
    finally:
        await server.close()
        service.close()


# -- the Unix socket ---------------------------------------------------------------------------

FRAME_TIMEOUT_S = 0.3


@pytest.fixture
async def socket_path(tmp_path: Path) -> AsyncIterator[Path]:
    async def dispatch(request: dict[str, Any], _notify: Any = None) -> dict[str, Any]:
        return {"id": request.get("id"), "ok": True, "result": None}

    path = tmp_path / "run" / "s.sock"
    server = await unix_socket.serve(path, dispatch, frame_timeout_s=FRAME_TIMEOUT_S)
    try:
        yield path
    finally:
        server.close()


@pytest.mark.parametrize(
    "sent",
    [b"\x00\x00", b"\x00\x00\x00\x10", b'\x00\x00\x00\x10{"id": 1'],
    ids=["half a length prefix", "a prefix alone", "half a frame"],
)
async def test_a_stalled_frame_is_cut_off_within_the_bound(socket_path: Path, sent: bytes) -> None:
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(sent)
    await writer.drain()
    data, took = await until_closed(reader)
    writer.close()
    reply = framing.decode(data[4:])
    assert reply["ok"] is False and reply["error"]["code"] == "bad_message"
    assert "not whole within" in reply["error"]["message"]
    assert FRAME_TIMEOUT_S * 0.8 <= took < FRAME_TIMEOUT_S + SLACK_S


async def test_an_idle_connection_between_frames_is_kept(socket_path: Path) -> None:
    """The native host keeps one connection open for as long as the browser runs."""
    client = await unix_socket.Client.connect(socket_path)
    try:
        await asyncio.sleep(FRAME_TIMEOUT_S * 3)
        assert (await client.call("status"))["ok"] is True
    finally:
        await client.close()
