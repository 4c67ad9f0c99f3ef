"""The one CTAP2 CBOR codec: strict decoding, canonical encoding (CTAP 2.1 section 8, "Message
Encoding" and "CTAP2 canonical CBOR encoding form").

cbor2 does the byte work. Canonical form is enforced on the way in by re-encoding what cbor2
decoded and comparing bytes, which rejects non-shortest integers and lengths, indefinite lengths,
unsorted or duplicate map keys and trailing data in one rule. Only the CTAP2 data model is
accepted: integers, byte and text strings, arrays, maps, booleans and null; no tags, floats or
undefined, and at most ``MAX_DEPTH`` levels of nesting.
"""

from __future__ import annotations

from typing import Any

import cbor2

from vauth.ctap.status import CtapError, CtapStatus

MAX_DEPTH = 8


def encode(value: Any) -> bytes:
    """Encode ``value`` in CTAP2 canonical form (maps sorted by major type, length, then bytes)."""
    return cbor2.dumps(_canonical(value))


def _head_length(value: int) -> int:
    """Bytes of a CBOR head carrying ``value`` in its shortest form."""
    if value < 24:
        return 1
    if value < 0x100:
        return 2
    if value < 0x10000:
        return 3
    return 5 if value < 0x100000000 else 9


def _sort_key(key: Any) -> tuple[int, int, Any]:
    """CTAP2 canonical order of a map key: major type, then encoded length, then bytes (for
    keys of one major type and length, comparing the values compares the encodings)."""
    if isinstance(key, int):
        if key >= 0:
            return (0, _head_length(key), key)
        return (1, _head_length(-1 - key), -1 - key)
    if isinstance(key, str):
        raw = key.encode()
        return (3, _head_length(len(raw)) + len(raw), raw)
    raw = cbor2.dumps(key)
    return (raw[0] >> 5, len(raw), raw)


_LEAVES = (bool, int, bytes, str, type(None))


def _canonical(value: Any, depth: int = 0) -> Any:
    """``value`` with every map in CTAP2 canonical key order; raises INVALID_CBOR for anything
    outside the CTAP2 data model or nested deeper than MAX_DEPTH."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if depth >= MAX_DEPTH:
        raise CtapError(CtapStatus.INVALID_CBOR, "nesting too deep")
    if kind is dict:
        for key in value:
            if type(key) not in (int, str) and not _is_key(key):
                raise CtapError(CtapStatus.INVALID_CBOR, "map key must be an integer or text")
        return {k: _canonical(value[k], depth + 1) for k in sorted(value, key=_sort_key)}
    if kind is list or kind is tuple:
        return [_canonical(v, depth + 1) for v in value]
    if kind is bytearray or kind is memoryview:
        return bytes(value)
    if isinstance(value, int | str | bytes):  # IntEnum, StrEnum and friends
        return value
    raise CtapError(CtapStatus.INVALID_CBOR, f"CBOR type {kind.__name__} not allowed")


def _is_key(key: Any) -> bool:
    return isinstance(key, int | str) and not isinstance(key, bool)


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
    if cbor2.dumps(_canonical(value)) != data:
        raise CtapError(CtapStatus.INVALID_CBOR, "not in CTAP2 canonical form")
    return value
