"""PublicKeyCredentialCreationOptionsJSON and PublicKeyCredentialRequestOptionsJSON (WebAuthn L3
sections 5.1.4-5.1.5 "parseCreationOptionsFromJSON" / "parseRequestOptionsFromJSON", 5.4, 5.5),
parsed strictly into frozen dataclasses.

A missing or mistyped member is a TypeError naming it (``options.user.id is required``); a
base64url member that does not decode is an EncodingError. Enumerations are DOMStrings in the
spec, so an unknown value is ignored as if absent (sections 2.1.1 and 5.4.6), while a value of the
wrong JSON type is a TypeError. Unknown members and extensions are ignored, as browsers do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from vauth import base64url
from vauth.webauthn.errors import WebAuthnError

T = TypeVar("T")

PUBLIC_KEY = "public-key"
MIN_USER_ID_LENGTH = 1
MAX_USER_ID_LENGTH = 64
RESIDENT_KEY_REQUIREMENTS = frozenset({"discouraged", "preferred", "required"})
USER_VERIFICATION_REQUIREMENTS = frozenset({"discouraged", "preferred", "required"})
ATTESTATION_CONVEYANCE = frozenset({"none", "indirect", "direct", "enterprise"})
AUTHENTICATOR_ATTACHMENTS = frozenset({"platform", "cross-platform"})
LARGE_BLOB_SUPPORT = frozenset({"required", "preferred"})
# credProtect (CTAP 2.1 section 12.1): the WebAuthn policy names and their CTAP levels.
CREDENTIAL_PROTECTION_POLICIES = {
    "userVerificationOptional": 1,
    "userVerificationOptionalWithCredentialIDList": 2,
    "userVerificationRequired": 3,
}


@dataclass(frozen=True, slots=True)
class RelyingParty:
    name: str
    id: str | None


@dataclass(frozen=True, slots=True)
class User:
    id: bytes
    name: str
    display_name: str


@dataclass(frozen=True, slots=True)
class CredentialParameters:
    type: str
    alg: int


@dataclass(frozen=True, slots=True)
class CredentialDescriptor:
    type: str
    id: bytes
    transports: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AuthenticatorSelection:
    authenticator_attachment: str | None = None
    resident_key: str = "discouraged"  # already resolved from requireResidentKey when absent
    user_verification: str = "preferred"


@dataclass(frozen=True, slots=True)
class PrfValues:
    """AuthenticationExtensionsPRFValues (WebAuthn L3 10.1.4): the PRF inputs, decoded."""

    first: bytes
    second: bytes | None = None


@dataclass(frozen=True, slots=True)
class PrfInputs:
    """AuthenticationExtensionsPRFInputs. ``eval_by_credential`` keeps its keys as given
    (base64url credential IDs): get() checks them against allowCredentials."""

    eval: PrfValues | None = None
    eval_by_credential: Mapping[str, PrfValues] | None = None


@dataclass(frozen=True, slots=True)
class LargeBlobInputs:
    """AuthenticationExtensionsLargeBlobInputs (WebAuthn L3 10.1.5)."""

    support: str | None = None  # "required" or "preferred"; an unknown value is absent
    read: bool | None = None
    write: bytes | None = None


@dataclass(frozen=True, slots=True)
class CreationExtensions:
    cred_props: bool = False
    credential_protection_policy: str | None = None
    enforce_credential_protection_policy: bool = False
    prf: PrfInputs | None = None
    large_blob: LargeBlobInputs | None = None
    cred_blob: bytes | None = None  # CTAP 2.1 section 12.2
    min_pin_length: bool = False  # CTAP 2.1 section 12.4


@dataclass(frozen=True, slots=True)
class RequestExtensions:
    prf: PrfInputs | None = None
    large_blob: LargeBlobInputs | None = None
    get_cred_blob: bool = False  # CTAP 2.1 section 12.2


@dataclass(frozen=True, slots=True)
class CreationOptions:
    """PublicKeyCredentialCreationOptions with base64url members decoded."""

    rp: RelyingParty
    user: User
    challenge: bytes
    pub_key_cred_params: tuple[CredentialParameters, ...]
    timeout: int | None = None
    exclude_credentials: tuple[CredentialDescriptor, ...] = ()
    authenticator_selection: AuthenticatorSelection = AuthenticatorSelection()
    hints: tuple[str, ...] = ()
    attestation: str = "none"
    attestation_formats: tuple[str, ...] = ()
    extensions: CreationExtensions = CreationExtensions()


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """PublicKeyCredentialRequestOptions with base64url members decoded."""

    challenge: bytes
    timeout: int | None = None
    rp_id: str | None = None
    allow_credentials: tuple[CredentialDescriptor, ...] = ()
    user_verification: str = "preferred"
    hints: tuple[str, ...] = ()
    extensions: RequestExtensions = RequestExtensions()


# -- typed member access -------------------------------------------------------------------------

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    list: "an array",
    dict: "an object",
}


def _type_error(message: str) -> WebAuthnError:
    return WebAuthnError("TypeError", message)


def _check(value: Any, kind: type[T], path: str) -> T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _type_error(f"{path} must be {_TYPE_NAMES[kind]}")
    return value


# _required and _optional: a member of exactly the wanted type is returned at once; only
# anything else pays for the checked path and its name (a bool is never taken for an int).


def _required(obj: dict[str, Any], key: str, kind: type[T], path: str) -> T:
    value = obj.get(key)
    if value is None:
        raise _type_error(f"{path}.{key} is required")
    if type(value) is kind:
        return value
    return _check(value, kind, f"{path}.{key}")


def _optional(obj: dict[str, Any], key: str, kind: type[T], path: str) -> T | None:
    value = obj.get(key)
    if value is None or type(value) is kind:
        return value
    return _check(value, kind, f"{path}.{key}")


def _enum(obj: dict[str, Any], key: str, allowed: frozenset[str], path: str) -> str | None:
    """A DOMString enumeration member: None when absent or not one of ``allowed``."""
    value = _optional(obj, key, str, path)
    return value if value in allowed else None


def _bytes(obj: dict[str, Any], key: str, path: str) -> bytes:
    text = _required(obj, key, str, path)
    try:
        return base64url.decode(text)
    except ValueError:
        raise WebAuthnError("EncodingError", f"{path}.{key} is not base64url") from None


def _optional_bytes(obj: dict[str, Any], key: str, path: str) -> bytes | None:
    return None if obj.get(key) is None else _bytes(obj, key, path)


def _strings(obj: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
    items = _optional(obj, key, list, path)
    if not items:
        return ()
    return tuple(_check(item, str, f"{path}.{key}[{i}]") for i, item in enumerate(items))


def _timeout(obj: dict[str, Any], path: str) -> int | None:
    value = obj.get("timeout")
    if value is None:
        return None
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return int(value)  # WebIDL unsigned long: a whole number of milliseconds
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _type_error(f"{path}.timeout must be a non-negative integer")


def _unwrap(options: dict[str, Any] | str) -> dict[str, Any]:
    """Accept a dict or JSON text, bare or wrapped as ``{"publicKey": {...}}``."""
    if isinstance(options, str):
        try:
            options = json.loads(options)
        except ValueError:
            raise _type_error("options are not valid JSON") from None
    options = _check(options, dict, "options")
    if "publicKey" in options:
        options = _check(options["publicKey"], dict, "options.publicKey")
    return options


def _descriptors(obj: dict[str, Any], key: str, path: str) -> tuple[CredentialDescriptor, ...]:
    items = _optional(obj, key, list, path) or []
    result = []
    for i, item in enumerate(items):
        where = f"{path}.{key}[{i}]"
        entry = _check(item, dict, where)
        transports = _strings(entry, "transports", where) if "transports" in entry else None
        result.append(
            CredentialDescriptor(
                type=_required(entry, "type", str, where),
                id=_bytes(entry, "id", where),
                transports=transports,
            )
        )
    return tuple(result)


# -- creation ------------------------------------------------------------------------------------


def _rp(options: dict[str, Any]) -> RelyingParty:
    rp = _required(options, "rp", dict, "options")
    return RelyingParty(
        name=_required(rp, "name", str, "options.rp"),
        id=_optional(rp, "id", str, "options.rp"),
    )


def _user(options: dict[str, Any]) -> User:
    user = _required(options, "user", dict, "options")
    user_id = _bytes(user, "id", "options.user")
    if not MIN_USER_ID_LENGTH <= len(user_id) <= MAX_USER_ID_LENGTH:
        raise _type_error(f"options.user.id must be 1 to 64 bytes long, not {len(user_id)}")
    return User(
        id=user_id,
        name=_required(user, "name", str, "options.user"),
        display_name=_required(user, "displayName", str, "options.user"),
    )


def _pub_key_cred_params(options: dict[str, Any]) -> tuple[CredentialParameters, ...]:
    params = _required(options, "pubKeyCredParams", list, "options")
    result = []
    for i, item in enumerate(params):
        where = f"options.pubKeyCredParams[{i}]"
        entry = _check(item, dict, where)
        result.append(
            CredentialParameters(
                type=_required(entry, "type", str, where),
                alg=_required(entry, "alg", int, where),
            )
        )
    return tuple(result)


def _selection(options: dict[str, Any]) -> AuthenticatorSelection:
    path = "options.authenticatorSelection"
    selection = _optional(options, "authenticatorSelection", dict, "options") or {}
    require_resident_key = _optional(selection, "requireResidentKey", bool, path) or False
    resident_key = _enum(selection, "residentKey", RESIDENT_KEY_REQUIREMENTS, path)
    if resident_key is None:  # L3 5.4.4: requireResidentKey decides only when residentKey is absent
        resident_key = "required" if require_resident_key else "discouraged"
    return AuthenticatorSelection(
        authenticator_attachment=_enum(
            selection, "authenticatorAttachment", AUTHENTICATOR_ATTACHMENTS, path
        ),
        resident_key=resident_key,
        user_verification=(
            _enum(selection, "userVerification", USER_VERIFICATION_REQUIREMENTS, path)
            or "preferred"
        ),
    )


def _creation_extensions(options: dict[str, Any]) -> CreationExtensions:
    path = "options.extensions"
    extensions = _optional(options, "extensions", dict, "options") or {}
    return CreationExtensions(
        cred_props=_optional(extensions, "credProps", bool, path) or False,
        credential_protection_policy=_enum(
            extensions,
            "credentialProtectionPolicy",
            frozenset(CREDENTIAL_PROTECTION_POLICIES),
            path,
        ),
        enforce_credential_protection_policy=(
            _optional(extensions, "enforceCredentialProtectionPolicy", bool, path) or False
        ),
        prf=_prf(extensions, path),
        large_blob=_large_blob(extensions, path),
        cred_blob=_optional_bytes(extensions, "credBlob", path),
        min_pin_length=_optional(extensions, "minPinLength", bool, path) or False,
    )


def _prf_values(value: Any, path: str) -> PrfValues:
    values = _check(value, dict, path)
    return PrfValues(
        first=_bytes(values, "first", path), second=_optional_bytes(values, "second", path)
    )


def _prf(extensions: dict[str, Any], path: str) -> PrfInputs | None:
    prf = _optional(extensions, "prf", dict, path)
    if prf is None:
        return None
    where = f"{path}.prf"
    eval_ = prf.get("eval")
    by_credential = _optional(prf, "evalByCredential", dict, where)
    return PrfInputs(
        eval=None if eval_ is None else _prf_values(eval_, f"{where}.eval"),
        eval_by_credential=None
        if by_credential is None
        else {
            key: _prf_values(value, f"{where}.evalByCredential[{key!r}]")
            for key, value in by_credential.items()
        },
    )


def _large_blob(extensions: dict[str, Any], path: str) -> LargeBlobInputs | None:
    large_blob = _optional(extensions, "largeBlob", dict, path)
    if large_blob is None:
        return None
    where = f"{path}.largeBlob"
    return LargeBlobInputs(
        support=_enum(large_blob, "support", LARGE_BLOB_SUPPORT, where),
        read=_optional(large_blob, "read", bool, where),
        write=_optional_bytes(large_blob, "write", where),
    )


def parse_creation_options(options: dict[str, Any] | str | CreationOptions) -> CreationOptions:
    """PublicKeyCredentialCreationOptionsJSON (or the ``{"publicKey": ...}`` wrapper, or JSON
    text) to :class:`CreationOptions`."""
    if isinstance(options, CreationOptions):
        return options
    raw = _unwrap(options)
    return CreationOptions(
        rp=_rp(raw),
        user=_user(raw),
        challenge=_bytes(raw, "challenge", "options"),
        pub_key_cred_params=_pub_key_cred_params(raw),
        timeout=_timeout(raw, "options"),
        exclude_credentials=_descriptors(raw, "excludeCredentials", "options"),
        authenticator_selection=_selection(raw),
        hints=_strings(raw, "hints", "options"),
        attestation=_enum(raw, "attestation", ATTESTATION_CONVEYANCE, "options") or "none",
        attestation_formats=_strings(raw, "attestationFormats", "options"),
        extensions=_creation_extensions(raw),
    )


# -- request -------------------------------------------------------------------------------------


_NO_REQUEST_EXTENSIONS = RequestExtensions()


def _request_extensions(options: dict[str, Any]) -> RequestExtensions:
    path = "options.extensions"
    extensions = _optional(options, "extensions", dict, "options")
    if not extensions:  # absent or {}: the common case, parsed once
        return _NO_REQUEST_EXTENSIONS
    return RequestExtensions(
        prf=_prf(extensions, path),
        large_blob=_large_blob(extensions, path),
        get_cred_blob=_optional(extensions, "getCredBlob", bool, path) or False,
    )


def parse_request_options(options: dict[str, Any] | str | RequestOptions) -> RequestOptions:
    """PublicKeyCredentialRequestOptionsJSON (or the ``{"publicKey": ...}`` wrapper, or JSON
    text) to :class:`RequestOptions`."""
    if isinstance(options, RequestOptions):
        return options
    raw = _unwrap(options)
    return RequestOptions(
        challenge=_bytes(raw, "challenge", "options"),
        timeout=_timeout(raw, "options"),
        rp_id=_optional(raw, "rpId", str, "options"),
        allow_credentials=_descriptors(raw, "allowCredentials", "options"),
        user_verification=(
            _enum(raw, "userVerification", USER_VERIFICATION_REQUIREMENTS, "options") or "preferred"
        ),
        hints=_strings(raw, "hints", "options"),
        extensions=_request_extensions(raw),
    )
