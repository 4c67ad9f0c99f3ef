"""What arrives at the daemon's edges (the Unix socket, the HTTP API): JSON decoded within
bounds, and request members checked against declared fields.

Both edges decode with ``loads`` and check with ``check``; either failure is an ``InvalidInput``
whose ``field`` names what was wrong, which each edge answers as its own structured error
("bad_message" or "invalid argument"), never as an internal error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Kind:
    """A JSON type a member may have: ``accepts`` tells, ``described`` says it in words,
    ``schema`` in JSON Schema (for /openapi.json)."""

    described: str
    accepts: Callable[[Any], bool]
    schema: Mapping[str, Any]


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
B64URL = Kind(
    "a base64url string",
    lambda v: isinstance(v, str),
    {"type": "string", "contentEncoding": "base64url", "pattern": "^[A-Za-z0-9_-]*$"},
)  # the decoding, with its own error naming the member, is the consumer's


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
        return schema

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


def check_closed(members: Mapping[str, Any], fields: Sequence[Field]) -> None:
    """``check``, and InvalidInput naming any member that ``fields`` do not declare."""
    unknown = sorted(set(members) - {f.name for f in fields})
    if unknown:
        raise InvalidInput(unknown[0], f"unknown members: {', '.join(unknown)}")
    check(members, fields)
