"""base64url without padding (RFC 4648 section 5): vauth's codec against the standard library's
(a peer), for every input, and its refusals of what is not base64url."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vauth import base64url


@given(st.binary(max_size=300))
def test_round_trip_matches_the_standard_library(data: bytes) -> None:
    # RFC 4648 section 5: the URL and filename safe alphabet; WebAuthn drops the padding.
    text = base64url.encode(data)
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert base64url.decode(text) == data
    padded = text + "=" * (-len(text) % 4)
    assert base64url.decode(padded) == base64.urlsafe_b64decode(padded) == data


@given(st.text(alphabet="ABCxyz019-_=+/ .\n", max_size=12))
def test_decodes_exactly_what_the_strict_form_allows(text: str) -> None:
    """Accepted: the URL-safe alphabet, then at most two '=' making a multiple of 4; anything
    else is ValueError (never another exception, never a guess)."""
    body = text.rstrip("=")
    valid = (
        all(c.isalnum() or c in "-_" for c in body)
        and len(text) - len(body) <= 2
        and len(body) % 4 != 1
        and (text == body or len(text) % 4 == 0)
    )
    if valid:
        assert base64url.decode(text) == base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    else:
        with pytest.raises(ValueError):
            base64url.decode(text)
