"""Length-prefixed JSON framing, the daemon socket's and (in native byte order) native
messaging's: a 32-bit length, then that many bytes of UTF-8 JSON."""

from __future__ import annotations

import json
import struct
from typing import Any

MAX_MESSAGE = 64 * 1024 * 1024  # what a browser may send a native host


class FramingError(Exception):
    """A frame that cannot be read: wrong length, not UTF-8, not JSON, not an object."""


def encode(message: dict[str, Any], byte_order: str = ">") -> bytes:
    try:
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (what "\ud800" decodes to) stays escaped
        body = json.dumps(message, separators=(",", ":")).encode("ascii")
    return struct.pack(f"{byte_order}I", len(body)) + body


def frame_length(header: bytes, byte_order: str = ">", limit: int = MAX_MESSAGE) -> int:
    if len(header) != 4:
        raise FramingError("truncated length prefix")
    (length,) = struct.unpack(f"{byte_order}I", header)
    if length > limit:
        raise FramingError(f"message of {length} bytes exceeds the limit of {limit}")
    return int(length)


def decode(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FramingError(f"not UTF-8 JSON: {exc}") from None
    if not isinstance(message, dict):
        raise FramingError("a message must be a JSON object")
    return message
