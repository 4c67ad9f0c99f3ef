"""The bodies the HTTP API takes, each declared once: ``handlers`` checks requests against these
declarations and ``openapi`` generates /openapi.json's schemas from them."""

from __future__ import annotations

from vauth.device import CONFIGURATION, CREDENTIAL_PARAMETERS, CREDENTIAL_PROPERTIES
from vauth.inputs import BOOLEAN, INTEGER_OR_STRING, OBJECT, STRING, Field

__all__ = [
    "CEREMONY",
    "CONFIGURATION",
    "CREDENTIAL_PARAMETERS",
    "CREDENTIAL_PROPERTIES",
    "FAILURE",
    "OVERRIDE_BITS",
    "PRESENCE_SIMULATION",
    "USER_VERIFIED",
]

USER_VERIFIED = (Field("isUserVerified", BOOLEAN, required=True),)  # WebDriver 11.7
CEREMONY = (  # /create and /get
    Field("origin", STRING, required=True, description="the calling page's, as a browser has it"),
    Field(
        "options",
        OBJECT,
        required=True,
        description="PublicKeyCredentialCreationOptionsJSON or "
        "PublicKeyCredentialRequestOptionsJSON (WebAuthn L3)",
    ),
)
# CDP WebAuthn.setResponseOverrideBits: each member left out is reset to false.
OVERRIDE_BITS = (
    Field("isBogusSignature", BOOLEAN, description="the signatures sent are one zero byte"),
    Field("isBadUV", BOOLEAN, description="the UV flag is cleared"),
    Field("isBadUP", BOOLEAN, description="the UP flag is cleared"),
)
PRESENCE_SIMULATION = (Field("enabled", BOOLEAN, required=True),)  # CDP
FAILURE = (  # vauth: the next makeCredential or getAssertion fails with this CTAP status
    Field(
        "status",
        INTEGER_OR_STRING,
        required=True,
        nullable=True,
        description="a CTAP error status, by number (0x2E = 46) or name (NO_CREDENTIALS); "
        "null: no failure",
    ),
)
