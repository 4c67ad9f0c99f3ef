"""Replies to the browser in native byte order, split when they exceed Chromium's 1 MiB.

A reply whose JSON text is larger than ``MAX_REPLY`` bytes goes out as ``n`` chunk messages
``{"id", "ok": true, "chunk": i, "chunks": n, "data": <slice of the reply's JSON text>}``,
i = 0..n-1 in order and back to back; joining every ``data`` in order gives the reply's JSON text.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from vauth.transport.framing import dumps

MAX_REPLY = 1024 * 1024  # Chromium closes the port on a larger message from a host
_WIDEST = 10**15  # for measuring the envelope: wider than any chunk index


def to_json(value: Any) -> str:
    """Compact JSON as JavaScript's JSON.parse reads it (ValueError for NaN or Infinity)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def frame(body: bytes) -> bytes:
    return struct.pack("=I", len(body)) + body


def encode_reply(reply: dict[str, Any], max_bytes: int = MAX_REPLY) -> bytes:
    """The frame(s) that carry ``reply``, concatenated."""
    body = dumps(reply, allow_nan=False)
    if len(body) <= max_bytes:
        return frame(body)
    return b"".join(frame(b) for b in split(reply.get("id"), body.decode("utf-8"), max_bytes))


def split(request_id: object, text: str, max_bytes: int = MAX_REPLY) -> list[bytes]:
    """The bodies of the chunk messages for ``text``, each at most ``max_bytes``."""
    empty = {"id": request_id, "ok": True, "chunk": _WIDEST, "chunks": _WIDEST, "data": ""}
    budget = max_bytes - len(dumps(empty))
    if budget < 6:  # one character escapes to at most 6 bytes (\u001f)
        raise ValueError("the request id is too long to chunk a reply under it")
    pieces: list[bytes] = []  # each slice of the text as a JSON string, quotes included
    start = 0
    while start < len(text):
        size = min(len(text) - start, budget)
        while True:
            piece = dumps(text[start : start + size])
            cost = len(piece) - 2  # the quotes are in the envelope
            if cost <= budget:
                break
            size = max(1, min(size - 1, size * budget // cost))
        pieces.append(piece)
        start += size
    count = len(pieces)
    return [_chunk(request_id, i, count, piece) for i, piece in enumerate(pieces)]


def _chunk(request_id: object, index: int, count: int, data: bytes) -> bytes:
    envelope = dumps({"id": request_id, "ok": True, "chunk": index, "chunks": count})
    return envelope[:-1] + b',"data":' + data + b"}"
