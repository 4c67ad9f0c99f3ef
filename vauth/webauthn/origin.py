"""Origin and rpId checks (WebAuthn L3 sections 5.1.3 and 5.1.4; HTML "is a registrable domain
suffix of or is equal to").

An origin is usable when it is a potentially trustworthy one that WebAuthn accepts: ``https`` with
any host, or ``http`` on ``localhost``, a ``*.localhost`` name, ``127.0.0.1`` or ``[::1]``. An
rpId is usable when it equals the origin's host or is a registrable suffix of it on a label
boundary that is not a public suffix (the Public Suffix List, private section included, as
browsers use it). IP-address hosts only ever match themselves.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from vauth.webauthn.errors import WebAuthnError

DEFAULT_PORTS = {"https": 443, "http": 80}
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


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


def _to_ascii(host: str) -> str:
    """Lowercase ASCII (A-label) form of a domain, or SecurityError."""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _security_error(f"{host!r} is not a valid domain") from None
    return host.lower()


@functools.lru_cache(maxsize=512)
def parse_origin(origin: str) -> Origin:
    """Parse a serialized origin and check that WebAuthn may run in it (SecurityError if not)."""
    if not isinstance(origin, str) or not origin:
        raise _security_error("the origin is missing")
    try:
        parts = urlsplit(origin)
        port = parts.port
        hostname = parts.hostname
    except ValueError:
        raise _security_error(f"{origin!r} is not a valid origin") from None
    scheme = parts.scheme.lower()
    if (
        scheme not in DEFAULT_PORTS
        or not hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        raise _security_error(f"{origin!r} is not an https origin (or http on localhost)")
    host = hostname if _is_ip(hostname) else _to_ascii(hostname)
    if host.endswith("."):
        raise _security_error(f"{origin!r} has a host ending in a dot")
    if scheme == "http" and not (host in LOOPBACK_HOSTS or host.endswith(".localhost")):
        raise _security_error(f"{origin!r} is not a secure context (http is only for localhost)")
    if port == DEFAULT_PORTS[scheme]:
        port = None
    return Origin(scheme, host, port)


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
    candidate = rp_id.lower() if rp_id.isascii() else _to_ascii(rp_id)
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
