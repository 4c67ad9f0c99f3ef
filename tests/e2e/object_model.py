"""What a page sees of WebAuthn's objects (object_model.js, run in a page) and where vauth's
knowingly differ from the browser's own, shared by the Chromium and Firefox tests.

WebIDL §3.7 (interface objects, prototypes, attributes as accessors, operations: enumerable,
writable, configurable), WebAuthn L3 §5.1 (PublicKeyCredential, toJSON, getClientExtensionResults),
§5.2 (AuthenticatorResponse, AuthenticatorAttestationResponse: getTransports,
getAuthenticatorData, getPublicKey, getPublicKeyAlgorithm; AuthenticatorAssertionResponse),
HTML §2.7 (structured clone: a platform object without [Serializable] cannot be cloned)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

PROBE = f"({Path(__file__).with_name('object_model.js').read_text()})()"

# The parts of the description, each compared on its own.
SECTIONS = [
    "created",
    "createdResponse",
    "asserted",
    "assertedResponse",
    "instances",
    "crossed",
    "extensionResults",
    "values",
    "statics",
    "staticCalls",
    "containerStatics",
    "calledElsewhere",
    "functionToString",
]

# Where vauth's objects differ from the browser's on purpose, and why; left out of both sides.
CLONE_MESSAGE = (
    "a page script cannot make a platform object: each of vauth's is a Proxy, the one ordinary "
    "object structured cloning refuses (DataCloneError, as for the browser's own), but the "
    "message names it otherwise ('#<PublicKeyCredential>' in Chromium, 'Proxy object' in Firefox)"
)
FIREFOX_SIGNALS = (
    "Firefox 153 has no Signal API (WebAuthn L3 §5.1.10): vauth adds signalUnknownCredential, "
    "signalAllAcceptedCredentials and signalCurrentUserDetails, so sites can tell it which of "
    "its passkeys they no longer accept"
)
SIGNALS = ("signalAllAcceptedCredentials", "signalCurrentUserDetails", "signalUnknownCredential")
OBJECTS = ("created", "createdResponse", "asserted", "assertedResponse")


def comparable(description: dict[str, Any], *, firefox: bool = False) -> dict[str, Any]:
    """``description`` without what differs on purpose (CLONE_MESSAGE, FIREFOX_SIGNALS)."""
    out = copy.deepcopy(description)
    for name in OBJECTS:
        out[name]["outside"]["structuredClone"].pop("message", None)
    if firefox:
        for name in SIGNALS:
            out["statics"].pop(name, None)
        for name in ("created", "asserted"):
            constructor = out[name]["chain"][1]["properties"]["constructor"]["value"]
            constructor["ownKeys"] = [k for k in constructor["ownKeys"] if k not in SIGNALS]
    return out
