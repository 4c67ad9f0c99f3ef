"""Length-prefixed JSON framing, the daemon socket's and (in native byte order) native
messaging's: a 32-bit length, then that many bytes of UTF-8 JSON."""

from __future__ import annotations

import json
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from vauth import inputs
from vauth.secret import wipe

MAX_MESSAGE = 64 * 1024 * 1024  # what a browser may send a native host

# A request's answerer (the daemon's actions), given the request and a way to send notes
# (progress) before the reply; the socket serves whatever answerer it is handed.
Notify = Callable[[dict[str, Any]], Awaitable[None]]
Dispatch = Callable[[dict[str, Any], Notify | None], Awaitable[dict[str, Any]]]


class FramingError(Exception):
    """A frame that cannot be read: wrong length, not UTF-8, not JSON, not an object."""


# Made once: json.dumps with options builds an encoder on every call (every reply).
_COMPACT = {
    allow_nan: json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan)
    for allow_nan in (True, False)
}


def dumps(value: Any, allow_nan: bool = True) -> bytes:
    """Compact UTF-8 JSON (ValueError for NaN or Infinity unless ``allow_nan``)."""
    try:
        return _COMPACT[allow_nan].encode(value).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (what "\ud800" decodes to) stays escaped
        return json.dumps(value, separators=(",", ":"), allow_nan=allow_nan).encode("ascii")


def encode(message: dict[str, Any], byte_order: str = ">") -> bytes:
    body = dumps(message)
    return struct.pack(f"{byte_order}I", len(body)) + body


def frame_length(header: bytes, byte_order: str = ">", limit: int = MAX_MESSAGE) -> int:
    if len(header) != 4:
        raise FramingError("truncated length prefix")
    (length,) = struct.unpack(f"{byte_order}I", header)
    if length > limit:
        raise FramingError(f"message of {length} bytes exceeds the limit of {limit}")
    return int(length)


def decode(body: bytes) -> dict[str, Any]:
    """A frame's JSON object, decoded within vauth.inputs' bounds (nesting depth included);
    the text decoded on the way, which may hold a passphrase, is wiped (see vauth.secret)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FramingError(f"not UTF-8 JSON: {exc}") from None
    try:
        message = inputs.loads(text)
    except inputs.InvalidInput as exc:
        raise FramingError(exc.message) from None
    finally:
        wipe(text)
    if not isinstance(message, dict):
        raise FramingError("a message must be a JSON object")
    return message


def error_reply(request_id: object, code: str, message: str) -> dict[str, Any]:
    """The one shape of a failed request's reply, on the daemon socket and native messaging."""
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}
