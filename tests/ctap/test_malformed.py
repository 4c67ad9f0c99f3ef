"""Every malformed, truncated, oversized or mistyped message gets the status the spec names;
nothing escapes process(), and the authenticator keeps answering."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vauth import VirtualAuthenticator
from vauth.ctap import cbor
from vauth.ctap.status import CtapStatus

S = CtapStatus
CDH = hashlib.sha256(b"client data").digest()
RP = {"id": "example.com"}
USER = {"id": b"user-1", "name": "alice"}
PARAMS = [{"alg": -7, "type": "public-key"}]
MAKE: dict[int, Any] = {1: CDH, 2: RP, 3: USER, 4: PARAMS, 7: {"rk": True, "uv": True}}
GET: dict[int, Any] = {1: "example.com", 2: CDH}
VALID = [b"\x04", b"\x01" + cbor.encode(MAKE), b"\x02" + cbor.encode(GET), b"\x0b", b"\x08"]
STATUSES = {int(s) for s in CtapStatus}

_va = VirtualAuthenticator(seed=1)


def status(message: bytes, va: VirtualAuthenticator = _va) -> int:
    return va.process(message)[0]


def with_(base: dict[int, Any], **changes: Any) -> dict[int, Any]:
    out = dict(base)
    for key, value in changes.items():
        index = int(key[1:])
        if value is ...:
            out.pop(index, None)
        else:
            out[index] = value
    return out


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (b"", S.INVALID_LENGTH),
        (b"\x42", S.INVALID_COMMAND),
        (b"\x09", S.INVALID_COMMAND),  # bioEnrollment: not offered
        (b"\x04\xa0", S.INVALID_LENGTH),  # getInfo takes no parameters
        (b"\x01" + b"\x00" * 8000, S.REQUEST_TOO_LARGE),
        (b"\x01\xff", S.INVALID_CBOR),
        (b"\x01\x80", S.CBOR_UNEXPECTED_TYPE),  # parameters must be a map
        (b"\x01", S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k1=...)), S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k2=...)), S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k3=...)), S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k4=...)), S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k1="text")), S.CBOR_UNEXPECTED_TYPE),
        (b"\x01" + cbor.encode(with_(MAKE, k2={"name": "x"})), S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k2={"id": 7})), S.CBOR_UNEXPECTED_TYPE),
        (b"\x01" + cbor.encode(with_(MAKE, k3={"id": "text"})), S.CBOR_UNEXPECTED_TYPE),
        (b"\x01" + cbor.encode(with_(MAKE, k3={"id": b"x" * 65})), S.INVALID_LENGTH),
        (b"\x01" + cbor.encode(with_(MAKE, k4=[{"alg": -7}])), S.MISSING_PARAMETER),
        (
            b"\x01" + cbor.encode(with_(MAKE, k4=[{"alg": "x", "type": "public-key"}])),
            S.CBOR_UNEXPECTED_TYPE,
        ),
        (b"\x01" + cbor.encode(with_(MAKE, k4=[7])), S.CBOR_UNEXPECTED_TYPE),
        # Each pubKeyCredParams entry: the map, then alg, then type (a bool is no integer).
        (b"\x01" + cbor.encode(with_(MAKE, k4=[{"type": "public-key"}])), S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k4=[{"alg": "x"}])), S.CBOR_UNEXPECTED_TYPE),
        (
            b"\x01" + cbor.encode(with_(MAKE, k4=[{"alg": True, "type": "public-key"}])),
            S.CBOR_UNEXPECTED_TYPE,
        ),
        (
            b"\x01" + cbor.encode(with_(MAKE, k4=[{"alg": -7, "type": None}])),
            S.CBOR_UNEXPECTED_TYPE,
        ),
        (b"\x01" + cbor.encode(with_(MAKE, k4=[PARAMS[0], None])), S.CBOR_UNEXPECTED_TYPE),
        (b"\x01" + cbor.encode(with_(MAKE, k5=[{"type": "public-key"}])), S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k5={})), S.CBOR_UNEXPECTED_TYPE),
        (b"\x01" + cbor.encode(with_(MAKE, k6=[])), S.CBOR_UNEXPECTED_TYPE),
        (b"\x01" + cbor.encode(with_(MAKE, k7={"rk": 1})), S.CBOR_UNEXPECTED_TYPE),
        (b"\x01" + cbor.encode(with_(MAKE, k8=b"\x00" * 16)), S.MISSING_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k8=b"\x00" * 16, k9=3)), S.INVALID_PARAMETER),
        (b"\x01" + cbor.encode(with_(MAKE, k8=b"\x00" * 16, k9=1)), S.PIN_AUTH_INVALID),
        (b"\x01" + cbor.encode(with_(MAKE, k7={"rk": True})), S.PUAT_REQUIRED),
        (b"\x01" + cbor.encode(with_(MAKE, k10=1)), S.INVALID_PARAMETER),
        (
            b"\x01" + cbor.encode(with_(MAKE, k4=[{"alg": -7, "type": "other"}])),
            S.UNSUPPORTED_ALGORITHM,
        ),
        (b"\x02", S.MISSING_PARAMETER),
        (b"\x02" + cbor.encode(with_(GET, k1=...)), S.MISSING_PARAMETER),
        (b"\x02" + cbor.encode(with_(GET, k2=...)), S.MISSING_PARAMETER),
        (b"\x02" + cbor.encode(with_(GET, k1=b"bytes")), S.CBOR_UNEXPECTED_TYPE),
        (
            b"\x02" + cbor.encode(with_(GET, k3=[{"id": 1, "type": "public-key"}])),
            S.CBOR_UNEXPECTED_TYPE,
        ),
        (b"\x02" + cbor.encode(with_(GET, k5={"up": "yes"})), S.CBOR_UNEXPECTED_TYPE),
        (b"\x02" + cbor.encode(with_(GET, k1="nobody.example")), S.NO_CREDENTIALS),
        (b"\x08", S.NOT_ALLOWED),
        (b"\x07\x00", S.INVALID_LENGTH),
    ],
)
def test_named_status(message: bytes, expected: CtapStatus) -> None:
    va = VirtualAuthenticator(seed=2)
    assert status(message, va) == expected


def test_getinfo_answers_after_garbage() -> None:
    va = VirtualAuthenticator()
    for junk in (b"\x01\xff\xff", b"\x02" + b"\xa1" * 100, b"\xff" * 50):
        assert status(junk, va) != 0
    assert va.process(b"\x04")[0] == 0


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_get_a_status(message: bytes) -> None:
    response = _va.process(message)
    assert response[0] in STATUSES
    if response[0] == 0 and len(response) > 1:
        cbor.decode(response[1:])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
    st.integers(0, 400),
)
def test_mutated_messages_get_a_status(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    message = bytearray(base)
    for position, value in flips:
        if message:
            message[position % len(message)] = value
    response = _va.process(bytes(message[: max(1, cut)] if cut < len(message) else message))
    assert response[0] in STATUSES


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(st.integers(-3, 12) | st.text(max_size=6), c, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from([0x01, 0x02]), st.dictionaries(st.integers(1, 10), json_like, max_size=8))
def test_mistyped_parameters_get_a_status(command: int, params: dict[int, Any]) -> None:
    response = _va.process(bytes([command]) + cbor.encode(params))
    assert response[0] in STATUSES
    assert response[0] != S.OTHER
