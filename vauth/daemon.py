"""The composition root: ``vauth serve`` wires the vault, the core, the Unix socket and the
HTTP API together, and takes them apart again on SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from vauth.secret import wipe
from vauth.service import Prompts, Service, presence_for
from vauth.transport import actions, unix_socket
from vauth.transport.ctaphid import TrackingPresence
from vauth.virtual import VirtualAuthenticator

logger = logging.getLogger("vauth.daemon")
SHUTDOWN_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class Settings:
    vault: Path | None  # None: --ephemeral, an in-memory authenticator
    passphrase: bytearray | None  # wiped once the vault is open
    socket: Path
    http: tuple[str, int] | None
    token_file: Path
    presence: str = "prompt"
    idle_lock_s: float | None = None
    uhid: bool = False  # also appear as a USB security key (Linux uhid)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; the messages never carry secrets (nothing logs one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def ensure_token(path: Path) -> str:
    """The HTTP API's bearer token, made on first use, kept in a 0600 file."""
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> int:
    prompts = Prompts()
    presence = TrackingPresence(presence_for(settings.presence, prompts))
    if settings.vault is None:
        authenticator = VirtualAuthenticator(presence=presence)
        logger.info("ephemeral authenticator: nothing will be kept")
    else:
        if settings.passphrase is None:
            raise SystemExit("vauth: the vault needs its passphrase")
        created = not settings.vault.exists()
        try:
            authenticator = await asyncio.to_thread(
                VirtualAuthenticator,
                vault=settings.vault,
                passphrase=settings.passphrase,
                presence=presence,
            )
        finally:
            wipe(settings.passphrase)
        assert authenticator.vault is not None
        authenticator.vault.idle_lock_s = settings.idle_lock_s
        if created and authenticator.vault.recovery_key:
            if sys.stderr.isatty():  # a person is there; a log file or journal must not get it
                print(
                    "A new vault was created. Its recovery key, shown this once, can set a new "
                    f"passphrase if you forget yours:\n\n    {authenticator.vault.recovery_key}\n",
                    file=sys.stderr,
                )
            else:
                logger.warning(
                    "a new vault was created without a terminal, so its recovery key was not "
                    "shown; create vaults with `vauth init` to see theirs"
                )
        logger.info("vault open: %s", settings.vault)
    service = Service(authenticator, prompts, settings.presence)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        stack.callback(service.close)
        server = await unix_socket.serve(settings.socket, actions.dispatcher(service))
        site: web.TCPSite | None = None
        stack.push_async_callback(_close_server, server, settings.socket)
        logger.info("socket: %s", settings.socket)
        if settings.http is not None:
            from vauth.api import create_app

            runner = web.AppRunner(
                create_app(service, ensure_token(settings.token_file)),
                handle_signals=False,
                shutdown_timeout=SHUTDOWN_GRACE_S,
                access_log=None,
            )
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            host, port = settings.http
            site = web.TCPSite(runner, host, port, reuse_address=True)
            await site.start()
            logger.info("http: http://%s:%d", host, port)
        if settings.uhid:
            from vauth.transport.uhid import serve_uhid

            uhid = asyncio.create_task(
                serve_uhid(
                    authenticator.aprocess,
                    authenticator.aprocess_apdu,
                    up_needed=presence.waiting,
                )
            )
            stack.push_async_callback(_cancel, uhid)
            logger.info("uhid: vauth appears as a USB security key")
        if ready is not None:
            ready.set()
        print("vauth: ready", file=sys.stderr, flush=True)
        await stop.wait()
        logger.info("stopping: finishing %d request(s) in flight", service.in_flight)
        server.close()  # no new connections; those open finish their requests
        if site is not None:
            await site.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(service.drained(), SHUTDOWN_GRACE_S)
    logger.info("stopped")
    return 0


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_server(server: asyncio.AbstractServer, path: Path) -> None:
    server.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.wait_closed(), 1)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
