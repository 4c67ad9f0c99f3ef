"""The bodies the HTTP API takes, each declared once: a ``@parameters`` class per JSON body
(``handlers`` builds it from the request, ``openapi`` generates /openapi.json's schemas from it),
the device's own among them (an Authenticator Configuration), and WebDriver's Credential
Parameters, which the device's parser (shared with an import) reads."""

from __future__ import annotations

from typing import Any

from vauth.app.device import CREDENTIAL_PARAMETERS, Configuration
from vauth.app.tester import CredentialProperties
from vauth.inputs import (
    B64URL,
    BOOLEAN,
    INTEGER_OR_STRING,
    OBJECT,
    STRING,
    Field,
    param,
    parameters,
)

__all__ = [
    "CREDENTIAL_ID",
    "CREDENTIAL_PARAMETERS",
    "Ceremony",
    "Configuration",
    "CredentialProperties",
    "Failure",
    "OverrideBits",
    "PresenceSimulation",
    "UserVerified",
]

# The path's {credentialId}: checked at the edge like a body member, and named when refused.
CREDENTIAL_ID = Field("credentialId", B64URL, required=True)


@parameters
class UserVerified:  # WebDriver 11.7
    is_user_verified: bool = param("isUserVerified", BOOLEAN)


@parameters
class Ceremony:  # /create and /get
    origin: str = param("origin", STRING, description="the calling page's, as a browser has it")
    options: dict[str, Any] = param(
        "options",
        OBJECT,
        description="PublicKeyCredentialCreationOptionsJSON or "
        "PublicKeyCredentialRequestOptionsJSON (WebAuthn L3)",
    )


@parameters
class OverrideBits:  # CDP WebAuthn.setResponseOverrideBits: each member left out is reset
    is_bogus_signature: bool = param(
        "isBogusSignature",
        BOOLEAN,
        default=False,
        description="the signatures sent are one zero byte",
    )
    is_bad_uv: bool = param("isBadUV", BOOLEAN, default=False, description="the UV flag is cleared")
    is_bad_up: bool = param("isBadUP", BOOLEAN, default=False, description="the UP flag is cleared")


@parameters
class PresenceSimulation:  # CDP
    enabled: bool = param("enabled", BOOLEAN)


@parameters
class Failure:  # vauth: the next makeCredential or getAssertion fails with this CTAP status
    status: int | str | None = param(
        "status",
        INTEGER_OR_STRING,
        nullable=True,
        description="a CTAP error status, by number (0x2E = 46) or name (NO_CREDENTIALS); "
        "null: no failure",
    )
