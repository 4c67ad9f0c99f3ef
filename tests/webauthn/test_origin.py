"""Origin and rpId checks: the matrix of WebAuthn L3 5.1.3 / HTML registrable domain suffix.

WebAuthn L3 5.1.3 step 7: "Let effectiveDomain be the callerOrigin's effective domain. If
effective domain is not a valid domain, then return a DOMException whose name is
"SecurityError"". URL Standard 3.4: a valid domain is one "domain to ASCII" accepts with
beStrict true (UTS #46, non-transitional, STD3 rules: LDH labels)."""

from __future__ import annotations

import pytest

from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.origin import check_rp_id, domain_to_ascii, parse_origin, resolve_rp_id


@pytest.mark.parametrize(
    ("origin", "serialized"),
    [
        ("https://example.com", "https://example.com"),
        ("https://login.example.com:8443", "https://login.example.com:8443"),
        ("http://localhost", "http://localhost"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://app.localhost:3000", "http://app.localhost:3000"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://[::1]:5000", "http://[::1]:5000"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        ("https://xn--fa-hia.de", "https://xn--fa-hia.de"),
        ("https://r4---sn-a5mekn7s.googlevideo.com", "https://r4---sn-a5mekn7s.googlevideo.com"),
        ("https://xn--ls8h.la", "https://xn--ls8h.la"),
    ],
)
def test_good_origins(origin: str, serialized: str) -> None:
    assert parse_origin(origin).serialize() == serialized


# Issue 10 item 7: each of these once passed for rpId example.com. The URL Standard reads
# a backslash as "/" in special URLs, so the first one's host is evil.com; %2f, %00, NUL and
# space are forbidden in hosts; ";" and "!" are allowed in a URL's host but not in a valid domain.
FULLWIDTH_EXAMPLE = "\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25"  # EXAMPLE
EVIL_SUFFIXES = ["\\", "%2f", "%00", "\x00", " ", ";", "!"]
EVIL_ORIGINS = [f"https://evil.com{c}.example.com" for c in EVIL_SUFFIXES]
MALFORMED = [
    *EVIL_ORIGINS,
    "https://evil.com%5c.example.com",
    "https://user@example.com",
    "https://user:pw@example.com",
    "https://@example.com",
    "https://example.com/",
    "https://example.com/path",
    "https://example.com?",
    "https://example.com?q=1",
    "https://example.com#",
    "https://example.com#frag",
    "https://example.com.",
    "https://Example.com",
    "HTTPS://example.com",
    "https://example.com:443",
    "http://localhost:80",
    "https://example.com:0443",
    "https://example.com:",
    "https://example.com:99999",
    "ftp://example.com",
    "ws://example.com",
    "wss://example.com",
    "file:///etc/passwd",
    "blob:https://example.com/uuid",
    "data:text/html,hi",
    "javascript:alert(1)",
    "https://[0:0:0:0:0:0:0:1]",
    "https://[::1",
    "https://::1",
    "https://0x7f.0.0.1",
    "https://127.1",
    " https://example.com",
    "https://example.com\n",
    "https://exa\tmple.com",
    "https://bücher.example",
    "https://faß.de",
    f"https://{FULLWIDTH_EXAMPLE}.com",
    "https://a..example.com",
    "https://xn--zz.example.com",
    "https://foo_bar.example.com",
    "https://" + "a" * 64 + ".example.com",
]


@pytest.mark.parametrize("origin", MALFORMED)
def test_malformed_origins_are_refused(origin: str) -> None:
    with pytest.raises(WebAuthnError) as info:
        parse_origin(origin)
    assert info.value.name == "SecurityError"


@pytest.mark.parametrize(
    ("origin", "serialized"),
    [
        ("https://evil.com\\.example.com", "https://evil.com"),
        ("https://Example.COM:443", "https://example.com"),
        ("https://user@example.com/x?y#z", "https://example.com"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://faß.de", "https://xn--fa-hia.de"),
        ("https://[0:0::1]", "https://[::1]"),
    ],
)
def test_refusal_names_the_serialized_origin(origin: str, serialized: str) -> None:
    with pytest.raises(WebAuthnError) as info:
        parse_origin(origin)
    assert "not a serialized origin" in info.value.message
    assert repr(serialized) in info.value.message


@pytest.mark.parametrize("origin", EVIL_ORIGINS)
def test_evil_origins_cannot_claim_example_com(origin: str) -> None:
    with pytest.raises(WebAuthnError) as info:
        resolve_rp_id("example.com", parse_origin(origin))
    assert info.value.name == "SecurityError"


@pytest.mark.parametrize(
    ("domain", "mapped"),
    [
        ("faß.de", "xn--fa-hia.de"),  # UTS #46 non-transitional, as browsers: not fass.de
        ("FASS.de", "fass.de"),
        ("bücher.example", "xn--bcher-kva.example"),
        (f"{FULLWIDTH_EXAMPLE}.com", "example.com"),
        ("xn--fa-hia.de", "xn--fa-hia.de"),
        ("\N{PILE OF POO}.la", "xn--ls8h.la"),
        ("ab--c.example", "ab--c.example"),  # CheckHyphens is false in the URL Standard
    ],
)
def test_domains_map_as_browsers_do(domain: str, mapped: str) -> None:
    assert domain_to_ascii(domain) == mapped


@pytest.mark.parametrize(
    "domain",
    ["", "a..b", "example.com.", "evil.com;.x", "ev!l.com", "a<b.com", "x/y", "a b", "xn--zz.de"],
)
def test_invalid_domains_are_refused(domain: str) -> None:
    with pytest.raises(WebAuthnError):
        domain_to_ascii(domain)


@pytest.mark.parametrize(
    ("rp_id", "origin"),
    [
        ("faß.de", "https://login.xn--fa-hia.de"),
        ("FAß.DE", "https://xn--fa-hia.de"),
        ("xn--fa-hia.de", "https://login.xn--fa-hia.de"),
    ],
)
def test_rp_ids_compare_in_mapped_form(rp_id: str, origin: str) -> None:
    assert check_rp_id(rp_id, parse_origin(origin)) == domain_to_ascii(rp_id)


def test_transitional_mapping_does_not_claim() -> None:
    with pytest.raises(WebAuthnError):
        check_rp_id("faß.de", parse_origin("https://login.fass.de"))


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
        ("evil.com;.example.com", "https://example.com", "not a valid domain"),
        ("example.com/", "https://example.com", "not a valid domain"),
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
    assert resolve_rp_id(None, parse_origin("http://[::1]")) == "::1"
