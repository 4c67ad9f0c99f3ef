"""The one CTAP2 CBOR codec: strict decoding, canonical encoding (CTAP 2.1 section 8, "Message
Encoding" and "CTAP2 canonical CBOR encoding form").

cbor2 does the byte work. Only the CTAP2 data model is accepted: integers, byte and text strings,
arrays, maps, booleans and null; no tags, floats or undefined, and at most ``MAX_DEPTH`` levels
of nesting. Canonical form is checked without re-encoding: one walk over what cbor2 decoded
checks the data model and the key order of every map and adds up the length the canonical
encoding would have. Any other encoding of the same value (non-shortest integers or lengths,
indefinite lengths, duplicate keys, trailing bytes) is longer, and a reordering is caught by the
order check, so "ordered and of canonical length" is exactly "canonical".
"""

from __future__ import annotations

from typing import Any

import cbor2

from vauth.ctap.status import CtapError, CtapStatus

MAX_DEPTH = 8
_MAX_UINT = 1 << 64
_NEGATIVE_RANK = 1 << 70  # int keys: non-negative ones first, then -1, -2, ...


class _Unordered(Exception):
    """A map whose keys are not in canonical order."""


def encode(value: Any) -> bytes:
    """Encode ``value`` in CTAP2 canonical form (maps sorted by major type, length, then bytes)."""
    try:
        _walk(value, 0)
    except _Unordered:
        value = _canonical(value)
    return cbor2.dumps(value)


def encode_ordered(value: dict[int, Any]) -> bytes:
    """Encode a response map that its message type built in canonical order (integer keys
    ascending, nested maps ordered), skipping the check :func:`encode` makes. The message tests
    hold each type to ``encode_ordered(m) == encode(m)``."""
    return cbor2.dumps(value)


def decode(data: bytes) -> Any:
    """Decode one CTAP2 canonical CBOR item that makes up all of ``data``.

    Raises ``CtapError(INVALID_CBOR)`` for anything that is not well-formed canonical CTAP2 CBOR.
    """
    try:
        value = cbor2.loads(data)
    except RecursionError as exc:
        raise CtapError(CtapStatus.INVALID_CBOR, "nesting too deep") from exc
    except Exception as exc:  # cbor2 raises several error types for malformed input
        raise CtapError(CtapStatus.INVALID_CBOR, "malformed CBOR") from exc
    try:
        length = _walk(value, 0)
    except _Unordered:
        raise CtapError(CtapStatus.INVALID_CBOR, "map keys not in canonical order") from None
    if length != len(data):
        raise CtapError(CtapStatus.INVALID_CBOR, "not in CTAP2 canonical form")
    return value


def _head_length(value: int) -> int:
    """Bytes of a CBOR head carrying ``value`` in its shortest form."""
    if value < 24:
        return 1
    if value < 0x100:
        return 2
    if value < 0x10000:
        return 3
    return 5 if value < 0x100000000 else 9


def _text_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def _walk(value: Any, depth: int) -> int:
    """The canonical encoded length of ``value``; checks the data model and map key order.

    Leaves inside containers are sized inline: this runs on every message in and out."""
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise CtapError(CtapStatus.INVALID_CBOR, "nesting too deep")
        total = _head_length(len(value)) + _keys_size(value)
        items = value.values()
    elif kind is list:
        if depth >= MAX_DEPTH:
            raise CtapError(CtapStatus.INVALID_CBOR, "nesting too deep")
        total = _head_length(len(value))
        items = value
    else:
        return _leaf_size(value)
    for item in items:
        item_kind = type(item)
        if item_kind is bytes or (item_kind is str and item.isascii()):
            size = len(item)
            total += size + (1 if size < 24 else _head_length(size))
        elif item_kind is bool or item is None or (item_kind is int and -24 <= item < 24):
            total += 1
        else:
            total += _walk(item, depth + 1)
    return total


def _leaf_size(value: Any) -> int:
    kind = type(value)
    if kind is bytes:
        return _head_length(len(value)) + len(value)
    if kind is str:
        size = _text_length(value)
        return _head_length(size) + size
    if kind is int:
        magnitude = value if value >= 0 else -1 - value
        if magnitude >= _MAX_UINT:
            raise CtapError(CtapStatus.INVALID_CBOR, "integer out of range")
        return _head_length(magnitude)
    if kind is bool or value is None:
        return 1
    if isinstance(value, int | str | bytes | tuple | bytearray | memoryview) and not isinstance(
        value, bool
    ):
        raise _Unordered  # an IntEnum, a tuple, ...: let _canonical turn it into plain values
    raise CtapError(CtapStatus.INVALID_CBOR, f"CBOR type {kind.__name__} not allowed")


# Key sets already found canonical, with their encoded size, keyed by the keys and their exact
# types (so that True or 1.0 never passes for 1). Messages repeat a handful of key sets
# ({"id", "name"}, {1, 2, 3, 4, 7}, ...); the cache is bounded.
_CANONICAL_KEYS: dict[tuple[tuple[Any, ...], tuple[type, ...]], int] = {}
_CANONICAL_KEYS_MAX = 512


def _keys_size(mapping: dict[Any, Any]) -> int:
    """The encoded size of the keys; raises _Unordered unless they are strictly increasing in
    CTAP2 canonical order."""
    keys = tuple(mapping)
    signature = (keys, tuple(map(type, keys)))
    size = _CANONICAL_KEYS.get(signature)
    if size is None:
        size = _checked_keys_size(mapping)
        if len(_CANONICAL_KEYS) < _CANONICAL_KEYS_MAX and len(keys) <= 16:
            _CANONICAL_KEYS[signature] = size
    return size


def _checked_keys_size(mapping: dict[Any, Any]) -> int:
    total = 0
    previous: Any = None
    kinds = {type(k) for k in mapping}
    if kinds == {int} or all(issubclass(k, int) and k is not bool for k in kinds):  # IntEnums
        for key in mapping:
            if key >= 0:
                rank, magnitude = key, key
            else:
                rank, magnitude = _NEGATIVE_RANK - key, -1 - key
            if previous is not None and rank <= previous:
                raise _Unordered
            if magnitude >= _MAX_UINT:
                raise CtapError(CtapStatus.INVALID_CBOR, "integer out of range")
            previous = rank
            total += _head_length(magnitude)
        return total
    if kinds == {str}:
        for key in mapping:
            size = _text_length(key)
            text_rank = (size, key.encode())
            if previous is not None and text_rank <= previous:
                raise _Unordered
            previous = text_rank
            total += _head_length(size) + size
        return total
    for key in mapping:
        if not isinstance(key, int | str) or isinstance(key, bool):
            raise CtapError(CtapStatus.INVALID_CBOR, "map key must be an integer or text")
    keys = list(mapping)
    if any(type(k) not in (int, str) for k in keys) or sorted(keys, key=_sort_key) != keys:
        raise _Unordered
    return sum(_leaf_size(k) for k in keys)


def _sort_key(key: Any) -> tuple[int, int, Any]:
    """CTAP2 canonical order of a map key: major type, then encoded length, then bytes (for
    keys of one major type and length, comparing the values compares the encodings)."""
    if isinstance(key, int):
        if key >= 0:
            return (0, _head_length(key), int(key))
        return (1, _head_length(-1 - key), -1 - key)
    raw = str(key).encode()
    return (3, _head_length(len(raw)) + len(raw), raw)


def _canonical(value: Any) -> Any:
    """``value`` with plain types and every map in CTAP2 canonical key order."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict):
        return {_canonical(k): _canonical(value[k]) for k in sorted(value, key=_sort_key)}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    raise CtapError(CtapStatus.INVALID_CBOR, f"CBOR type {type(value).__name__} not allowed")
