"""Errors of the client layer, named as the DOMExceptions WebAuthn specifies."""

from __future__ import annotations

from vauth.ctap.status import CtapStatus

DOM_EXCEPTION_NAMES = frozenset(
    {
        "NotAllowedError",
        "InvalidStateError",
        "SecurityError",
        "NotSupportedError",
        "TypeError",
        "ConstraintError",
        "AbortError",
        "UnknownError",
        "EncodingError",
        "SyntaxError",
    }
)


class WebAuthnError(Exception):
    """A failed create() or get(): ``name`` is the DOMException name a browser would raise."""

    def __init__(self, name: str, message: str) -> None:
        if name not in DOM_EXCEPTION_NAMES:
            raise ValueError(f"not a WebAuthn DOMException name: {name}")
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


# How a client turns authenticator status codes into what the page sees (WebAuthn L3 6.3.2/6.3.3
# and the CTAP 2.1 error mapping browsers use).
STATUS_TO_DOM: dict[CtapStatus, str] = {
    CtapStatus.CREDENTIAL_EXCLUDED: "InvalidStateError",
    CtapStatus.UNSUPPORTED_ALGORITHM: "NotSupportedError",
    CtapStatus.UNSUPPORTED_OPTION: "ConstraintError",
    CtapStatus.INVALID_OPTION: "ConstraintError",
    CtapStatus.KEY_STORE_FULL: "ConstraintError",
}


# What a person is told, where a sentence helps more than a status name.
_EXPLANATIONS: dict[CtapStatus, str] = {
    CtapStatus.OPERATION_DENIED: "the user declined",
    CtapStatus.NO_CREDENTIALS: "the authenticator has no passkey for this site",
    CtapStatus.CREDENTIAL_EXCLUDED: "the authenticator already holds a passkey for this account",
    CtapStatus.KEY_STORE_FULL: "the authenticator has no room left (is its disk full?)",
    CtapStatus.UNSUPPORTED_ALGORITHM: "the authenticator supports none of the algorithms asked",
    CtapStatus.PUAT_REQUIRED: "the authenticator wants user verification (a PIN)",
    CtapStatus.PIN_INVALID: "the PIN is wrong",
    CtapStatus.PIN_BLOCKED: "the PIN is blocked: reset the authenticator",
    CtapStatus.PIN_AUTH_BLOCKED: "too many wrong PINs: power-cycle the authenticator",
    CtapStatus.PIN_NOT_SET: "no PIN is set",
    CtapStatus.PIN_POLICY_VIOLATION: "the PIN does not meet the PIN policy",
}


def from_status(status: CtapStatus, operation: str) -> WebAuthnError:
    name = STATUS_TO_DOM.get(status, "NotAllowedError")
    reason = _EXPLANATIONS.get(status, f"the authenticator answered {status.name}")
    return WebAuthnError(name, f"{operation} failed: {reason} ({status.name})")
