"""What arrives at the daemon's edges (the Unix socket, the HTTP API): JSON decoded within
bounds, and request members checked against declared fields.

Both edges decode with ``loads`` and check with ``check``; either failure is an ``InvalidInput``
whose ``field`` names what was wrong, which each edge answers as its own structured error
("bad_message" or "invalid argument"), never as an internal error.

A request's parameters are declared once, as a ``@parameters`` class: each field is typed, has
its default (if any) on it, and names its JSON member with ``param(...)``. ``schema`` derives the
declared members from the class (for checking, /openapi.json and the docs), and ``parse`` checks
a request against them and builds the typed object, so a handler gets values (base64url already
decoded into bytes, strictly) and never reads a member by its JSON name.
"""

from __future__ import annotations

import binascii
import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass
from typing import Any, TypeVar, dataclass_transform

from vauth import base64url

MAX_DEPTH = 32  # deepest nesting of arrays and objects a request may have


class InvalidInput(ValueError):
    """A request, or one of its members, that cannot be used; ``field`` names it ("" for the
    whole request)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """One JSON text, UTF-8 if bytes, nested ``max_depth`` deep at most (InvalidInput if not)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text)
    except RecursionError:
        raise InvalidInput("", f"JSON nested deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("", f"not UTF-8 JSON: {exc}") from None
    # Nesting needs an opening bracket per level: a text with few brackets needs no walk.
    if text.count("{") + text.count("[") > max_depth and _deeper_than(value, max_depth):
        raise InvalidInput("", f"JSON nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return False


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Kind:
    """A JSON type a member may have: ``accepts`` tells, ``described`` says it in words,
    ``schema`` in JSON Schema (for /openapi.json); ``convert`` makes the value a handler gets
    from one accepted (bytes from base64url)."""

    described: str
    accepts: Callable[[Any], bool]
    schema: Mapping[str, Any]
    convert: Callable[[Any], Any] = _same


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


STRING = Kind("a string", lambda v: isinstance(v, str), {"type": "string"})
BOOLEAN = Kind("a boolean", lambda v: isinstance(v, bool), {"type": "boolean"})
INTEGER = Kind("an integer", _is_int, {"type": "integer"})
NUMBER = Kind("a finite number", _is_number, {"type": "number"})
OBJECT = Kind("an object", lambda v: isinstance(v, dict), {"type": "object"})
STRINGS = Kind("an array of strings", lambda v: isinstance(v, list) and all(
    isinstance(i, str) for i in v
), {"type": "array", "items": {"type": "string"}})  # fmt: skip
INTEGER_OR_STRING = Kind(
    "an integer or a string",
    lambda v: _is_int(v) or isinstance(v, str),
    {"type": ["integer", "string"]},
)


def _is_b64url(value: Any) -> bool:
    """RFC 4648 section 5 without padding, strictly: nothing outside the URL-safe alphabet (no
    '+', '/', '=' or whitespace) and no impossible length, as the schema's pattern says."""
    if not isinstance(value, str):
        return False
    try:
        base64url.decode_unpadded(value)
    except ValueError:
        return False
    return True


def _is_base64(text: str) -> bool:
    try:
        binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


_B64URL_SCHEMA = {"type": "string", "contentEncoding": "base64url", "pattern": "^[A-Za-z0-9_-]*$"}
B64URL = Kind(
    "a base64url string (unpadded)", _is_b64url, _B64URL_SCHEMA, base64url.decode_unpadded
)
BASE64 = Kind(  # RFC 4648 section 4, padded, strictly (binascii's strict mode)
    "a base64 string",
    lambda v: isinstance(v, str) and _is_base64(v),
    {"type": "string", "contentEncoding": "base64"},
    lambda v: binascii.a2b_base64(v, strict_mode=True),
)
B64URLS = Kind(
    "an array of base64url strings (unpadded)",
    lambda v: isinstance(v, list) and all(_is_b64url(i) for i in v),
    {"type": "array", "items": _B64URL_SCHEMA},
    lambda v: tuple(base64url.decode_unpadded(i) for i in v),
)


@dataclass(frozen=True, slots=True)
class Field:
    """A request member: its name, its kind, whether it may be left out (``required``) or be
    null (``nullable``), and for numbers an inclusive range."""

    name: str
    kind: Kind
    required: bool = False
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None  # the only values a string member may have
    description: str | None = None
    default: Any = None  # what a parameters class takes when the member is left out
    secret: bool = False  # a passphrase: wiped from memory once the request has run

    def check(self, value: Any) -> None:
        if value is None and self.nullable:
            return
        if not self.kind.accepts(value) or not self._in_range(value):
            raise InvalidInput(self.name, f"{self.name} must be {self._described()}")
        if self.choices is not None and value not in self.choices:
            raise InvalidInput(
                self.name, f"{self.name} must be one of {', '.join(self.choices)}, not {value!r}"
            )

    def schema(self) -> dict[str, Any]:
        """This member in JSON Schema (OpenAPI 3.1), from the same declaration ``check`` uses."""
        schema: dict[str, Any] = dict(self.kind.schema)
        if self.choices is not None:
            schema["enum"] = list(self.choices)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.nullable:
            schema = {"oneOf": [schema, {"type": "null"}]}
        if self.description is not None:
            schema["description"] = self.description
        if not self.required and self.default is not None:
            schema["default"] = self.default
        return schema

    def read(self, value: Any) -> Any:
        """An accepted value as its parameters class holds it."""
        convert = self.kind.convert
        return value if value is None or convert is _same else convert(value)

    def _in_range(self, value: Any) -> bool:
        low = self.minimum if self.minimum is not None else -math.inf
        high = self.maximum if self.maximum is not None else math.inf
        return not _is_number(value) or low <= value <= high

    def _described(self) -> str:
        words = self.kind.described
        if self.minimum is not None and self.maximum is not None:
            words += f" from {self.minimum:g} to {self.maximum:g}"
        elif self.minimum is not None:
            words += f" of at least {self.minimum:g}"
        return words + (", or null" if self.nullable else "")


def check(members: Mapping[str, Any], fields: Sequence[Field]) -> None:
    """InvalidInput naming the first of ``fields`` given with the wrong kind, else the first
    that is missing; members not among ``fields`` are left to the caller."""
    for field in fields:
        if field.name in members:
            field.check(members[field.name])
    for field in fields:
        if field.required and field.name not in members:
            raise InvalidInput(field.name, f"{field.name} is required")


def object_schema(fields: Sequence[Field], closed: bool = False) -> dict[str, Any]:
    """A JSON object of ``fields`` in JSON Schema; ``closed``: no other members."""
    schema: dict[str, Any] = {"type": "object"}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    schema["properties"] = {f.name: f.schema() for f in fields}
    return schema


def no_unknown(members: Mapping[str, Any], fields: Sequence[Field]) -> None:
    """InvalidInput naming any member that ``fields`` do not declare."""
    unknown = sorted(set(members) - {f.name for f in fields})
    if unknown:
        raise InvalidInput(unknown[0], f"unknown members: {', '.join(unknown)}")


# -- parameters classes: each request's members declared once, typed -----------------------

_SPEC = "vauth.inputs.Field"
P = TypeVar("P")


def param(
    name: str,
    kind: Kind,
    *,
    default: Any = MISSING,
    nullable: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    description: str | None = None,
    secret: bool = False,
) -> Any:
    """A field of a ``@parameters`` class: the JSON member ``name`` of ``kind``, required
    unless it has a ``default``."""
    spec = Field(
        name,
        kind,
        required=default is MISSING,
        nullable=nullable,
        minimum=minimum,
        maximum=maximum,
        choices=choices,
        description=description,
        default=None if default is MISSING else default,
        secret=secret,
    )
    if default is MISSING:
        return dataclasses.field(metadata={_SPEC: spec})
    return dataclasses.field(default=default, metadata={_SPEC: spec})


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(param,))
def parameters(cls: type[P]) -> type[P]:
    """A request's parameters as a frozen dataclass whose every field is a ``param``."""
    made: type[P] = dataclass(frozen=True, slots=True, kw_only=True)(cls)
    for declared in dataclasses.fields(made):  # type: ignore[arg-type]
        if _SPEC not in declared.metadata:
            raise TypeError(f"{cls.__name__}.{declared.name} names no JSON member: use param()")
    return made


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a ``@parameters`` class is read: (attribute, member) pairs, and its secrets."""

    fields: tuple[Field, ...]
    members: tuple[tuple[str, Field], ...]
    secrets: tuple[str, ...]


def _plan(cls: type[object]) -> _Plan:
    found = _PLANS.get(cls)
    if found is None:
        declared = dataclasses.fields(cls)  # type: ignore[arg-type]
        members = tuple((f.name, f.metadata[_SPEC]) for f in declared)
        found = _PLANS[cls] = _Plan(
            tuple(spec for _, spec in members),
            members,
            tuple(name for name, spec in members if spec.secret),
        )
    return found


_PLANS: dict[type[object], _Plan] = {}


def schema(cls: type[object]) -> tuple[Field, ...]:
    """The members a ``@parameters`` class declares, in its fields' order."""
    return _plan(cls).fields


def parse(cls: type[P], members: Mapping[str, Any], closed: bool = False) -> P:
    """``members`` checked against ``cls``'s declaration (and, if ``closed``, for members it
    does not declare), as an instance of it: InvalidInput naming the first member of the wrong
    kind, else the first missing (as ``check`` does)."""
    plan = _plan(cls)
    if closed:
        no_unknown(members, plan.fields)
    values = {}
    missing = None
    for attribute, spec in plan.members:
        if spec.name in members:
            value = members[spec.name]
            spec.check(value)
            values[attribute] = spec.read(value)
        elif spec.required and missing is None:
            missing = spec
    if missing is not None:
        raise InvalidInput(missing.name, f"{missing.name} is required")
    build: Callable[..., P] = cls
    return build(**values)


def secrets_of(params: object) -> list[Any]:
    """The values of ``params``'s secret members, to wipe once the request has run."""
    return [getattr(params, name) for name in _plan(type(params)).secrets]
