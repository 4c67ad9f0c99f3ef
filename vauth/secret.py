"""Secrets in memory: read into buffers vauth owns, and wiped as soon as they are used.

A passphrase is kept in a ``bytearray`` (mutable, so it can be zeroed) from where it enters
(the environment, a file, the terminal) to the key derivation, which reads it in place. Where
Python hands vauth an immutable ``str`` or ``bytes`` it alone holds (a JSON value, a decoded
frame, an encoding), ``wipe`` zeroes that object's characters in place before it is dropped:
CPython frees memory without clearing it, so a dropped string would otherwise stay readable in
the process until something else happens to reuse the spot. Only objects the caller created and
no one else shares may be wiped this way (never a literal or an interned name).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

Secret = str | bytes | bytearray

_BYTES_DATA = bytes.__basicsize__ - 1  # offset of a bytes object's characters
_ASCII_DATA = sys.getsizeof("") - 1  # ... of a compact ASCII str's
_COMPACT_DATA = sys.getsizeof("".join(["\xe9", "\xe9"])) - 3  # ... of any other compact str's


def _address(value: str | bytes) -> tuple[int, int] | None:
    """Where ``value``'s characters are, and how many bytes they take."""
    if type(value) is bytes:
        return id(value) + _BYTES_DATA, len(value)
    if type(value) is str:
        if value.isascii():
            return id(value) + _ASCII_DATA, len(value)
        widest = max(map(ord, value))
        kind = 1 if widest < 0x100 else 2 if widest < 0x10000 else 4
        return id(value) + _COMPACT_DATA, len(value) * kind
    return None


def _layout_known() -> bool:
    """Whether this interpreter lays strings out as ``_address`` expects (checked once)."""
    samples: list[str | bytes] = [
        "".join(["ab", "cd"]),
        "".join(["\xe9", "t\xe9"]),
        "".join(["\u0101", "bc"]),
        "".join(["\U0001f511", "k"]),
        b"".join([b"ab", b"cd"]),
    ]
    for sample in samples:
        _zero(sample)
        if any(map(ord, sample) if isinstance(sample, str) else sample):
            return False
    return True


def _zero(value: str | bytes) -> None:
    where = _address(value)
    if where is not None and where[1]:
        ctypes.memset(where[0], 0, where[1])


_WIPES_IMMUTABLE = sys.implementation.name == "cpython" and _layout_known()


def wipe(*values: object) -> None:
    """Zero each ``bytearray`` and each ``str``/``bytes`` of two characters or more in place
    (shorter ones may be the interpreter's shared singletons); ignore anything else."""
    for value in values:
        if isinstance(value, bytearray):
            value[:] = bytes(len(value))
        elif _WIPES_IMMUTABLE and type(value) in (str, bytes) and len(value) >= 2:  # type: ignore[arg-type]
            _zero(value)  # type: ignore[arg-type]


@contextlib.contextmanager
def utf8(passphrase: Secret) -> Iterator[bytearray]:
    """``passphrase`` as UTF-8 in a buffer that is wiped on leaving (the caller's own object is
    left alone: wiping it is the caller's call)."""
    if isinstance(passphrase, str):
        encoded = passphrase.encode("utf-8")
        buffer = bytearray(encoded)
        wipe(encoded)
    else:
        buffer = bytearray(passphrase)
    try:
        yield buffer
    finally:
        wipe(buffer)


# -- where a passphrase comes from ------------------------------------------------------------


def take_environment(name: str) -> bytearray | None:
    """Remove ``name`` from the environment and return its value, leaving no copy: Python's
    ``os.environ`` keeps one, and the C environment block (what /proc/PID/environ shows)
    another, which ``unsetenv`` unlinks but does not clear."""
    key = os.fsencode(name)
    raw = os.environb.get(key)  # the very object os.environ keeps
    if raw is None:
        return None
    value = bytearray(raw)
    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_void_p
    libc.getenv.argtypes = [ctypes.c_char_p]
    pointer = libc.getenv(key)
    if pointer:
        ctypes.memset(pointer, 0, len(raw))
    wipe(raw)
    del os.environ[name]  # unsetenv, and forget the (now zeroed) copy
    return value


class FileTooLarge(ValueError):
    """A file said to hold a secret holds more than any secret (``/dev/zero``, a wrong name)."""


def read_file(path: str | os.PathLike[str], limit: int | None = None) -> bytearray:
    """The file's bytes without trailing newlines, read straight into a buffer; FileTooLarge
    (nothing kept) past ``limit`` bytes."""
    fd = os.open(Path(path), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        buffer = bytearray((size if limit is None else min(size, limit)) + 1)
        view, filled = memoryview(buffer), 0
        while filled < len(buffer):
            count = os.readv(fd, [view[filled:]])
            if not count:
                break
            filled += count
            if limit is not None and filled > limit:
                view.release()
                wipe(buffer)
                raise FileTooLarge(f"it holds more than {limit} bytes")
            if filled == len(buffer):  # grew while read: make room, wiping the old buffer
                bigger = bytearray(len(buffer) * 2)
                bigger[:filled] = buffer
                view.release()
                wipe(buffer)
                buffer, view = bigger, memoryview(bigger)
        view.release()
    finally:
        os.close(fd)
    return _strip(buffer, filled)


def read_terminal(prompt: str) -> bytearray:
    """A line typed on the controlling terminal without echo, read straight into a buffer
    (``getpass`` returns an immutable str and leaves its read buffers behind)."""
    fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    try:
        before = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)  # before the prompt, as getpass does
        os.write(fd, prompt.encode())
        buffer = bytearray(4096)  # the terminal's line limit
        try:
            count = os.readv(fd, [buffer])
        finally:
            termios.tcsetattr(fd, termios.TCSAFLUSH, before)
            os.write(fd, b"\n")
    finally:
        os.close(fd)
    return _strip(buffer, count)


def _strip(buffer: bytearray, length: int) -> bytearray:
    """The first ``length`` bytes of ``buffer`` less trailing CR/LF, in a buffer of their own;
    ``buffer`` is wiped."""
    while length and buffer[length - 1] in b"\r\n":
        length -= 1
    result = bytearray(length)
    with memoryview(buffer) as view:
        result[:] = view[:length]
    wipe(buffer)
    return result
