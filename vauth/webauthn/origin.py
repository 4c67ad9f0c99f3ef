"""Origin and rpId checks (WebAuthn L3 sections 5.1.3 and 5.1.4; HTML "is a registrable domain
suffix of or is equal to").

An origin must arrive as browsers send it: already serialized (``scheme://host[:port]``, nothing
else). It is parsed as the URL Standard does (ada-url, the parser Node.js uses), and refused
unless its own serialization gives it back unchanged -- so ``https://evil.com\\.example.com``
(whose host is ``evil.com``), userinfo, paths, uppercase, default ports and Unicode hosts are all
refused, each with the serialized form in the message. Its host must then be a valid domain
(URL Standard: LDH labels after UTS #46) or a loopback IP address.

An origin is usable when it is a potentially trustworthy one that WebAuthn accepts: ``https`` with
any host, or ``http`` on ``localhost``, a ``*.localhost`` name, ``127.0.0.1`` or ``[::1]``. An
rpId is mapped as browsers map hosts (UTS #46, non-transitional: ``faß.de`` is
``xn--fa-hia.de``), and is usable when it equals the origin's host or is a registrable suffix of
it on a label boundary that is not a public suffix (the Public Suffix List, private section
included, as browsers use it). IP-address hosts only ever match themselves.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from functools import cache

import ada_url
from publicsuffixlist import PublicSuffixList

from vauth.webauthn.errors import WebAuthnError

DEFAULT_PORTS = {"https": 443, "http": 80}
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_DOMAIN_LENGTH = 253
_LABEL = re.compile(r"[a-z0-9-]{1,63}")  # an LDH label after mapping (URL Standard, beStrict)
_PUNYCODE_PREFIX = "xn--"


@dataclass(frozen=True, slots=True)
class Origin:
    """A tuple origin; ``host`` is lowercase, IPv6 without brackets; ``port`` None if default."""

    scheme: str
    host: str
    port: int | None

    @property
    def is_ip(self) -> bool:
        return _is_ip(self.host)

    def serialize(self) -> str:
        """The ASCII serialization of the origin, as it appears in clientDataJSON."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{host}{port}"


@cache
def _public_suffix_list() -> PublicSuffixList:
    """Loaded once, on first use (parsing the list takes a moment)."""
    return PublicSuffixList()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _security_error(message: str) -> WebAuthnError:
    return WebAuthnError("SecurityError", message)


def _valid_label(label: str) -> bool:
    """An LDH label of 1 to 63; an ``xn--`` one must be punycode that UTS #46 gives back."""
    if not _LABEL.fullmatch(label):
        return False
    if not label.startswith(_PUNYCODE_PREFIX):
        return True
    try:
        unicode = label[len(_PUNYCODE_PREFIX) :].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return bool(unicode) and ada_url.idna_to_ascii(unicode) == label.encode("ascii")


def domain_to_ascii(domain: str) -> str:
    """A domain mapped as browsers map hosts (UTS #46 non-transitional, the URL Standard's
    "domain to ASCII"), if it is a valid domain; else SecurityError. No trailing dot."""
    mapped = ada_url.idna_to_ascii(domain).decode("ascii") if domain else ""
    if not mapped:
        raise _security_error(f"{domain!r} is not a valid domain")
    if mapped.endswith("."):
        raise _security_error(f"{domain!r} ends in a dot")
    labels = mapped.split(".")
    if len(mapped) > MAX_DOMAIN_LENGTH or not all(_valid_label(label) for label in labels):
        raise _security_error(f"{domain!r} is not a valid domain")
    return mapped


def _parse_url(origin: str) -> ada_url.URL:
    try:
        return ada_url.URL(origin)
    except ValueError:
        raise _security_error(f"{origin!r} is not a valid origin") from None


@functools.lru_cache(maxsize=512)
def parse_origin(origin: str) -> Origin:
    """Parse a serialized origin and check that WebAuthn may run in it (SecurityError if not).

    Only an origin exactly as the URL Standard serializes it is accepted (a browser sends no
    other): anything the parser would drop or change -- a path, userinfo, a default port,
    uppercase, a Unicode host -- is refused, naming the serialized form."""
    if not isinstance(origin, str) or not origin:
        raise _security_error("the origin is missing")
    url = _parse_url(origin)
    scheme = url.protocol.removesuffix(":")
    if scheme not in DEFAULT_PORTS or not url.hostname:
        raise _security_error(f"{origin!r} is not an https origin (or http on localhost)")
    serialized = url.origin
    if serialized != origin:
        raise _security_error(
            f"{origin!r} is not a serialized origin (scheme://host[:port], nothing else): "
            f"the URL Standard reads it as {serialized!r}"
        )
    if url.host_type == ada_url.HostType.IPV6:
        host = url.hostname[1:-1]
    elif url.host_type == ada_url.HostType.IPV4:
        host = url.hostname
    else:
        host = domain_to_ascii(url.hostname)
    if scheme == "http" and not (host in LOOPBACK_HOSTS or host.endswith(".localhost")):
        raise _security_error(f"{origin!r} is not a secure context (http is only for localhost)")
    return Origin(scheme, host, int(url.port) if url.port else None)


def effective_domain(origin: Origin) -> str:
    """The default rpId: the origin's host."""
    return origin.host


@functools.lru_cache(maxsize=512)
def check_rp_id(rp_id: str, origin: Origin) -> str:
    """Return ``rp_id`` in its host form (lowercase ASCII) if ``origin`` may claim it, else raise
    SecurityError naming both."""
    where = f"rpId {rp_id!r} is not allowed for origin {origin.serialize()!r}"
    if not isinstance(rp_id, str) or not rp_id:
        raise _security_error(f"{where}: empty rpId")
    host = origin.host
    try:
        candidate = str(ipaddress.ip_address(rp_id)) if _is_ip(rp_id) else domain_to_ascii(rp_id)
    except WebAuthnError:
        raise _security_error(f"{where}: {rp_id!r} is not a valid domain") from None
    if candidate == host:
        return candidate
    if origin.is_ip or _is_ip(candidate):
        raise _security_error(f"{where}: an IP address only matches itself")
    if not host.endswith("." + candidate):
        raise _security_error(f"{where}: not a suffix of the host on a label boundary")
    psl = _public_suffix_list()
    if psl.is_public(candidate):
        raise _security_error(f"{where}: {candidate!r} is a public suffix")
    host_suffix = psl.publicsuffix(host)
    if host_suffix is None or host_suffix == candidate or host_suffix.endswith("." + candidate):
        raise _security_error(f"{where}: {candidate!r} is within a public suffix")
    return candidate


def resolve_rp_id(rp_id: str | None, origin: Origin) -> str:
    """The rpId of a ceremony: the one the page asked for (checked), else the origin's host."""
    if rp_id is None:
        return effective_domain(origin)
    return check_rp_id(rp_id, origin)
