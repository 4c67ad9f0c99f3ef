"""The composition root: ``vauth serve`` wires the vault, the core, the Unix socket and the
HTTP API together, and takes them apart again on SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vauth import paths
from vauth.app.device import Configuration, Device, TesterDevice, configuration_parts
from vauth.app.service import Prompts, Service, presence_for
from vauth.app.syncing import SyncRunner, library_engine, sync_module
from vauth.daemon import actions
from vauth.daemon.api import ApiServer, create_app
from vauth.secret import wipe
from vauth.transport import unix_socket
from vauth.transport.ctaphid import TrackingPresence
from vauth.vault.pin_hash import ThreadedPinHasher

logger = logging.getLogger("vauth.daemon")  # the daemon's log lines keep their name
SHUTDOWN_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class Settings:
    vault: Path | None  # None: --ephemeral, an in-memory authenticator
    # wiped once the vault is open; None with a vault: --locked, the existing vault served
    # locked (unlocked later over the socket: `vauth unlock`, the extension's window)
    passphrase: bytearray | None
    socket: Path
    http: tuple[str, int] | None
    token_file: Path
    presence: str = "prompt"
    idle_lock_s: float | None = None
    uhid: bool = False  # also appear as a USB security key (Linux uhid)
    # --ephemeral: W3C WebDriver / CDP Authenticator Configuration (with --presence auto, its
    # isUserVerified & co. apply too)
    authenticator: Configuration | None = None


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


class TextFormatter(logging.Formatter):
    """One readable line an entry, for a person watching the daemon on a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        when = self.formatTime(record, "%Y-%m-%d %H:%M:%S")
        line = f"{when} {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


LOG_FORMATS = ("auto", "text", "json")


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """The daemon's log on stderr: readable lines on a terminal, JSON lines elsewhere (a
    journal, a file, a program reading them), unless ``fmt`` says which ("text", "json")."""
    handler = logging.StreamHandler(sys.stderr)
    text = fmt == "text" or (fmt == "auto" and sys.stderr.isatty())
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def ensure_token(path: Path) -> str:
    """The HTTP API's bearer token, made on first use, kept in a 0600 file. Daemons started
    side by side share it: the file appears whole (written aside, then linked), and the
    first daemon to link it wins."""
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
        try:
            os.link(aside, path)
        except FileExistsError:  # another daemon linked its token first: use that one
            existing = path.read_text().strip()
            if existing:
                return existing
            os.replace(aside, path)  # an empty file left by a crash: replace it
        return token
    finally:
        aside.unlink(missing_ok=True)


class StartupError(Exception):
    """The daemon cannot start; the message says why and what to do, in a sentence."""


async def preflight(settings: Settings) -> None:
    """Refuse to start, before a vault is opened or created, if the socket or the HTTP port
    is taken (so nothing is made, and no recovery key shown, for a daemon that cannot run)."""
    if await unix_socket.answers(settings.socket):
        raise StartupError(
            f"another vauth daemon is already running on {settings.socket}. Use that one "
            f"(`{paths.vauth_command()} status`), or stop it before starting a new one"
        )
    if settings.http is not None:
        host, port = settings.http
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            for family, kind, proto, _name, address in infos[:1]:
                with socket.socket(family, kind, proto) as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    probe.bind(address)
        except OSError as exc:
            raise _http_error(host, port, exc) from None


def _http_error(host: str, port: int, exc: OSError) -> StartupError:
    if exc.errno == errno.EADDRINUSE:
        return StartupError(
            f"another program is already using {host}:{port}, where vauth's HTTP API listens. "
            f"Stop that program, choose another port with --http {host}:PORT, or start "
            "without the HTTP API with --no-http"
        )
    return StartupError(f"vauth cannot listen on {host}:{port}: {exc.strerror or exc}")


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> int:
    old_umask = os.umask(0o077)  # every file and directory the daemon makes is the user's alone
    try:
        return await _serve(settings, ready)
    finally:
        os.umask(old_umask)


async def _serve(settings: Settings, ready: asyncio.Event | None) -> int:
    unix_socket.prepare_directory(settings.socket.parent)  # refuse an unsafe one before all else
    await preflight(settings)
    prompts = Prompts()
    presence = TrackingPresence(presence_for(settings.presence, prompts))
    if settings.vault is None:
        config, automatic, seed = configuration_parts(settings.authenticator or Configuration())
        if settings.presence == "auto":
            presence = TrackingPresence(automatic)
        device: Device = TesterDevice.ephemeral(
            config, presence, seed, pin_hasher=ThreadedPinHasher()
        )
        logger.info("ephemeral authenticator: nothing will be kept")
    else:
        created = not settings.vault.exists()
        try:
            device = await Device.open_vault(settings.vault, settings.passphrase, presence)
        finally:
            if settings.passphrase is not None:
                wipe(settings.passphrase)
        assert device.vault is not None
        device.vault.idle_lock_s = settings.idle_lock_s
        if created and device.vault.recovery_key:
            if sys.stderr.isatty():  # a person is there; a log file or journal must not get it
                print(
                    "A new vault was created. Its recovery key, shown this once, can set a new "
                    f"passphrase if you forget yours:\n\n    {device.vault.recovery_key}\n",
                    file=sys.stderr,
                )
            else:
                logger.warning(
                    "a new vault was created without a terminal, so its recovery key was not "
                    "shown (it is never written to a log). To get one, run `%s recovery-key "
                    "--new` on a terminal: it asks for the passphrase and shows a new key",
                    paths.vauth_command(),
                )
        if device.vault.locked:
            logger.info(
                "vault locked: %s (unlock it with `%s unlock` or from the browser)",
                settings.vault,
                paths.vauth_command(),
            )
        else:
            logger.info("vault open: %s", settings.vault)
    service = Service(device, prompts, settings.presence)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        stack.callback(service.close)
        try:
            server = await unix_socket.serve(settings.socket, actions.dispatcher(service))
        except unix_socket.SocketSetupError as exc:
            raise StartupError(str(exc)) from None
        api: ApiServer | None = None
        stack.push_async_callback(_close_server, server, settings.socket)
        logger.info("socket: %s", settings.socket)
        if settings.http is not None:
            host, port = settings.http
            api = ApiServer(
                create_app(service, ensure_token(settings.token_file)),
                host,
                port,
                shutdown_timeout=SHUTDOWN_GRACE_S,
            )
            try:
                await api.start()
            except OSError as exc:
                raise _http_error(host, port, exc) from None
            stack.push_async_callback(api.close)
            logger.info("http: http://%s:%d", host, api.port)
        runner = _sync_runner(device)
        if runner is not None:
            service.sync = runner
            sync_task = asyncio.create_task(runner.run(stop))
            stack.push_async_callback(_cancel, sync_task)
        if settings.uhid:
            from vauth.transport.uhid import serve_uhid

            uhid = asyncio.create_task(
                serve_uhid(
                    device.process,
                    device.process_apdu,
                    up_needed=presence.waiting,
                )
            )
            stack.push_async_callback(_cancel, uhid)
            logger.info("uhid: vauth appears as a USB security key")
        if ready is not None:
            ready.set()
        # One machine-readable line on stdout, for the program that started this daemon
        # (several side by side, each on its own socket and a port the system chose).
        print(
            json.dumps(
                {
                    "socket": str(settings.socket),
                    "http": None if api is None else f"http://{host}:{api.port}",
                    "port": None if api is None else api.port,
                    "tokenFile": None if api is None else str(settings.token_file),
                }
            ),
            flush=True,
        )
        print("vauth: ready", file=sys.stderr, flush=True)
        await stop.wait()
        logger.info("stopping: finishing %d request(s) in flight", service.in_flight)
        prompts.close()  # nobody will answer now: waiting ceremonies end with NotAllowedError
        server.close()  # no new connections; those open finish their requests
        if api is not None:
            await api.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(service.drained(), SHUTDOWN_GRACE_S)
    logger.info("stopped")
    return 0


def _sync_runner(device: Device) -> SyncRunner | None:
    """The vault's sync runner (idle until `vauth sync init` or `join`); None without a vault."""
    vault = device.vault
    if vault is None:
        return None
    try:
        sync_module()
    except ImportError:
        logger.info("sync: this vauth was built without the sync library")
        return None
    return SyncRunner(lambda: library_engine(vault))


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
