"""The daemon's Unix socket: framed JSON requests from front ends of the same user.

The directory is 0700 and the socket 0600, and every connection's peer is checked with
SO_PEERCRED: a process of another user is refused even if the permissions were loosened.
Requests on one connection run concurrently (a long-polled prompt does not block a ceremony);
replies carry the request's ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from vauth.secret import wipe
from vauth.transport import framing

logger = logging.getLogger(__name__)

Notify = Callable[[dict[str, Any]], Awaitable[None]]
Dispatch = Callable[[dict[str, Any], Notify | None], Awaitable[dict[str, Any]]]
OnMessage = Callable[[dict[str, Any]], None]


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
            await send(
                framing.error_reply(None, "forbidden", "this daemon serves only its own user")
            )
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
                await send(framing.error_reply(None, "bad_message", str(exc)))
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


async def _answer(body: bytes, dispatch: Dispatch, send: Notify) -> None:
    """Answer one request; its frame, which may carry a passphrase, is wiped once read."""
    try:
        request = framing.decode(body)
    except framing.FramingError as exc:
        await send(framing.error_reply(None, "bad_message", str(exc)))
        return
    finally:
        wipe(body)
    await send(await dispatch(request, send))


class NotSent(ConnectionError):
    """The request never reached the daemon: safe to send it again on a new connection."""


def _closed() -> Exception:
    return ConnectionError("the daemon closed the connection")


def _progress_notes(progress: Callable[[int, int], None]) -> OnMessage:
    def on_message(note: dict[str, Any]) -> None:
        progress(note["progress"]["done"], note["progress"]["total"])

    return on_message


class Client:
    """A front end's end of the socket (the CLI, the native host, tests).

    Requests run concurrently; each gets a connection-local id, and the daemon's replies (and
    progress notes) find their way back by it. A request that is cancelled, or whose reply
    comes late, leaves nothing behind.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        read_limit: int = framing.MAX_MESSAGE,
        lost: Callable[[], Exception] = _closed,
        encode: Callable[[dict[str, Any]], bytes] = framing.encode,
    ) -> None:
        """``read_limit``: the largest reply read; ``lost``: what a request waiting when the
        connection ends raises; ``encode``: a request's frame (its errors go to the caller)."""
        self._reader, self._writer = reader, writer
        self._read_limit, self._lost, self._encode = read_limit, lost, encode
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[dict[str, Any]], OnMessage | None]] = {}
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        path: Path,
        *,
        read_limit: int = framing.MAX_MESSAGE,
        lost: Callable[[], Exception] = _closed,
        encode: Callable[[dict[str, Any]], bytes] = framing.encode,
    ) -> Client:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=framing.MAX_MESSAGE)
        return cls(reader, writer, read_limit=read_limit, lost=lost, encode=encode)

    @property
    def alive(self) -> bool:
        return not self._reading.done() and not self._writer.is_closing()

    async def call(
        self, action: str, progress: Callable[[int, int], None] | None = None, **params: Any
    ) -> dict[str, Any]:
        """Send one request and return the whole reply ({"ok": ..., "result"|"error": ...});
        ``progress`` receives (done, total) while a long action runs."""
        if progress is None:
            return await self.request(action, params)
        params["progress"] = True
        return await self.request(action, params, _progress_notes(progress))

    async def request(
        self, action: str, params: object = None, on_message: OnMessage | None = None
    ) -> dict[str, Any]:
        """Send one request (``params`` left out when None) and return the daemon's reply;
        ``on_message`` receives the request's progress notes. NotSent when it could not be
        sent; the ``lost`` exception when the connection ended before the reply."""
        request_id = next(self._ids)
        request: dict[str, Any] = {"id": request_id, "action": action}
        if params is not None:
            request["params"] = params
        data = self._encode(request)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, on_message)
        try:
            if not self.alive:
                raise NotSent("the connection to the daemon is closed")
            self._writer.write(data)
            await self._writer.drain()
        except OSError as exc:
            self._pending.pop(request_id, None)
            self._writer.close()  # not alive any more
            raise NotSent(str(exc)) from None
        try:
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def _read(self) -> None:
        try:
            while True:
                header = await self._reader.readexactly(4)
                length = framing.frame_length(header, ">", self._read_limit)
                self._deliver(framing.decode(await self._reader.readexactly(length)))
        except (asyncio.IncompleteReadError, OSError, framing.FramingError):
            pass
        finally:
            for future, _ in self._pending.values():
                if not future.done():
                    future.set_exception(self._lost())
            self._pending.clear()
            self._writer.close()

    def _deliver(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        if request_id is None:  # a connection-level error: every waiting request gets it
            for future, _ in self._pending.values():
                if not future.done():
                    future.set_result(message)
            return
        if not isinstance(request_id, int) or request_id not in self._pending:
            return  # not ours, or its request was cancelled
        future, on_message = self._pending[request_id]
        if "progress" in message:
            if on_message is not None:
                on_message(message)
        elif not future.done():
            future.set_result(message)

    async def close(self) -> None:
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
