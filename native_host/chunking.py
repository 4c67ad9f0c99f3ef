"""Replies to the browser in native byte order, split when they exceed Chromium's 1 MiB.

A reply whose JSON text is larger than ``MAX_REPLY`` bytes goes out as ``n`` chunk messages
``{"id", "ok": true, "chunk": i, "chunks": n, "data": <slice of the reply's JSON text>}``,
i = 0..n-1 in order and back to back; joining every ``data`` in order gives the reply's JSON text.
"""

from __future__ import annotations

import json
import struct
from typing import Any

MAX_REPLY = 1024 * 1024  # Chromium closes the port on a larger message from a host
_WIDEST = 10**15  # for measuring the envelope: wider than any chunk index


def to_json(value: Any) -> str:
    """Compact JSON as JavaScript's JSON.parse reads it (ValueError for NaN or Infinity)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON's \u escapes carry it
        return json.dumps(json.loads(text), separators=(",", ":"), allow_nan=False).encode()


def frame(body: bytes) -> bytes:
    return struct.pack("=I", len(body)) + body


def encode_reply(reply: dict[str, Any], max_bytes: int = MAX_REPLY) -> bytes:
    """The frame(s) that carry ``reply``, concatenated."""
    text = to_json(reply)
    body = _utf8(text)
    if len(body) <= max_bytes:
        return frame(body)
    return b"".join(frame(_utf8(to_json(c))) for c in split(reply.get("id"), text, max_bytes))


def split(request_id: object, text: str, max_bytes: int = MAX_REPLY) -> list[dict[str, Any]]:
    """Chunk messages for ``text``, each at most ``max_bytes`` once encoded."""
    empty = {"id": request_id, "ok": True, "chunk": _WIDEST, "chunks": _WIDEST, "data": ""}
    budget = max_bytes - len(_utf8(to_json(empty)))
    if budget < 6:  # one character escapes to at most 6 bytes (\u001f)
        raise ValueError("the request id is too long to chunk a reply under it")
    slices: list[str] = []
    start = 0
    while start < len(text):
        size = min(len(text) - start, budget)
        while True:
            piece = text[start : start + size]
            cost = len(_utf8(to_json(piece))) - 2  # the quotes are in the envelope
            if cost <= budget:
                break
            size = max(1, min(size - 1, size * budget // cost))
        slices.append(piece)
        start += size
    count = len(slices)
    return [
        {"id": request_id, "ok": True, "chunk": i, "chunks": count, "data": piece}
        for i, piece in enumerate(slices)
    ]
