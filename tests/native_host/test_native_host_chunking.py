"""Splitting replies under the 1 MiB a host may send Chromium: exact, and never over."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from native_host.chunking import MAX_REPLY, encode_reply, split


def frames(data: bytes) -> list[bytes]:
    bodies = []
    while data:
        (length,) = struct.unpack("=I", data[:4])
        bodies.append(data[4 : 4 + length])
        data = data[4 + length :]
    return bodies


def test_a_small_reply_is_one_frame_in_native_byte_order() -> None:
    reply = {"id": 3, "ok": True, "result": {"name": "é"}}
    data = encode_reply(reply)
    body = '{"id":3,"ok":true,"result":{"name":"é"}}'.encode()
    assert data == struct.pack("=I", len(body)) + body


def test_a_reply_of_exactly_the_limit_is_not_split() -> None:
    overhead = len(json.dumps({"id": 1, "ok": True, "result": ""}, separators=(",", ":")))
    text = "a" * (MAX_REPLY - overhead)
    assert len(frames(encode_reply({"id": 1, "ok": True, "result": text}))) == 1
    assert len(frames(encode_reply({"id": 1, "ok": True, "result": text + "a"}))) == 2


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list('aé😀"\\\n\x01\u2028')), min_size=1, max_size=600),
    limit=st.integers(min_value=120, max_value=400),
    request_id=st.one_of(st.integers(), st.text(max_size=8)),
)
def test_chunks_rejoin_exactly_and_fit(text: str, limit: int, request_id: object) -> None:
    reply = {"id": request_id, "ok": True, "result": text}
    bodies = frames(encode_reply(reply, limit))
    assert all(len(b) <= limit for b in bodies)
    messages = [json.loads(b) for b in bodies]
    if len(messages) == 1 and "chunk" not in messages[0]:
        assert messages[0] == reply
        return
    assert [m["chunk"] for m in messages] == list(range(len(messages)))
    assert {m["chunks"] for m in messages} == {len(messages)}
    assert all(m["id"] == request_id and m["ok"] is True for m in messages)
    assert json.loads("".join(m["data"] for m in messages)) == reply


def test_a_three_mebibyte_reply() -> None:
    reply = {"id": "big", "ok": True, "result": ["x" * 1000] * 3000}
    bodies = frames(encode_reply(reply))
    assert len(bodies) == 3
    assert max(len(b) for b in bodies) <= MAX_REPLY
    assert json.loads("".join(json.loads(b)["data"] for b in bodies)) == reply


def test_an_id_too_long_to_chunk_under() -> None:
    with pytest.raises(ValueError, match="too long"):
        split("i" * 200, "x" * 500, 150)
