"""The daemon socket's Client: a cancelled call leaves nothing behind to break later calls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from vauth.transport import framing
from vauth.transport.framing import Notify
from vauth.transport.unix_socket import Client, serve


@contextlib.asynccontextmanager
async def daemon(path: Path, release: asyncio.Event) -> AsyncIterator[None]:
    """``slow`` answers once ``release`` is set; any other action answers at once."""

    async def dispatch(request: dict[str, Any], notify: Notify | None) -> dict[str, Any]:
        if request.get("action") == "slow":
            await release.wait()
        return {"id": request.get("id"), "ok": True, "result": request.get("action")}

    server = await serve(path, dispatch)
    try:
        yield
    finally:
        release.set()
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def scripted(path: Path) -> AsyncIterator[None]:
    """``slow`` is never answered; ``poke`` gets a connection-level error (id null), as a
    daemon sends for a frame it cannot read; any other action is echoed."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                request = framing.decode(
                    await reader.readexactly(framing.frame_length(await reader.readexactly(4)))
                )
                action = request.get("action")
                if action == "poke":
                    writer.write(framing.encode(framing.error_reply(None, "bad_message", "x")))
                elif action != "slow":
                    reply = {"id": request.get("id"), "ok": True, "result": action}
                    writer.write(framing.encode(reply))
                await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(connection, path=str(path))
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


async def test_a_late_reply_to_a_cancelled_call_is_dropped(tmp_path: Path) -> None:
    path, release = tmp_path / "run" / "socket", asyncio.Event()
    async with daemon(path, release):
        client = await Client.connect(path)
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.call("slow"), 0.05)
            release.set()  # its reply now arrives, for a request nobody waits for
            for _ in range(3):
                assert (await client.call("status"))["result"] == "status"
            assert client.alive
        finally:
            await client.close()


async def test_a_connection_level_error_after_a_cancelled_call(tmp_path: Path) -> None:
    path = tmp_path / "socket"
    async with scripted(path):
        client = await Client.connect(path)
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.call("slow"), 0.05)
            poked = await asyncio.wait_for(client.call("poke"), 5)
            assert poked["id"] is None and poked["error"]["code"] == "bad_message"
            echoed = await asyncio.wait_for(client.call("status"), 5)
            assert echoed == {"id": 3, "ok": True, "result": "status"}
            assert client.alive
        finally:
            await client.close()


async def test_a_call_on_a_closed_connection_is_refused_not_hung(tmp_path: Path) -> None:
    path, release = tmp_path / "run" / "socket", asyncio.Event()
    async with daemon(path, release):
        client = await Client.connect(path)
        await client.close()
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(client.call("status"), 5)
