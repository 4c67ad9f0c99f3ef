"""The bodies the HTTP API takes, each declared once: ``handlers`` checks requests against these
declarations and ``openapi`` generates /openapi.json's schemas from them."""

from __future__ import annotations

from vauth.device import CONFIGURATION, CREDENTIAL_PARAMETERS
from vauth.inputs import BOOLEAN, OBJECT, STRING, Field

__all__ = ["CEREMONY", "CONFIGURATION", "CREDENTIAL_PARAMETERS", "USER_VERIFIED"]

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
