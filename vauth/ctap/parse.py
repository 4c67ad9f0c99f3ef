"""Strict typed access to decoded CBOR parameters, with the status codes CTAP names.

A required parameter that is absent gives MISSING_PARAMETER; one of the wrong CBOR type gives
CBOR_UNEXPECTED_TYPE (CTAP 2.1 section 6, "Authenticator API": "parse first").
"""

from __future__ import annotations

from typing import Any, TypeVar

from vauth.ctap.status import CtapError, CtapStatus

T = TypeVar("T")


def _typed(value: Any, kind: type[T] | tuple[type, ...], what: str) -> T:
    if type(value) is kind:  # the common case, decided without isinstance
        return value
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise CtapError(CtapStatus.CBOR_UNEXPECTED_TYPE, f"{what} has the wrong type")
    return value  # type: ignore[return-value]


def typed(value: Any, kind: type[T], what: str) -> T:
    """A value that is not a map member (a list item, an extension input) of the type ``kind``."""
    return _typed(value, kind, what)


def required(params: dict[Any, Any], key: Any, kind: type[T], what: str) -> T:
    if key not in params:
        raise CtapError(CtapStatus.MISSING_PARAMETER, f"{what} is missing")
    return _typed(params[key], kind, what)


def optional(params: dict[Any, Any], key: Any, kind: type[T], what: str) -> T | None:
    if key not in params:
        return None
    return _typed(params[key], kind, what)


def present(value: T | None, what: str) -> T:
    """A parsed optional member that this step requires: MISSING_PARAMETER if it is absent."""
    if value is None:
        raise CtapError(CtapStatus.MISSING_PARAMETER, f"{what} is missing")
    return value


def options(params: dict[Any, Any], key: Any) -> dict[str, bool]:
    """The options map: text keys with boolean values (unknown options are kept, then ignored)."""
    raw = optional(params, key, dict, "options")
    if raw is None:
        return {}
    for name, value in raw.items():
        _typed(name, str, "option name")
        _typed(value, bool, f"option {name!r}")
    return raw


def extension_map(params: dict[Any, Any], key: Any) -> dict[str, Any]:
    """The extensions map: text identifiers; their inputs are each extension's to parse."""
    raw: dict[str, Any] = optional(params, key, dict, "extensions") or {}
    for name in raw:
        _typed(name, str, "extension identifier")
    return raw


def descriptor(value: Any, what: str) -> tuple[str, bytes]:
    """A PublicKeyCredentialDescriptor: (type, id); transports are checked and dropped."""
    entry = _typed(value, dict, what)
    kind = required(entry, "type", str, f"{what}.type")
    credential_id = required(entry, "id", bytes, f"{what}.id")
    transports = optional(entry, "transports", list, f"{what}.transports")
    for transport in transports or ():
        _typed(transport, str, f"{what}.transports[]")
    return kind, credential_id


def descriptor_list(params: dict[Any, Any], key: Any, what: str) -> list[tuple[str, bytes]] | None:
    raw = optional(params, key, list, what)
    if raw is None:
        return None
    return [descriptor(item, f"{what}[{i}]") for i, item in enumerate(raw)]
