"""The daemon's edges declare each request's parameters once, as a typed ``@parameters`` class
(issue 23): its fields' types, defaults and JSON names are the schema that checks requests, fills
/openapi.json and documents the socket. These tests hold the class and its schema to each other,
and keep base64url decoding strict and at the edges."""

from __future__ import annotations

import ast
import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from vauth import inputs
from vauth.app.device import CAPABILITIES, Configuration
from vauth.daemon.actions import ACTIONS
from vauth.daemon.api import schemas
from vauth.inputs import InvalidInput, parse, schema

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "native_host/PROTOCOL.md"
BODIES = [
    schemas.Configuration,
    schemas.UserVerified,
    schemas.Ceremony,
    schemas.OverrideBits,
    schemas.PresenceSimulation,
    schemas.Failure,
    schemas.CredentialProperties,
]
CLASSES = sorted({a.params for a in ACTIONS.values()} | set(BODIES), key=lambda c: c.__name__)
# The Python type each kind of member becomes in a parameters class.
PYTHON: list[tuple[inputs.Kind, Any]] = [
    (inputs.STRING, str),
    (inputs.BOOLEAN, bool),
    (inputs.INTEGER, int),
    (inputs.NUMBER, float),
    (inputs.OBJECT, dict[str, Any]),
    (inputs.INTEGER_OR_STRING, int | str),
    (inputs.B64URL, bytes),
    (inputs.BASE64, bytes),
    (inputs.B64URLS, tuple[bytes, ...]),
    (inputs.STRINGS, list[str]),
]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_parameters_class_and_its_schema_agree(cls: type[object]) -> None:
    """Names, defaults, requiredness and types: a member is required exactly when its field has
    no default, a default is a value the member could take, and the field's type is the kind's
    (with None when the member may be null or left out without a default value)."""
    declared = schema(cls)
    names = [spec.name for spec in declared]
    assert len(set(names)) == len(names), names
    hints = typing.get_type_hints(cls)
    for attribute, spec in zip(dataclasses.fields(cls), declared, strict=True):  # type: ignore[arg-type]
        has_default = attribute.default is not dataclasses.MISSING
        assert spec.required is not has_default, spec.name
        if has_default:
            assert spec.default == attribute.default, spec.name
            if attribute.default is not None:
                spec.check(attribute.default)
        expected: Any = next(python for kind, python in PYTHON if kind is spec.kind)
        if spec.nullable or (has_default and attribute.default is None):
            expected = expected | None
        assert _same_type(hints[attribute.name], expected), (spec.name, hints[attribute.name])


def _same_type(left: Any, right: Any) -> bool:
    if isinstance(left, types.UnionType):
        left = frozenset(typing.get_args(left))
    if isinstance(right, types.UnionType):
        right = frozenset(typing.get_args(right))
    return bool(left == right)


def test_a_parameters_class_builds_typed_values_with_its_defaults() -> None:
    built = parse(ACTIONS["audit"].params, {"credentialId": "AAEC"})
    assert (built.credential_id, built.limit) == (b"\x00\x01\x02", 100)  # type: ignore[attr-defined]
    answer = parse(ACTIONS["prompts.answer"].params, {"id": "x", "approve": True})
    assert (answer.verified, answer.selected) == (None, None)  # type: ignore[attr-defined]
    bits = parse(schemas.OverrideBits, {"isBadUV": True})
    assert (bits.is_bogus_signature, bits.is_bad_uv, bits.is_bad_up) == (False, True, False)


def test_the_configuration_declares_each_cdp_switch_once() -> None:
    """CDP's extension switches are members of the configuration, each left as is when absent."""
    declared = {f.name for f in schema(Configuration) if f.name.startswith("has")}
    assert declared - {"hasResidentKey", "hasUserVerification"} == set(CAPABILITIES)
    on = parse(Configuration, {"hasPrf": True, "hasLargeBlob": False})
    assert on.capabilities() == {"hasPrf": True, "hasLargeBlob": False}
    assert Configuration().capabilities() == {}


@pytest.mark.parametrize(
    "text", ["AAEC!!AwQ", "AAECAw==", "AAEC+w", "AAEC/w", "AAEC Aw", "A", "\u00e9AAA"]
)
def test_base64url_members_are_decoded_strictly_naming_the_member(text: str) -> None:
    """RFC 4648 section 5 without padding, as the schema's pattern documents it: a character
    outside the URL-safe alphabet, padding, '+' or '/', or an impossible length is refused."""
    with pytest.raises(InvalidInput) as refused:
        parse(ACTIONS["credentials.show"].params, {"credentialId": text})
    assert refused.value.field == "credentialId"
    assert refused.value.message == "credentialId must be a base64url string (unpadded)"


def test_a_class_whose_field_names_no_member_is_refused() -> None:
    with pytest.raises(TypeError, match="names no JSON member"):

        @inputs.parameters
        class Loose:
            value: int = 1


# Calls that decode base64 of either alphabet, and the keyword that makes each strict; a call
# without it guesses (urlsafe_b64decode has no strict mode at all).
_DECODERS = {"b64decode": "validate", "a2b_base64": "strict_mode", "urlsafe_b64decode": None}


def _lenient_decodes(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", None))
        if name not in _DECODERS:
            continue
        strict = _DECODERS[name]
        flags = {k.arg: k.value for k in node.keywords}
        value = flags.get(strict) if strict else None
        if not (isinstance(value, ast.Constant) and value.value is True):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def test_nothing_decodes_base64_leniently() -> None:
    """Issue 23: "AAEC!!AwQ" decoded, by a helper that padded and called urlsafe_b64decode. Every
    decoder in vauth/ and native_host/ is now strict, and the daemon's edges decode only through
    vauth.inputs (its base64url members become bytes there, before any handler runs)."""
    sources = [*(ROOT / "vauth").rglob("*.py"), *(ROOT / "native_host").rglob("*.py")]
    assert [hit for path in sources for hit in _lenient_decodes(path)] == []


def test_the_edges_leave_decoding_to_the_schema() -> None:
    edges = [
        ROOT / "vauth/daemon/actions.py",
        ROOT / "vauth/app/operations.py",
        ROOT / "vauth/app/service.py",
    ]
    edges += list((ROOT / "vauth/daemon/api").rglob("*.py"))
    for path in edges:
        text = path.read_text()
        assert "base64url.decode" not in text and "b64decode" not in text, path


def _documented_params() -> dict[str, dict[str, bool]]:
    """native_host/PROTOCOL.md's action tables: action -> {member: may be left out}."""
    rows = re.findall(r"^\| `([\w.]+)` \| (none|`\{(.*?)\}`)", PROTOCOL.read_text(), re.MULTILINE)
    documented = {}
    for action, cell, inner in rows:
        members = {}
        for part in inner.split(",") if cell != "none" else ():
            found = re.match(r"\s*(\w+)(\?)?(?::|$)", part)
            if found:  # not a note such as "default 25"
                members[found.group(1)] = bool(found.group(2))
        documented[action] = members
    return documented


def test_the_protocol_documents_each_action_with_its_declared_members() -> None:
    """PROTOCOL.md names every member an action's parameters class declares, and no other; a
    member marked `?` there may be left out (it has a default)."""
    documented = _documented_params()
    for name, action in ACTIONS.items():
        declared = {spec.name: spec for spec in action.fields}
        assert set(documented[name]) == set(declared), name
        for member, optional in documented[name].items():
            assert not (optional and declared[member].required), f"{name}.{member}"


def test_mypy_checks_each_handler_against_its_parameters_class(tmp_path: Path) -> None:
    """A handler reads its typed params: mypy --strict refuses a member the class does not
    declare, and a value of the wrong type for the operation (no Any reaches a handler)."""
    from mypy import api

    snippet = tmp_path / "handlers.py"
    snippet.write_text(
        "from vauth.daemon.actions import Action, OneCredential, Site\n"
        "Action(OneCredential, lambda s, o, p: o.passkeys.rename(p.credential_id, p.nick, None))\n"
        "Action(Site, lambda s, o, p: o.passkeys.show(p.rp_id))\n"
    )
    config = str(ROOT / "pyproject.toml")
    out, _, status = api.run([str(snippet), "--strict", "--config-file", config])
    assert status == 1
    assert '"OneCredential" has no attribute "nick"' in out, out
    assert 'incompatible type "str | None"; expected "bytes"' in out, out
