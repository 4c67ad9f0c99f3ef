"""Origin and rpId checks: the matrix of WebAuthn L3 5.1.3 / HTML registrable domain suffix."""

from __future__ import annotations

import pytest

from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.origin import check_rp_id, parse_origin, resolve_rp_id


@pytest.mark.parametrize(
    ("origin", "serialized"),
    [
        ("https://example.com", "https://example.com"),
        ("https://login.example.com:8443", "https://login.example.com:8443"),
        ("https://Example.COM:443", "https://example.com"),
        ("http://localhost", "http://localhost"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://app.localhost:3000", "http://app.localhost:3000"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://[::1]:5000", "http://[::1]:5000"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_good_origins(origin: str, serialized: str) -> None:
    assert parse_origin(origin).serialize() == serialized


@pytest.mark.parametrize(
    "origin",
    [
        "http://example.com",
        "http://192.168.1.10",
        "http://localhost.example.com",
        "ftp://example.com",
        "chrome-extension://abcdef",
        "https://example.com/path",
        "https://example.com?q=1",
        "https://user@example.com",
        "https://",
        "null",
        "",
        "example.com",
    ],
)
def test_bad_origins_are_security_errors(origin: str) -> None:
    with pytest.raises(WebAuthnError) as info:
        parse_origin(origin)
    assert info.value.name == "SecurityError"


@pytest.mark.parametrize(
    ("rp_id", "origin"),
    [
        ("example.com", "https://login.example.com"),
        ("example.com", "https://example.com"),
        ("login.example.com", "https://login.example.com"),
        ("example.co.uk", "https://www.example.co.uk"),
        ("foo.github.io", "https://foo.github.io"),
        ("localhost", "http://localhost:8080"),
        ("app.localhost", "http://app.localhost"),
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("EXAMPLE.com", "https://login.example.com"),
    ],
)
def test_allowed_rp_ids(rp_id: str, origin: str) -> None:
    assert check_rp_id(rp_id, parse_origin(origin)) == rp_id.lower()


@pytest.mark.parametrize(
    ("rp_id", "origin", "why"),
    [
        ("com", "https://example.com", "public suffix"),
        ("co.uk", "https://www.example.co.uk", "public suffix"),
        ("github.io", "https://foo.github.io", "public suffix"),
        ("amazonaws.com", "https://bucket.s3.amazonaws.com", "within a public suffix"),
        ("example.org", "https://example.com", "label boundary"),
        ("ample.com", "https://example.com", "label boundary"),
        ("example.com", "https://notexample.com", "label boundary"),
        ("login.example.com", "https://example.com", "label boundary"),
        ("localhost", "http://app.localhost", "public suffix"),
        ("0.0.1", "http://127.0.0.1", "IP address"),
        ("127.0.0.1", "http://localhost", "IP address"),
        ("", "https://example.com", "empty"),
    ],
)
def test_refused_rp_ids_name_rp_id_and_origin(rp_id: str, origin: str, why: str) -> None:
    with pytest.raises(WebAuthnError) as info:
        check_rp_id(rp_id, parse_origin(origin))
    assert info.value.name == "SecurityError"
    assert why in info.value.message
    assert repr(rp_id) in info.value.message
    assert repr(parse_origin(origin).serialize()) in info.value.message


def test_default_rp_id_is_the_origin_host() -> None:
    assert resolve_rp_id(None, parse_origin("https://login.example.com:8443")) == (
        "login.example.com"
    )
    assert resolve_rp_id(None, parse_origin("http://[::1]:80")) == "::1"
