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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vauth.secret import wipe
from vauth.transport import framing
from vauth.transport.framing import Dispatch, Notify

logger = logging.getLogger(__name__)

OnMessage = Callable[[dict[str, Any]], None]


FRAME_TIMEOUT_S = 30.0  # from a frame's first byte to its last


class SocketSetupError(Exception):
    """The daemon cannot serve its socket safely (``str()`` is a sentence for the user)."""


class UnsafeDirectory(SocketSetupError):
    """The socket's directory exists but is not ours alone: the daemon will not serve there."""


class UntrustedSocket(Exception):
    """A front end refuses a socket another user could control: nothing was sent to it."""


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def directory_problem(directory: Path) -> str | None:
    """What makes ``directory`` unfit to hold our socket, or None if only we can reach into it:
    a real directory (not a symbolic link) that we own, with no group or other permission.
    FileNotFoundError if it does not exist."""
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode):
        return f"{directory} is not a directory (a symbolic link or a file stands in its place)"
    if info.st_uid != os.getuid():
        return f"{directory} belongs to another user (uid {info.st_uid})"
    if stat.S_IMODE(info.st_mode) & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        return f"{directory} is open to other users (mode {mode:04o}, not 0700)"
    return None


def prepare_directory(directory: Path) -> None:
    """Create the socket's directory 0700, or check that an existing one is ours and private;
    SocketSetupError (a sentence saying what to do) if it is not."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise SocketSetupError(
            f"vauth cannot make the folder {directory} for its socket: {exc.strerror or exc}. "
            "Choose another place with --socket"
        ) from None
    problem = directory_problem(directory)
    if problem is not None:
        raise UnsafeDirectory(
            f"vauth will not serve its socket from {directory}: {problem}. Another user could "
            f"listen in its place. Remove it (or run `chmod 700 {directory}` if it is yours) "
            "and start `vauth serve` again, or choose another place with --socket."
        )


async def serve(
    path: Path,
    dispatch: Dispatch,
    allowed_uid: int | None = None,
    frame_timeout_s: float = FRAME_TIMEOUT_S,
) -> asyncio.AbstractServer:
    """Serve ``dispatch`` on ``path``. A frame begun must be whole within ``frame_timeout_s``
    (a client that stalls mid-frame is cut off); between frames a connection may idle."""
    prepare_directory(path.parent)
    if path.exists() or path.is_symlink():
        if await answers(path):
            raise SocketSetupError(f"another vauth daemon is serving {path}")
        if not stat.S_ISSOCK(path.lstat().st_mode):  # a typo must not cost a file
            raise SocketSetupError(
                f"{path} is not a socket, and vauth does not replace it: choose another place "
                "with --socket"
            )
        path.unlink()  # a socket left by a daemon that crashed
    uid = os.getuid() if allowed_uid is None else allowed_uid

    old_umask = os.umask(0o177)
    try:
        server = await asyncio.get_running_loop().create_unix_server(
            lambda: _Connection(dispatch, uid, frame_timeout_s), path=str(path)
        )
    finally:
        os.umask(old_umask)
    path.chmod(0o600)
    return server


async def answers(path: Path) -> bool:
    """Whether a daemon accepts connections at ``path`` (a stale file from a crash does not)."""
    try:
        _reader, writer = await asyncio.open_unix_connection(str(path))
    except OSError:
        return False
    writer.close()
    return True


class _Connection(asyncio.BufferedProtocol):
    """One front end's connection. The socket is read straight into a buffer of the
    connection's own, which is wiped as frames leave it: a request may carry a passphrase, and
    asyncio's StreamReader copies every read into objects it frees without clearing them."""

    INITIAL = 64 * 1024

    def __init__(self, dispatch: Dispatch, uid: int, frame_timeout_s: float) -> None:
        self._dispatch, self._uid, self._frame_timeout_s = dispatch, uid, frame_timeout_s
        self._frame_timer: asyncio.TimerHandle | None = None  # runs while a frame is partial
        self._buffer = bytearray(self.INITIAL)
        self._start = self._end = 0  # the unread bytes are _buffer[_start:_end]
        self._transport: asyncio.Transport | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writable = asyncio.Event()
        self._writable.set()
        self._done_reading = False

    # -- asyncio's side ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is None or peer_uid(sock) != self._uid:
            logger.warning("refused a connection from another user")
            self._write(
                framing.error_reply(None, "forbidden", "this daemon serves only its own user")
            )
            self._stop_reading()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._end == len(self._buffer):  # full: move the unread bytes to a fresh buffer
            unread = self._end - self._start
            fresh = bytearray(max(len(self._buffer), 2 * unread))
            fresh[:unread] = memoryview(self._buffer)[self._start : self._end]
            wipe(self._buffer)
            self._buffer, self._start, self._end = fresh, 0, unread
        return memoryview(self._buffer)[self._end :]

    def buffer_updated(self, nbytes: int) -> None:
        self._end += nbytes
        self._take_frames()
        self._time_partial_frame()

    def _take_frames(self) -> None:
        while not self._done_reading and self._end - self._start >= 4:
            view = memoryview(self._buffer)
            try:
                length = framing.frame_length(bytes(view[self._start : self._start + 4]))
            except framing.FramingError as exc:
                self._write(framing.error_reply(None, "bad_message", str(exc)))
                self._stop_reading()  # the stream cannot be resynchronised
                return
            end = self._start + 4 + length
            if end > self._end:
                return
            body = bytes(view[self._start + 4 : end])
            view[self._start : end] = bytes(end - self._start)
            self._start = end
            self._stop_frame_timer()  # a frame is whole: the next one has its own time
            if self._start == self._end:
                self._start = self._end = 0
            task = asyncio.get_running_loop().create_task(_answer(body, self._dispatch, self._send))
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def eof_received(self) -> bool:
        self._stop_reading()
        return True  # keep the transport open for the replies still to come

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_frame_timer()
        self._done_reading = True
        self._writable.set()
        wipe(self._buffer)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- ours -------------------------------------------------------------------------------

    def _time_partial_frame(self) -> None:
        """A frame begun must be whole within the bound; between frames a client may idle."""
        if self._done_reading or self._end == self._start:
            self._stop_frame_timer()
        elif self._frame_timer is None:
            self._frame_timer = asyncio.get_running_loop().call_later(
                self._frame_timeout_s, self._frame_timed_out
            )

    def _stop_frame_timer(self) -> None:
        if self._frame_timer is not None:
            self._frame_timer.cancel()
            self._frame_timer = None

    def _frame_timed_out(self) -> None:
        self._frame_timer = None
        message = f"a frame was not whole within {self._frame_timeout_s:g} seconds"
        self._write(framing.error_reply(None, "bad_message", message))
        self._stop_reading()

    def _write(self, message: dict[str, Any]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(framing.encode(message))

    async def _send(self, message: dict[str, Any]) -> None:
        self._write(message)
        await self._writable.wait()

    def _stop_reading(self) -> None:
        """Read no more; close once every request already read has been answered."""
        self._done_reading = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()
        self._close_when_answered()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._close_when_answered()

    def _close_when_answered(self) -> None:
        if self._done_reading and not self._tasks and self._transport is not None:
            self._transport.close()  # after what is written has been sent


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
        """Connect to the daemon at ``path``, after checking that nobody else could have put it
        there: its directory must be ours and private, and the process listening must run as
        us (SO_PEERCRED). UntrustedSocket (before anything is sent) if not; OSError if nothing
        listens there."""
        problem = directory_problem(path.parent)
        if problem is not None:
            raise UntrustedSocket(
                f"vauth refuses the socket {path}: {problem}, so another user could be "
                "listening there. Nothing was sent. Remove that directory and start "
                "`vauth serve` again, or use a socket in a directory only you can enter."
            )
        reader, writer = await asyncio.open_unix_connection(str(path), limit=framing.MAX_MESSAGE)
        sock = writer.get_extra_info("socket")
        server_uid = None if sock is None else peer_uid(sock)
        if server_uid != os.getuid():
            writer.close()
            raise UntrustedSocket(
                f"vauth refuses the socket {path}: the process listening there runs as another "
                f"user (uid {server_uid}), not as you. Nothing was sent. Stop that process and "
                "start `vauth serve` yourself."
            )
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
