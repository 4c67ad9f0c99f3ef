"""One persistent connection to the daemon's Unix socket, shared by every request.

Connected lazily, on the first request that needs the daemon, and again after the daemon
went away (restarted, stopped). Requests run concurrently over the daemon socket's client
(vauth.transport.unix_socket.Client): each gets a connection-local id, and the daemon's
replies (and progress notes) find their way back by it.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from native_host.chunking import to_json
from vauth import paths
from vauth.transport import framing
from vauth.transport.unix_socket import Client, NotSent, UntrustedSocket

logger = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]
NOT_RUNNING = "The vauth daemon is not running. Start it with `{command}`."
WENT_AWAY = "The vauth daemon stopped before it answered. Start it again with `{command}`."
DAEMON_REPLY_LIMIT = 4 * framing.MAX_MESSAGE  # what the host reads from the daemon at most


class DaemonUnavailable(Exception):
    """No daemon to relay to (``message`` is what the extension may show)."""

    def __init__(self, message: str | None = None) -> None:
        message = message or NOT_RUNNING.format(command=paths.start_command())
        super().__init__(message)
        self.message = message


def _went_away() -> Exception:
    return DaemonUnavailable(WENT_AWAY.format(command=paths.start_command()))


def _strict(request: dict[str, Any]) -> bytes:
    """A request's frame, or the error the extension is told about: UnicodeEncodeError (a lone
    surrogate), ValueError (NaN or Infinity), RecursionError (nested too deeply)."""
    body = to_json(request).encode("utf-8")
    return struct.pack(">I", len(body)) + body


class DaemonLink:
    def __init__(self, socket_path: Path | None = None) -> None:
        self._path = socket_path
        self._connection: Client | None = None
        self._lock = asyncio.Lock()

    @property
    def socket_path(self) -> Path:
        return self._path or paths.default_socket()

    async def _connected(self) -> Client:
        async with self._lock:
            if self._connection is not None and self._connection.alive:
                return self._connection
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
            try:
                self._connection = await Client.connect(
                    self.socket_path,
                    read_limit=DAEMON_REPLY_LIMIT,
                    lost=_went_away,
                    encode=_strict,
                )
            except OSError as exc:
                logger.info("no daemon at %s: %s", self.socket_path, exc.strerror or exc)
                raise DaemonUnavailable from None
            except UntrustedSocket as exc:
                logger.warning("refused the socket: %s", exc)
                raise DaemonUnavailable(str(exc)) from None
            logger.info("connected to the daemon at %s", self.socket_path)
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
                return await connection.request(action, params, progress)
            except NotSent:
                logger.info("the daemon connection was lost; reconnecting")
                if attempt:
                    break
        raise DaemonUnavailable

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
