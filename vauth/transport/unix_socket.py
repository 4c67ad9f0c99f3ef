"""The daemon's Unix socket: framed JSON requests from front ends of the same user.

The directory is 0700 and the socket 0600, and every connection's peer is checked with
SO_PEERCRED: a process of another user is refused even if the permissions were loosened.
Requests on one connection run concurrently (a long-polled prompt does not block a ceremony);
replies carry the request's ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from vauth.transport import framing

logger = logging.getLogger(__name__)

Notify = Callable[[dict[str, Any]], Awaitable[None]]
Dispatch = Callable[[dict[str, Any], Notify | None], Awaitable[dict[str, Any]]]


class SocketSetupError(Exception):
    pass


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def prepare_directory(directory: Path) -> None:
    """Create the socket's directory 0700, or check that an existing one is ours and private."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = directory.stat()
    if info.st_uid != os.getuid():
        raise SocketSetupError(f"{directory} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        directory.chmod(0o700)


async def serve(
    path: Path, dispatch: Dispatch, allowed_uid: int | None = None
) -> asyncio.AbstractServer:
    prepare_directory(path.parent)
    if path.exists() or path.is_symlink():
        if await _answers(path):
            raise SocketSetupError(f"another vauth daemon is serving {path}")
        path.unlink()
    uid = os.getuid() if allowed_uid is None else allowed_uid

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(reader, writer, dispatch, uid)

    old_umask = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(connection, path=str(path))
    finally:
        os.umask(old_umask)
    path.chmod(0o600)
    return server


async def _answers(path: Path) -> bool:
    try:
        _reader, writer = await asyncio.open_unix_connection(str(path))
    except OSError:
        return False
    writer.close()
    return True


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dispatch: Dispatch, uid: int
) -> None:
    sock = writer.get_extra_info("socket")
    lock = asyncio.Lock()
    tasks: set[asyncio.Task[None]] = set()

    async def send(message: dict[str, Any]) -> None:
        async with lock:
            writer.write(framing.encode(message))
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    try:
        if sock is None or peer_uid(sock) != uid:
            logger.warning("refused a connection from another user")
            await send(_error(None, "forbidden", "this daemon serves only its own user"))
            return
        while True:
            try:
                header = await reader.readexactly(4)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            try:
                length = framing.frame_length(header)
                body = await reader.readexactly(length)
            except framing.FramingError as exc:
                await send(_error(None, "bad_message", str(exc)))
                return  # the stream cannot be resynchronised
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            task = asyncio.create_task(_answer(body, dispatch, send))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        for task in list(tasks):
            with contextlib.suppress(BaseException):
                await task
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _answer(
    body: bytes, dispatch: Dispatch, send: Callable[[dict[str, Any]], Awaitable[None]]
) -> None:
    try:
        request = framing.decode(body)
    except framing.FramingError as exc:
        await send(_error(None, "bad_message", str(exc)))
        return
    await send(await dispatch(request, send))


def _error(request_id: object, code: str, message: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


class Client:
    """A front end's end of the socket (the CLI, the native host, tests)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._next = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._progress: dict[int, Callable[[int, int], None]] = {}
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, path: Path) -> Client:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=framing.MAX_MESSAGE)
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while True:
                length = framing.frame_length(await self._reader.readexactly(4))
                message = framing.decode(await self._reader.readexactly(length))
                if "progress" in message:
                    callback = self._progress.get(message.get("id"))  # type: ignore[arg-type]
                    if callback is not None:
                        callback(message["progress"]["done"], message["progress"]["total"])
                    continue
                future = self._waiting.pop(message.get("id"), None)  # type: ignore[arg-type]
                if future is not None and not future.done():
                    future.set_result(message)
                elif message.get("id") is None:  # a connection-level error: fail everyone
                    for waiting in self._waiting.values():
                        waiting.set_result(message)
                    self._waiting.clear()
        except (asyncio.IncompleteReadError, ConnectionError, framing.FramingError):
            pass
        finally:
            for waiting in self._waiting.values():
                if not waiting.done():
                    waiting.set_exception(ConnectionError("the daemon closed the connection"))

    async def call(
        self, action: str, progress: Callable[[int, int], None] | None = None, **params: Any
    ) -> dict[str, Any]:
        """Send one request and return the whole reply ({"ok": ..., "result"|"error": ...});
        ``progress`` receives (done, total) while a long action runs."""
        self._next += 1
        request_id = self._next
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        if progress is not None:
            self._progress[request_id] = progress
            params["progress"] = True
        self._writer.write(framing.encode({"id": request_id, "action": action, "params": params}))
        try:
            await self._writer.drain()
            return await future
        finally:
            self._progress.pop(request_id, None)

    async def close(self) -> None:
        self._reading.cancel()
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
