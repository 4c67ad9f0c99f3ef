"""Fuzz length-prefixed JSON framing: ``vauth.transport.framing`` (the daemon socket's and native
messaging's) and, when the package is there, the native host's reading side: its frame
reader (``native_host.pipes.read_frames``), its per-request handling (``Host.answer``, with a
daemon link and an output that live in memory) and its reply chunking
(``native_host.chunking.encode_reply``).

An input is a byte stream as the browser would write it to the host's stdin: frames in native
byte order. Properties:

- ``frame_length`` gives the prefix's value (within the limit) or raises ``FramingError``;
  ``decode`` gives a dict or raises ``FramingError``, and what it gives ``encode`` turns back
  into a frame that reads back the same;
- ``read_frames`` posts whole bodies (which, re-framed, rebuild a prefix of the input), at most
  one ``FramingError`` and then ``None``, exactly once;
- ``Host.answer`` writes exactly one reply per body, as frames that read back, with the
  request's id (or null when the request had no valid one), ``ok`` a boolean, and never the
  "internal" error that means an exception escaped; a long reply chunks into frames no larger
  than asked whose data join into the reply's JSON text.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

with _common.instrumented("vauth.transport.framing", "native_host"):
    from vauth.transport import framing

    try:
        from native_host import chunking, host, pipes
    except ImportError:  # the native host is optional here
        chunking = host = pipes = None  # type: ignore[assignment]

TARGET = "framing"
CHUNK_LIMIT = 160  # bytes per reply frame when testing chunking: small, to get many chunks
_errors = _common.LoggedErrors("native_host", "vauth")
_loop = asyncio.new_event_loop()


def check_framing(data: bytes) -> None:
    for order in ("=", ">"):
        for limit in (framing.MAX_MESSAGE, 100):
            try:
                length = framing.frame_length(data[:4], order, limit)
            except framing.FramingError:
                if len(data) >= 4 and struct.unpack(f"{order}I", data[:4])[0] <= limit:
                    raise _common.PropertyViolation("frame_length refused a valid prefix") from None
                continue
            if length != struct.unpack(f"{order}I", data[:4])[0] or length > limit:
                raise _common.PropertyViolation(f"frame_length gave {length}")
    try:
        message = framing.decode(data[4:])
    except framing.FramingError:
        return
    if not isinstance(message, dict):
        raise _common.PropertyViolation(f"decode gave a {type(message).__name__}")
    frame = framing.encode(message, "=")
    again = framing.decode(frame[4:])
    if framing.frame_length(frame[:4], "=") != len(frame) - 4 or _canon(again) != _canon(message):
        raise _common.PropertyViolation("encode(decode(x)) does not read back")


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)  # NaN != NaN, but its text is the same


def read_stream(data: bytes) -> list[Any]:
    """What ``read_frames`` posts for ``data`` as stdin."""
    fd = os.memfd_create("fuzz-stdin")
    try:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
        items: list[Any] = []
        pipes.read_frames(fd, items.append)
    finally:
        os.close(fd)
    return items


def check_reader(data: bytes, items: list[Any]) -> list[bytes]:
    if not items or items[-1] is not None or items.count(None) != 1:
        raise _common.PropertyViolation(f"read_frames did not end with one None: {items[-3:]}")
    bodies = [i for i in items[:-1] if isinstance(i, bytes)]
    failures = [i for i in items[:-1] if not isinstance(i, bytes)]
    if any(not isinstance(i, framing.FramingError) for i in failures) or len(failures) > 1:
        raise _common.PropertyViolation(f"read_frames posted {failures!r}")
    if failures and not isinstance(items[-2], framing.FramingError):
        raise _common.PropertyViolation("read_frames went on after a FramingError")
    rebuilt = b"".join(struct.pack("=I", len(b)) + b for b in bodies)
    if not data.startswith(rebuilt):
        raise _common.PropertyViolation("the bodies read do not rebuild the input")
    if not failures and rebuilt != data:
        raise _common.PropertyViolation("read_frames left input unread without a FramingError")
    return bodies


class FakeLink:
    """The daemon: answers every action with its params, as the relay would return a reply."""

    async def available(self) -> bool:
        return False

    async def call(self, action: str, params: object, progress: Any) -> dict[str, Any]:
        json.dumps({"action": action, "params": params}, ensure_ascii=False).encode()
        if progress is not None and action.endswith("progress"):
            progress({"progress": [1, 2]})
        return {"id": 7, "ok": True, "result": params}

    async def close(self) -> None:
        return None


class FakeOutput:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.broken = False

    def put(self, data: bytes) -> asyncio.Future[None]:
        self.written.append(data)
        future: asyncio.Future[None] = _loop.create_future()
        future.set_result(None)
        return future


def read_replies(stream: bytes) -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = []
    offset = 0
    while offset < len(stream):
        length = framing.frame_length(stream[offset : offset + 4], "=")
        replies.append(framing.decode(stream[offset + 4 : offset + 4 + length]))
        offset += 4 + length
    return replies


async def check_answer(body: bytes) -> None:
    output = FakeOutput()
    await host.Host(FakeLink(), output).answer(body)  # type: ignore[arg-type]
    _errors.check()
    replies = [r for r in read_replies(b"".join(output.written)) if "progress" not in r]
    if len(replies) != 1:
        raise _common.PropertyViolation(f"{len(replies)} replies to one request")
    reply = replies[0]
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        request = None
    request_id = request.get("id") if isinstance(request, dict) else None
    expected = request_id if host._valid_id(request_id) else None
    if _canon(reply.get("id")) != _canon(expected) or not isinstance(reply.get("ok"), bool):
        raise _common.PropertyViolation(f"reply {str(reply)[:200]} to id {expected!r}")
    error = reply.get("error")
    if isinstance(error, dict) and error.get("code") == "internal":
        raise _common.PropertyViolation("the host answered 'internal': an exception escaped")


def check_chunking(body: bytes) -> None:
    try:
        reply = json.loads(body)
    except (ValueError, RecursionError):
        return
    if not isinstance(reply, dict):
        return
    try:
        stream = chunking.encode_reply(reply, CHUNK_LIMIT)
    except ValueError as exc:
        if "too long to chunk" in str(exc):
            return
        raise
    frames = read_replies(stream)
    if len(frames) == 1:
        return
    offset = 0
    for _ in frames:
        length = framing.frame_length(stream[offset : offset + 4], "=")
        if length > CHUNK_LIMIT:
            raise _common.PropertyViolation(f"a {length}-byte chunk over the {CHUNK_LIMIT} asked")
        offset += 4 + length
    text = "".join(frame["data"] for frame in frames)
    if [f["chunk"] for f in frames] != list(range(len(frames))) or _canon(
        json.loads(text)
    ) != _canon(reply):
        raise _common.PropertyViolation("the chunks do not join into the reply")


def test_one_input(data: bytes) -> None:
    check_framing(data)
    if pipes is None:
        return
    bodies = check_reader(data, read_stream(data))
    for body in bodies[:8]:
        with _errors.trapping():
            _loop.run_until_complete(check_answer(body))
        check_chunking(body)


def seed_inputs() -> dict[str, bytes]:
    def frames(*messages: Any) -> bytes:
        return b"".join(framing.encode(m, "=") for m in messages)

    big = {"id": "x", "ok": True, "result": {"text": "é\u0001" * 300, "list": list(range(50))}}
    return {
        "hello": frames({"id": 1, "action": "host.hello"}),
        "relay": frames(
            {"id": "a", "action": "webauthn.create", "params": {"origin": "https://example.com"}},
            {"id": 2.5, "action": "vault.status"},
            {"id": 3, "action": "vault.import.progress", "params": None},
        ),
        "bad": frames({"action": "no id"}, {"id": True}) + b"\x05\x00\x00\x00[1,2]",
        "chunky": frames(big),
        "truncated": struct.pack("=I", 1000) + b'{"id":1',
    }


if __name__ == "__main__":
    _common.main(TARGET, test_one_input)
