"""``vauth-native-host``: what the browser starts when the extension calls ``connectNative``.

It checks who called it (the origin Chromium passes, the add-on id Firefox passes), then reads
framed requests from stdin, answers ``host.*`` actions itself, relays the others to the daemon
over one persistent connection, concurrently, and writes each reply (split into chunks when
over 1 MiB) with the request's id. Nothing but frames goes to stdout; logs go to stderr.
End of input (the browser closed the port) ends the host with status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from native_host import callers
from native_host.chunking import encode_reply
from native_host.pipes import Item, Output, start_reader
from native_host.relay import DaemonLink, DaemonUnavailable
from vauth import __version__, paths
from vauth.transport import framing
from vauth.transport.framing import error_reply

logger = logging.getLogger("native_host")

EXIT_OK, EXIT_FORBIDDEN, EXIT_USAGE = 0, 1, 2
MAX_ID_LENGTH = 256
MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER
BAD_ID = "a request needs an id: a string of at most 256 characters, or a number within ±2^53"
EOF_GRACE_S = 1.0  # at the end of input, how long requests in flight may still finish
LOG_LEVEL_ENV = "VAUTH_NATIVE_HOST_LOG"


def _valid_id(value: object) -> bool:
    """A string of 256 characters at most, or a number JavaScript holds exactly."""
    if isinstance(value, str):
        return len(value) <= MAX_ID_LENGTH
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) <= MAX_SAFE_INTEGER


class Host:
    def __init__(self, link: DaemonLink, output: Output) -> None:
        self._link = link
        self._output = output
        self._tasks: set[asyncio.Task[None]] = set()

    def _send(self, message: dict[str, Any]) -> asyncio.Future[None]:
        try:
            data = encode_reply(message)
        except (RecursionError, ValueError) as exc:  # nested too deeply, or an id too long
            request_id = message.get("id")
            data = encode_reply(
                error_reply(
                    request_id if _valid_id(request_id) else None,
                    "bad_message",
                    f"the reply cannot be encoded: {exc}",
                )
            )
        return self._output.put(data)

    async def reply(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the browser is gone; the host is ending
            await self._send(message)

    def accept(self, item: bytes | framing.FramingError) -> None:
        """Start answering one frame from the browser."""
        if isinstance(item, framing.FramingError):
            logger.warning("the input's framing is lost: %s", item)
            self._spawn(self.reply(error_reply(None, "bad_message", str(item))))
        else:
            self._spawn(self.answer(item))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def answer(self, body: bytes) -> None:
        try:
            request = framing.decode(body)
        except framing.FramingError as exc:
            await self.reply(error_reply(None, "bad_message", str(exc)))
            return
        except RecursionError:
            await self.reply(error_reply(None, "bad_message", "the message is nested too deeply"))
            return
        request_id = request.get("id")
        if not _valid_id(request_id):
            await self.reply(error_reply(None, "bad_message", BAD_ID))
            return
        try:
            reply = await self._dispatch(request_id, request)
        except Exception:
            logger.exception("a request failed in the host")
            reply = error_reply(request_id, "internal", "the native host failed; see its log")
        await self.reply(reply)

    async def _dispatch(self, request_id: object, request: dict[str, Any]) -> dict[str, Any]:
        action = request.get("action")
        if not isinstance(action, str):
            return error_reply(request_id, "bad_message", "a request needs an action (a string)")
        logger.debug("request %r: %s", request_id, action)
        if action == "host.hello":
            daemon = await self._link.available()
            return {
                "id": request_id,
                "ok": True,
                "result": {
                    "version": __version__,
                    "daemon": daemon,
                    "command": paths.vauth_command(),
                    "startCommand": paths.start_command(),
                },
            }
        if action.startswith("host."):
            return error_reply(request_id, "unknown_action", f"no action {action!r}")

        def progress(note: dict[str, Any]) -> None:
            sent = self._send({"id": request_id, "progress": note.get("progress")})
            sent.add_done_callback(lambda f: f.cancelled() or f.exception())

        try:
            reply = await self._link.call(action, request.get("params"), progress)
        except DaemonUnavailable as exc:
            unavailable = error_reply(request_id, "daemon_unavailable", exc.message)
            unavailable["error"]["startCommand"] = paths.start_command()  # for the extension
            return unavailable
        except UnicodeEncodeError:
            return error_reply(
                request_id, "bad_message", "the message has a lone surrogate (not UTF-8)"
            )
        except ValueError:
            return error_reply(
                request_id, "bad_message", "the message has NaN or Infinity (not JSON)"
            )
        except RecursionError:
            return error_reply(request_id, "bad_message", "the message is nested too deeply")
        return {"id": request_id, **{k: v for k, v in reply.items() if k != "id"}}

    async def finish(self, grace_s: float = EOF_GRACE_S) -> None:
        """Let requests in flight finish for a moment, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def serve(input_fd: int, output_fd: int, link: DaemonLink | None = None) -> int:
    frames: asyncio.Queue[Item] = asyncio.Queue()
    output = Output(output_fd, on_broken=lambda: frames.put_nowait(None))
    link = link or DaemonLink()
    host = Host(link, output)
    start_reader(input_fd, frames)
    try:
        while (item := await frames.get()) is not None:
            host.accept(item)
        logger.info("end of input: the browser closed the port")
        await host.finish(0 if output.broken else EOF_GRACE_S)
    finally:
        await link.close()
    return EXIT_OK


def refuse(output_fd: int, message: str) -> int:
    logger.warning("refused: %s", message)
    with contextlib.suppress(OSError):
        os.write(output_fd, encode_reply(error_reply(None, "forbidden_origin", message)))
    return EXIT_FORBIDDEN


def check_caller(argv: Sequence[str]) -> str | None:
    """Why this caller is refused, or None when it may use the host."""
    caller = callers.identify(argv)
    if caller is None:
        return "the host was started without a caller's origin or add-on id"
    try:
        allowed = callers.load()
    except callers.ConfigError as exc:
        return (
            f"the host's configuration is unreadable ({exc}); run "
            f"`{paths.vauth_command()} native-host install --browser chromium|chrome|firefox`"
        )
    if not callers.permitted(caller, allowed):
        return (
            f"{caller.identity} may not use this host; it serves the extensions it was installed "
            f"for (`{paths.vauth_command()} native-host install`)"
        )
    return None


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("vauth-native-host: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get(LOG_LEVEL_ENV, "WARNING").upper())


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"]:
        print(f"vauth-native-host {__version__}")
        return EXIT_OK
    if sys.stdin.isatty():
        print(
            "vauth-native-host is started by the browser (native messaging), not by hand; "
            f"register it with `{paths.vauth_command()} native-host install --browser "
            "chromium|chrome|firefox`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    configure_logging()
    # The browser's channel gets its own descriptor; fd 1 becomes stderr, so a stray print
    # anywhere can never corrupt the frames.
    output_fd, input_fd = os.dup(1), os.dup(0)
    os.dup2(2, 1)
    refusal = check_caller(args)
    if refusal is not None:
        return refuse(output_fd, refusal)
    return asyncio.run(serve(input_fd, output_fd))


if __name__ == "__main__":
    raise SystemExit(main())
