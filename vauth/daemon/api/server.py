"""The API's listener: the application on a loopback socket, within bounds that a slow or
greedy client cannot outlast.

- Header read time: aiohttp's ``keepalive_timeout`` closes a connection whose handler is still
  waiting for a whole request head, from the connection's start (aiohttp >= 3.14.4) or the last
  response; it is set to ``Limits.header_timeout_s``.
- Body read time: handlers read bodies through ``handlers.read_body``, within
  ``Limits.body_timeout_s``; a body left unread is drained for that long at most.
- Open connections: ``Limits.max_connections``. A newcomer past that closes the connection that
  has waited longest without a request in progress (a stalled head, an idle keep-alive), so
  stalled clients cannot starve others; when every one is busy, the newcomer gets 503.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 64
BACKLOG = 128


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout_s: float = HEADER_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS
    backlog: int = BACKLOG


LIMITS: web.AppKey[Limits] = web.AppKey("limits", Limits)
# Set when the server stops taking connections: long-lived responses (event streams) end.
CLOSING: web.AppKey[asyncio.Event] = web.AppKey("closing", asyncio.Event)
# The connections (aiohttp's RequestHandler protocols) with a request in the middlewares.
IN_FLIGHT: web.AppKey[set[object]] = web.AppKey("in_flight", set)


@web.middleware
async def in_flight(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: marks the request's connection busy, so it is never shed for a newcomer."""
    busy = request.app[IN_FLIGHT]
    busy.add(request.protocol)
    try:
        return await handler(request)
    finally:
        busy.discard(request.protocol)


_BUSY_BODY = json.dumps(
    {"error": "unknown error", "message": "the API has too many connections; try again"}
).encode()
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Cache-Control: no-store\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
) % (len(_BUSY_BODY), _BUSY_BODY)


class _Refused(asyncio.Protocol):
    """A connection past the limit while every other is busy: 503, then closed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_BUSY)
        transport.close()


class ApiServer:
    """``app`` (from ``create_app``, whose ``LIMITS`` it obeys) on ``host:port``: ``start()``,
    ``stop()`` to accept no new connection, ``close()`` to finish those open (gracefully, within
    ``shutdown_timeout``)."""

    def __init__(
        self, app: web.Application, host: str, port: int, shutdown_timeout: float = 60.0
    ) -> None:
        self.limits = app[LIMITS]
        self._busy = app[IN_FLIGHT]
        self._closing = app[CLOSING]
        self._host, self._requested_port = host, port
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            shutdown_timeout=shutdown_timeout,
            access_log=None,
            keepalive_timeout=self.limits.header_timeout_s,
            lingering_time=self.limits.body_timeout_s,
        )
        self._listener: asyncio.Server | None = None

    async def start(self) -> None:
        await self._runner.setup()
        self._listener = await asyncio.get_running_loop().create_server(
            self._connection,
            self._host,
            self._requested_port,
            backlog=self.limits.backlog,
            reuse_address=True,
        )

    @property
    def port(self) -> int:
        assert self._listener is not None
        return int(self._listener.sockets[0].getsockname()[1])

    def _connection(self) -> asyncio.BaseProtocol:
        server = self._runner.server
        assert server is not None
        open_ = [c for c in server.connections if c.transport is not None]
        if len(open_) >= self.limits.max_connections:
            idle = [c for c in open_ if c not in self._busy]
            if not idle:
                return _Refused()
            idle[0].force_close()  # the longest open of those with no request in progress
        return server()

    async def stop(self) -> None:
        self._closing.set()
        if self._listener is not None:
            self._listener.close()

    async def close(self) -> None:
        await self.stop()
        await self._runner.cleanup()
