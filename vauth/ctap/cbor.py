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


def _sort_key(encoded_key: bytes) -> tuple[int, int, bytes]:
    return (encoded_key[0] >> 5, len(encoded_key), encoded_key)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        items = [(cbor2.dumps(k), k, _canonical(v)) for k, v in value.items()]
        items.sort(key=lambda item: _sort_key(item[0]))
        return {k: v for _, k, v in items}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


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
    _check_model(value, 0)
    if encode(value) != data:
        raise CtapError(CtapStatus.INVALID_CBOR, "not in CTAP2 canonical form")
    return value


def _check_model(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CtapError(CtapStatus.INVALID_CBOR, "nesting too deep")
    if isinstance(value, bool | int | bytes | str) or value is None:
        return
    if isinstance(value, list):
        for item in value:
            _check_model(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, int | str) or isinstance(key, bool):
                raise CtapError(CtapStatus.INVALID_CBOR, "map key must be an integer or text")
            _check_model(item, depth + 1)
        return
    raise CtapError(CtapStatus.INVALID_CBOR, f"CBOR type {type(value).__name__} not allowed")
