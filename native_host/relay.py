"""One persistent connection to the daemon's Unix socket, shared by every request.

Connected lazily, on the first request that needs the daemon, and again after the daemon
went away (restarted, stopped). Requests run concurrently: each gets a connection-local id,
and the daemon's replies (and progress notes) find their way back by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from native_host.chunking import to_json
from vauth import paths
from vauth.transport import framing

logger = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]
NOT_RUNNING = "The vauth daemon is not running. Start it with `vauth serve`."
WENT_AWAY = "The vauth daemon stopped before it answered. Start it again with `vauth serve`."
DAEMON_REPLY_LIMIT = 4 * framing.MAX_MESSAGE  # what the host reads from the daemon at most


class DaemonUnavailable(Exception):
    """No daemon to relay to (``message`` is what the extension may show)."""

    def __init__(self, message: str = NOT_RUNNING) -> None:
        super().__init__(message)
        self.message = message


class _NotSent(Exception):
    """The request never reached the daemon: safe to send it again on a new connection."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[dict[str, Any]], Progress | None]] = {}
        self._reading = asyncio.create_task(self._read())

    @property
    def alive(self) -> bool:
        return not self._reading.done() and not self._writer.is_closing()

    async def send(self, action: str, params: object, progress: Progress | None) -> dict[str, Any]:
        request_id = next(self._ids)
        request: dict[str, Any] = {"id": request_id, "action": action}
        if params is not None:
            request["params"] = params
        body = to_json(request).encode("utf-8")  # UnicodeEncodeError: the caller's to report
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, progress)
        try:
            if not self.alive:
                raise _NotSent
            self._writer.write(struct.pack(">I", len(body)) + body)
            await self._writer.drain()
        except (_NotSent, ConnectionError, OSError):
            self._pending.pop(request_id, None)
            self._writer.close()  # not alive any more: the next call reconnects
            raise _NotSent from None
        try:
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def _read(self) -> None:
        try:
            while True:
                header = await self._reader.readexactly(4)
                length = framing.frame_length(header, ">", DAEMON_REPLY_LIMIT)
                self._deliver(framing.decode(await self._reader.readexactly(length)))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, framing.FramingError):
            pass
        finally:
            for future, _ in self._pending.values():
                if not future.done():
                    future.set_exception(DaemonUnavailable(WENT_AWAY))
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
            return
        future, progress = self._pending[request_id]
        if "progress" in message:
            if progress is not None:
                progress(message)
        elif not future.done():
            future.set_result(message)

    async def close(self) -> None:
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class DaemonLink:
    def __init__(self, socket_path: Path | None = None) -> None:
        self._path = socket_path
        self._connection: _Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def socket_path(self) -> Path:
        return self._path or paths.default_socket()

    async def _connected(self) -> _Connection:
        async with self._lock:
            if self._connection is not None and self._connection.alive:
                return self._connection
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
            try:
                reader, writer = await asyncio.open_unix_connection(
                    str(self.socket_path), limit=framing.MAX_MESSAGE
                )
            except OSError as exc:
                logger.info("no daemon at %s: %s", self.socket_path, exc.strerror or exc)
                raise DaemonUnavailable from None
            logger.info("connected to the daemon at %s", self.socket_path)
            self._connection = _Connection(reader, writer)
            return self._connection

    async def available(self) -> bool:
        try:
            await self._connected()
        except DaemonUnavailable:
            return False
        return True

    async def call(
        self, action: str, params: object = None, progress: Progress | None = None
    ) -> dict[str, Any]:
        """The daemon's reply (its ``id`` is the connection's, not the caller's)."""
        for attempt in range(2):
            connection = await self._connected()
            try:
                return await connection.send(action, params, progress)
            except _NotSent:
                logger.info("the daemon connection was lost; reconnecting")
                if attempt:
                    break
        raise DaemonUnavailable

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
