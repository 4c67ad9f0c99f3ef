"""The host's stdin and stdout: whole frames read and written by threads of their own.

Raw file descriptors and ``os.read``/``os.write`` (no buffered objects, whose locks a blocked
daemon thread would hold at interpreter exit), so any kind of stdin works (pipe, file, socket)
and the event loop never blocks on the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Callable

from vauth.transport import framing

# What the reader posts: a frame's body, a FramingError (the stream cannot be resynchronised;
# the rest of the input is discarded) or None (end of input).
Item = bytes | framing.FramingError | None
_READ_SIZE = 1 << 20


def _read_exactly(fd: int, count: int) -> bytes:
    """``count`` bytes, or fewer at the end of input."""
    parts: list[bytes] = []
    while count:
        data = os.read(fd, min(count, _READ_SIZE))
        if not data:
            break
        parts.append(data)
        count -= len(data)
    return b"".join(parts)


def read_frames(fd: int, post: Callable[[Item], None]) -> None:
    """Post each frame's body from ``fd`` until the end of input (blocking; run in a thread)."""
    try:
        while True:
            header = _read_exactly(fd, 4)
            if not header:
                break
            try:
                length = framing.frame_length(header, "=")
                body = _read_exactly(fd, length)
                if len(body) < length:
                    raise framing.FramingError(
                        f"truncated message: the input ended after {len(body)} of {length} bytes"
                    )
            except framing.FramingError as exc:
                post(exc)
                while os.read(fd, _READ_SIZE):
                    pass
                break
            post(body)
    except OSError:
        pass
    post(None)


def start_reader(fd: int, frames: asyncio.Queue[Item]) -> threading.Thread:
    loop = asyncio.get_running_loop()

    def post(item: Item) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            loop.call_soon_threadsafe(frames.put_nowait, item)

    thread = threading.Thread(target=read_frames, args=(fd, post), name="stdin", daemon=True)
    thread.start()
    return thread


class Output:
    """Writes whole byte strings to ``fd`` in the order they were put, from one thread."""

    def __init__(self, fd: int, on_broken: Callable[[], None]) -> None:
        self._fd = fd
        self._on_broken = on_broken
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[tuple[bytes, asyncio.Future[None]]] = queue.SimpleQueue()
        self.broken = False
        threading.Thread(target=self._run, name="stdout", daemon=True).start()

    def put(self, data: bytes) -> asyncio.Future[None]:
        """Queue ``data`` (it is written contiguously); the future resolves once written."""
        future: asyncio.Future[None] = self._loop.create_future()
        if self.broken:
            future.set_exception(BrokenPipeError("the browser closed the host's output"))
        else:
            self._queue.put((data, future))
        return future

    def _run(self) -> None:
        error: OSError | None = None
        while True:
            data, future = self._queue.get()
            if error is None:  # once the browser is gone, what is left fails too
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(self._fd, view) :]
                except OSError as exc:
                    error = exc
            self._settle(future, error)

    def _settle(self, future: asyncio.Future[None], error: OSError | None) -> None:
        def settle() -> None:
            if error is not None and not self.broken:
                self.broken = True
                self._on_broken()
            if not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(settle)
