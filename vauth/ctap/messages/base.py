"""The one base of the CTAP message types: each field names its CBOR key in its metadata, as
python-fido2's data classes do (``member(Key.RP_ID, TEXT, "rpId")``), and the base encodes it,
reads a response back as a client does and parses a request strictly (CTAP 2.1 sections 6 and 8).

A member's codec says how its Python value is carried: as it is (``BYTES``, ``TEXT``, ...) or
reshaped (a credential ID inside a PublicKeyCredentialDescriptor, a tuple as an array). An
encoder that returns None leaves the member out, as an empty list or map is left out.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from vauth.ctap.parse import descriptor
from vauth.ctap.status import CtapError, CtapStatus

PUBLIC_KEY = "public-key"
_MISSING: Any = object()  # absent, or of the wrong type, in a response read back


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Codec:
    """How one member's value is carried.

    ``encode``: the value as CBOR (None: leave the member out). ``read``: a value from any
    authenticator, leniently (``_MISSING`` if it has the wrong shape). ``parse``: a value in a
    request, strictly (CtapError naming ``what``)."""

    encode: Callable[[Any], Any]
    read: Callable[[Any], Any]
    parse: Callable[[Any, str], Any]


def _kind(kind: type) -> Codec:
    """A member carried as it is, of CBOR type ``kind`` (an int is never a bool)."""

    def read(value: Any) -> Any:
        return value if type(value) is kind else _MISSING

    def parse(value: Any, what: str) -> Any:
        if type(value) is kind:
            return value
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CtapError(CtapStatus.CBOR_UNEXPECTED_TYPE, f"{what} has the wrong type")
        return value

    return Codec(_same, read, parse)


BYTES = _kind(bytes)
TEXT = _kind(str)
INT = _kind(int)
BOOL = _kind(bool)
MAP = _kind(dict)


def _descriptor_read(value: Any) -> Any:
    credential_id = value.get("id") if type(value) is dict else None
    return credential_id if type(credential_id) is bytes else _MISSING


# A credential ID, carried as a PublicKeyCredentialDescriptor.
DESCRIPTOR = Codec(
    lambda credential_id: {"id": credential_id, "type": PUBLIC_KEY},
    _descriptor_read,
    lambda value, what: descriptor(value, what)[1],
)


LIST = _kind(list)


def _descriptors_parse(value: Any, what: str) -> tuple[tuple[str, bytes], ...]:
    entries = LIST.parse(value, what)
    return tuple(descriptor(entry, f"{what}[{i}]") for i, entry in enumerate(entries))


# PublicKeyCredentialDescriptors as (type, id) pairs; an empty list is left out.
DESCRIPTORS = Codec(
    lambda pairs: [{"id": i, "type": t} for t, i in pairs] or None,
    lambda value: _MISSING,  # no response carries one
    _descriptors_parse,
)


def _strings_read(value: Any) -> Any:
    return tuple(v for v in value if type(v) is str) if type(value) is list else _MISSING


def _ints_read(value: Any) -> Any:
    return tuple(v for v in value if type(v) is int) if type(value) is list else _MISSING


def _unparsed(value: Any, what: str) -> Any:
    raise CtapError(CtapStatus.INVALID_PARAMETER, f"{what} is not a request member")


# Tuples carried as arrays (an empty one left out); read leniently, item by item.
STRINGS = Codec(lambda items: list(items) or None, _strings_read, _unparsed)
INTS = Codec(lambda items: list(items) or None, _ints_read, _unparsed)


def _text_map_parse(value: Any, what: str) -> dict[str, Any]:
    raw: dict[Any, Any] = MAP.parse(value, what)
    for name in raw:
        TEXT.parse(name, "extension identifier")
    return raw


def _options_parse(value: Any, what: str) -> dict[str, bool]:
    raw: dict[Any, Any] = MAP.parse(value, what)
    for name, option in raw.items():
        TEXT.parse(name, "option name")
        BOOL.parse(option, f"option {name!r}")
    return raw


def _options_read(value: Any) -> Any:
    if type(value) is not dict:
        return _MISSING
    return {k: v for k, v in value.items() if type(k) is str and type(v) is bool}


def canonical_options(options: dict[str, bool]) -> dict[str, bool] | None:
    """Text keys in CTAP2 canonical order: shorter first, then bytewise (section 8)."""
    if not options:
        return None
    return dict(sorted(options.items(), key=lambda item: (len(item[0].encode()), item[0].encode())))


# The extensions map: text identifiers, each input its extension's to parse.
EXTENSIONS = Codec(lambda value: value or None, MAP.read, _text_map_parse)
# The options map of a request: text keys, boolean values (unknown ones kept, then ignored).
OPTIONS = Codec(lambda value: value or None, _options_read, _options_parse)
# getInfo's options, sent in canonical order.
INFO_OPTIONS = Codec(canonical_options, _options_read, _unparsed)


@dataclass(frozen=True, slots=True)
class Member:
    """One field of a message, as its metadata declares it."""

    name: str
    key: int
    codec: Codec
    what: str  # the spec's name, for errors
    within: str | None  # a member of the entity map at ``key`` (rp.id, user.name, ...)
    required: bool
    default: Callable[[], Any]
    absent: Any  # what a response read back without a required member gets (_MISSING: None)


def member(
    key: int,
    codec: Codec,
    what: str,
    *,
    within: str | None = None,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
    absent: Any = _MISSING,
) -> Any:
    """A message field carried at CBOR key ``key`` (or as member ``within`` of the map there)."""
    metadata = {"cbor": (key, codec, what, within, absent)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def maybe(key: int, codec: Codec, what: str, *, within: str | None = None) -> Any:
    """A member that may be absent (None)."""
    return member(key, codec, what, within=within, default=None)


def _canonical_text(name: str | None) -> tuple[int, bytes]:
    raw = (name or "").encode()
    return len(raw), raw


def _members(cls: type) -> tuple[Member, ...]:
    found = []
    for field in dataclasses.fields(cls):
        key, codec, what, within, absent = field.metadata["cbor"]
        default: Callable[[], Any] = _missing
        if field.default is not dataclasses.MISSING:
            default = functools.partial(_same, field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory
        required = default is _missing
        found.append(Member(field.name, key, codec, what, within, required, default, absent))
    # Canonical order: integer keys ascending, an entity's text members shorter first.
    return tuple(sorted(found, key=lambda m: (m.key, _canonical_text(m.within))))


def _missing() -> Any:
    return _MISSING


class Message:
    """A CTAP request or response whose fields carry their CBOR keys (see :func:`member`)."""

    __slots__ = ()
    _schema: ClassVar[dict[type, tuple[Member, ...]]] = {}

    @classmethod
    def members(cls) -> tuple[Member, ...]:
        """The members in canonical key order (worked out once per type)."""
        schema = Message._schema.get(cls)
        if schema is None:
            schema = Message._schema[cls] = _members(cls)
        return schema

    def to_cbor(self) -> dict[int, Any]:
        """The message map: members present, keys (and an entity's members) in canonical
        order, so that a response encodes without reordering."""
        result: dict[int, Any] = {}
        for m in self.members():
            value = getattr(self, m.name)
            if value is None:
                continue
            if m.codec.encode is not _same:
                value = m.codec.encode(value)
                if value is None:
                    continue
            if m.within is None:
                result[m.key] = value
            else:
                result.setdefault(m.key, {})[m.within] = value
        return result


class Request(Message):
    """A request an authenticator parses strictly: a missing member is MISSING_PARAMETER, one of
    the wrong type CBOR_UNEXPECTED_TYPE, read in key order (which decides the error a request
    with several faults gets). A request with another order overrides ``from_cbor``."""

    __slots__ = ()

    @classmethod
    def from_cbor(cls, params: dict[Any, Any]) -> Self:
        values = {}
        for m in cls.members():
            if m.key in params:
                values[m.name] = m.codec.parse(params[m.key], m.what)
            elif m.required:
                raise CtapError(CtapStatus.MISSING_PARAMETER, f"{m.what} is missing")
            else:
                values[m.name] = m.default()
        return cls(**values)


class Response(Message):
    """A response as a client reads it from any authenticator: a member of the wrong type is
    taken as absent, and a required one absent makes the whole response malformed (None)."""

    __slots__ = ()

    @classmethod
    def from_cbor(cls, body: dict[Any, Any]) -> Self | None:
        return cls.read(body)

    @classmethod
    def read(cls, body: dict[Any, Any]) -> Self | None:
        """The members read leniently (``from_cbor`` unless a type overrides it)."""
        values = {}
        for m in cls.members():
            value = body.get(m.key, _MISSING)
            if value is not _MISSING:
                value = m.codec.read(value)
            if value is _MISSING:
                if not m.required:
                    continue
                if m.absent is _MISSING:
                    return None
                value = m.absent
            values[m.name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class EmptyResponse(Response):
    """What a command that answers with its status alone answers (a largeBlobs set, ...)."""
