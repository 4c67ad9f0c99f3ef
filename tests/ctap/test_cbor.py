"""The canonical CTAP2 CBOR codec: strict on the way in, canonical on the way out."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vauth.ctap import cbor
from vauth.ctap.status import CtapError, CtapStatus

ctap_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.binary() | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.integers(-1000, 1000) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def test_map_keys_sort_by_major_type_then_length_then_bytes() -> None:
    encoded = cbor.encode({"a": 0, 1000: 0, -1: 0, 1: 0, -25: 0, "bb": 0, 3: 0})
    assert list(cbor2.loads(encoded)) == [1, 3, 1000, -1, -25, "a", "bb"]


def test_cose_key_is_in_the_order_the_spec_shows() -> None:
    encoded = cbor.encode({-3: b"y", -2: b"x", -1: 1, 3: -7, 1: 2})
    assert encoded.hex() == "a501020326200121417822417" + "9"


@given(ctap_values)
def test_round_trip(value: object) -> None:
    encoded = cbor.encode(value)
    assert cbor.decode(encoded) == value
    assert cbor.encode(cbor.decode(encoded)) == encoded


@pytest.mark.parametrize(
    "data",
    [
        "1801",  # 1 in a two-byte form
        "5f4100ff",  # indefinite-length byte string
        "bfff",  # indefinite-length map
        "a202000100",  # unsorted keys
        "a201000100",  # duplicate key
        "0102",  # trailing data
        "f90000",  # half float
        "fb0000000000000000",  # double
        "c101",  # tag
        "f7",  # undefined
        "7affffffff",  # truncated text
        "",  # nothing
        "a1f500",  # boolean map key
        "81" * 40 + "00",  # too deeply nested
    ],
)
def test_rejects_non_canonical_and_foreign(data: str) -> None:
    with pytest.raises(CtapError) as exc:
        cbor.decode(bytes.fromhex(data))
    assert exc.value.status is CtapStatus.INVALID_CBOR
