"""The OpenAPI 3.1 description of the API, written by hand; a test keeps it and the routing
table in step."""

from __future__ import annotations

from typing import Any

from vauth import paths
from vauth.daemon.api.schemas import (
    CREDENTIAL_PARAMETERS,
    Ceremony,
    Configuration,
    CredentialProperties,
    Failure,
    OverrideBits,
    PresenceSimulation,
    UserVerified,
)
from vauth.inputs import object_schema, schema

_JSON = "application/json"
_CBOR = "application/cbor"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {_JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **_json(_ref("Error"))}


_REFUSALS: dict[str, Any] = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "421": {"$ref": "#/components/responses/MisdirectedRequest"},
}
_NO_AUTHENTICATOR = _error("no such authenticator (or credential)")
_BAD_BODY = _error("invalid argument: the body is not JSON, or not the expected shape")
_TOO_LARGE = _error("the body is larger than 1 MiB")
_NULL = {"description": "done", **_json({"type": "null"})}

_AUTHENTICATOR_ID = {
    "name": "authenticatorId",
    "in": "path",
    "required": True,
    "description": 'an id from "Add Virtual Authenticator", or "vault"',
    "schema": {"type": "string"},
}
_CREDENTIAL_ID = {
    "name": "credentialId",
    "in": "path",
    "required": True,
    "description": "base64url, unpadded",
    "schema": {"type": "string", "contentEncoding": "base64url", "pattern": "^[A-Za-z0-9_-]+$"},
}


# Whether a route applies to the vault's authenticator (id "vault" on a daemon with a vault):
# each route with an authenticatorId says so in "x-vauth-vault" and in its description.
APPLIES = "applies"  # as to any authenticator (a vault's private keys never leave it)
REFUSED = "refused"  # 400 unsupported operation (or invalid argument): a tester's control
TRASH = "trash"  # applies, but what it deletes goes to the vault's trash, with an audit record
_ON_THE_VAULT = {
    APPLIES: "On the vault: applies (a vault's private keys are never shown).",
    REFUSED: "On the vault: refused (a tester's control; the vault's passkeys are a person's).",
    TRASH: "On the vault: the passkeys go to the trash (30 days), each with an audit record.",
}
_VAULT_REFUSAL = _error("unsupported operation (or invalid argument): refused on the vault")


def _operation(
    operation_id: str,
    summary: str,
    ok: dict[str, Any],
    body: dict[str, Any] | None = None,
    path_parameters: tuple[dict[str, Any], ...] = (_AUTHENTICATOR_ID,),
    errors: dict[str, Any] | None = None,
    vault: str = APPLIES,
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok, **_REFUSALS}
    if path_parameters:
        responses["404"] = _NO_AUTHENTICATOR
    if vault == REFUSED:
        responses["400"] = _VAULT_REFUSAL
    if body is not None:
        responses |= {"400": _BAD_BODY, "413": _TOO_LARGE}
    responses |= errors or {}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": list(path_parameters),
        "responses": dict(sorted(responses.items())),
    }
    if _AUTHENTICATOR_ID in path_parameters:
        operation["description"] = _ON_THE_VAULT[vault]
        operation["x-vauth-vault"] = vault
    if body is not None:
        operation["requestBody"] = {"required": True, **body}
    return operation


_CEREMONY_ERRORS = {
    "400": _error("TypeError, NotSupportedError, ConstraintError or invalid argument"),
    "403": _error(
        "SecurityError (the rpId is foreign to the origin), NotAllowedError (refused, timed "
        "out, or no credential), or a refused request (Host, Origin)"
    ),
    "409": _error("InvalidStateError: an excluded credential is present"),
    "423": _error("vault_locked"),
}

_PATHS: dict[str, Any] = {
    "/webauthn/authenticator": {
        "post": _operation(
            "addVirtualAuthenticator",
            "Add Virtual Authenticator (WebDriver 11.1)",
            {"description": "the new authenticator", **_json(_ref("AuthenticatorId"))},
            body=_json(_ref("AuthenticatorConfiguration")),
            path_parameters=(),
        )
    },
    "/webauthn/authenticator/{authenticatorId}": {
        "delete": _operation(
            "removeVirtualAuthenticator",
            "Remove Virtual Authenticator (WebDriver 11.2); on a tester daemon, the one it "
            "started with too",
            _NULL,
            vault=REFUSED,
        )
    },
    "/webauthn/authenticator/{authenticatorId}/credential": {
        "post": _operation(
            "addCredential",
            "Add Credential (WebDriver 11.3)",
            _NULL,
            body=_json(_ref("CredentialParameters")),
        )
    },
    "/webauthn/authenticator/{authenticatorId}/credentials": {
        "get": _operation(
            "getCredentials",
            "Get Credentials (WebDriver 11.4); a vault's privateKey is left out",
            {
                "description": "every stored credential",
                **_json({"type": "array", "items": _ref("StoredCredential")}),
            },
        ),
        "delete": _operation(
            "removeAllCredentials", "Remove All Credentials (WebDriver 11.6)", _NULL, vault=TRASH
        ),
    },
    "/webauthn/authenticator/{authenticatorId}/credentials/{credentialId}": {
        "delete": _operation(
            "removeCredential",
            "Remove Credential (WebDriver 11.5)",
            _NULL,
            path_parameters=(_AUTHENTICATOR_ID, _CREDENTIAL_ID),
            vault=TRASH,
        ),
        "get": _operation(
            "getCredential",
            "CDP WebAuthn.getCredential: one stored credential",
            {"description": "the credential", **_json(_ref("StoredCredential"))},
            path_parameters=(_AUTHENTICATOR_ID, _CREDENTIAL_ID),
        ),
    },
    "/webauthn/authenticator/{authenticatorId}/credentials/{credentialId}/props": {
        "post": _operation(
            "setCredentialProperties",
            "Set Credential Properties (WebDriver), with CDP's signCount (-1: no counter, it "
            "reports 0), userName and userDisplayName",
            _NULL,
            body=_json(_ref("CredentialProperties")),
            path_parameters=(_AUTHENTICATOR_ID, _CREDENTIAL_ID),
            vault=REFUSED,
        )
    },
    "/webauthn/authenticator/{authenticatorId}/response-override-bits": {
        "post": _operation(
            "setResponseOverrideBits",
            "CDP WebAuthn.setResponseOverrideBits: the next responses carry a one-byte zero "
            "signature, or no UV or UP flag, until set again (a member left out is false)",
            _NULL,
            body=_json(_ref("ResponseOverrideBits")),
            vault=REFUSED,
        )
    },
    "/webauthn/authenticator/{authenticatorId}/fail-next": {
        "post": _operation(
            "failNext",
            "vauth: the next makeCredential or getAssertion fails with this CTAP status",
            _NULL,
            body=_json(_ref("Failure")),
            vault=REFUSED,
        )
    },
    "/webauthn/authenticator/{authenticatorId}/presence-simulation": {
        "post": _operation(
            "setAutomaticPresenceSimulation",
            "CDP WebAuthn.setAutomaticPresenceSimulation: off, requests wait for it",
            _NULL,
            body=_json(_ref("PresenceSimulation")),
            vault=REFUSED,
        )
    },
    "/webauthn/authenticator/{authenticatorId}/events": {
        "get": _operation(
            "events",
            "CDP WebAuthn's events as server-sent events: event is credentialAdded, "
            "credentialAsserted, credentialDeleted or credentialUpdated (after one `ready`), "
            "data their parameters as JSON",
            {
                "description": "an event stream",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
        )
    },
    "/webauthn/authenticator/{authenticatorId}/attestation-ca": {
        "get": _operation(
            "attestationCa",
            "vauth: the authenticator's attestation CA certificate (PEM), the trust anchor of "
            "its packed x5c attestations",
            {"description": "the CA certificate", **_json(_ref("AttestationCa"))},
        )
    },
    "/webauthn/authenticator/{authenticatorId}/uv": {
        "post": _operation(
            "setUserVerified",
            "Set User Verified (WebDriver 11.7)",
            _NULL,
            body=_json(_ref("UserVerified")),
            vault=REFUSED,
        )
    },
    "/webauthn/authenticator/{authenticatorId}/ctap": {
        "post": _operation(
            "ctap",
            "One CTAP2 message: command byte || CBOR parameters. Errors the authenticator "
            "finds in the message come back as CTAP status bytes, with HTTP 200.",
            {
                "description": "status byte || CBOR response",
                "content": {_CBOR: {"schema": {"type": "string", "contentMediaType": _CBOR}}},
            },
            body={"content": {_CBOR: {"schema": {"type": "string", "contentMediaType": _CBOR}}}},
            errors={
                "400": _error("invalid argument: an empty body"),
                "415": _error("invalid argument: the Content-Type is not application/cbor"),
            },
        )
    },
    "/webauthn/authenticator/{authenticatorId}/create": {
        "post": _operation(
            "create",
            "navigator.credentials.create() as a browser at origin would call it",
            {"description": "RegistrationResponseJSON", **_json(_ref("RegistrationResponse"))},
            body=_json(_ref("CreationRequest")),
            errors=_CEREMONY_ERRORS,
        )
    },
    "/webauthn/authenticator/{authenticatorId}/get": {
        "post": _operation(
            "get",
            "navigator.credentials.get() as a browser at origin would call it",
            {
                "description": "AuthenticationResponseJSON",
                **_json(_ref("AuthenticationResponse")),
            },
            body=_json(_ref("RequestRequest")),
            errors=_CEREMONY_ERRORS,
        )
    },
    "/openapi.json": {
        "get": _operation(
            "openapi",
            "This document",
            {"description": "OpenAPI 3.1", **_json({"type": "object"})},
            path_parameters=(),
        )
    },
}

_B64URL = {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "description": "base64url, unpadded"}


def _ceremony_response(name: str, required: list[str], response: dict[str, Any]) -> dict[str, Any]:
    """A PublicKeyCredential as JSON: ``name``'s fields around its own ``response``."""
    return {
        "type": "object",
        "description": f"{name} (WebAuthn L3)",
        "required": ["id", "rawId", "type", "response", "clientExtensionResults"],
        "properties": {
            "id": _B64URL,
            "rawId": _B64URL,
            "type": {"const": "public-key"},
            "authenticatorAttachment": {"type": "string"},
            "clientExtensionResults": {"type": "object"},
            "response": {"type": "object", "required": required, "properties": response},
        },
    }


_KEY = next(f for f in CREDENTIAL_PARAMETERS if f.name == "privateKey")  # kept in a vault
_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {
                "type": "string",
                "description": "a WebDriver error code (invalid argument, no such authenticator,"
                " unknown command, unknown method, unsupported operation, unknown error) or a "
                "DOMException name (SecurityError, NotAllowedError, InvalidStateError, "
                "NotSupportedError, ConstraintError, TypeError), or vault_locked, ...",
            },
            "message": {"type": "string"},
        },
    },
    "AuthenticatorId": {
        "type": "object",
        "required": ["authenticatorId"],
        "properties": {"authenticatorId": {"type": "string"}},
    },
    # Generated from the declarations the handlers check requests against.
    "AuthenticatorConfiguration": object_schema(schema(Configuration), closed=True),
    "CredentialParameters": object_schema(CREDENTIAL_PARAMETERS),
    "StoredCredential": {
        **object_schema(CREDENTIAL_PARAMETERS),
        "required": [f.name for f in CREDENTIAL_PARAMETERS if f.required and f is not _KEY],
        "description": "Credential Parameters; a vault's privateKey is left out",
    },
    "UserVerified": object_schema(schema(UserVerified), closed=True),
    "AttestationCa": {
        "type": "object",
        "required": ["certificate"],
        "properties": {"certificate": {"type": "string", "description": "PEM"}},
    },
    "CredentialProperties": object_schema(schema(CredentialProperties), closed=True),
    "ResponseOverrideBits": object_schema(schema(OverrideBits), closed=True),
    "Failure": object_schema(schema(Failure), closed=True),
    "PresenceSimulation": object_schema(schema(PresenceSimulation), closed=True),
    "CreationRequest": object_schema(schema(Ceremony), closed=True),
    "RequestRequest": object_schema(schema(Ceremony), closed=True),
    "RegistrationResponse": _ceremony_response(
        "RegistrationResponseJSON",
        ["clientDataJSON", "attestationObject"],
        {
            "clientDataJSON": _B64URL,
            "attestationObject": _B64URL,
            "authenticatorData": _B64URL,
            "transports": {"type": "array", "items": {"type": "string"}},
            "publicKey": _B64URL,
            "publicKeyAlgorithm": {"type": "integer"},
        },
    ),
    "AuthenticationResponse": _ceremony_response(
        "AuthenticationResponseJSON",
        ["clientDataJSON", "authenticatorData", "signature"],
        {
            "clientDataJSON": _B64URL,
            "authenticatorData": _B64URL,
            "signature": _B64URL,
            "userHandle": _B64URL,
        },
    ),
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "vauth",
        "version": "0.1.0",
        "description": (
            "The vauth daemon's loopback API: the W3C WebDriver virtual-authenticator commands "
            "without the /session/{sessionId} prefix, plus CTAP2 and WebAuthn ceremonies. Every "
            "request, this document's included, needs Authorization: Bearer <token>; requests "
            "with a Host other than localhost, 127.0.0.1 or [::1], or with any Origin header, "
            "are refused. Unknown routes answer 404 (unknown command), wrong methods 405 "
            "(unknown method), always as an Error."
        ),
    },
    "servers": [
        {
            "url": "http://127.0.0.1:{port}",
            "variables": {"port": {"default": str(paths.DEFAULT_HTTP_PORT)}},
        }
    ],
    "security": [{"bearer": []}],
    "paths": _PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": _SCHEMAS,
        "responses": {
            "Unauthorized": _error("SecurityError: no or a wrong bearer token"),
            "Forbidden": _error("SecurityError: the request carries an Origin header"),
            "MisdirectedRequest": _error("SecurityError: the Host is not a loopback name"),
        },
    },
}
