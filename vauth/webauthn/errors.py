"""Errors of the client layer, named as the DOMExceptions WebAuthn specifies, and the one table
of what a page gets for each way a ceremony can fail.

The table follows Chromium 156, the browser vauth stands in for (house style rule 17): its
request handlers (device/fido/make_credential_request_handler.cc,
get_assertion_request_handler.cc) show an authenticator's failure to the person and end the
request with NotAllowedError (content/browser/webauthn/authenticator_common_impl.cc), so that a
page cannot learn what an authenticator holds or can do (WebAuthn L3 §14.5.2) -- a missing
capability (resident keys, user verification, largeBlob) included. The one exception is
CTAP2_ERR_CREDENTIAL_EXCLUDED: InvalidStateError (WebAuthn L3 §6.3.2 step 3).
tests/e2e/test_error_table.py checks the table side by side with Chromium's CDP authenticator.

The extension's side (extension/shared/protocol.js: PAGE_ERRORS, PAGE_ERROR_MESSAGES) maps the
codes a daemon, the native host or the extension itself answers with; PAGE_ERRORS below is the
same table, and tests/extension/test_page_errors.py keeps the two, and this module, in step.
"""

from __future__ import annotations

from enum import StrEnum

from vauth.ctap.status import CtapStatus

NOT_ALLOWED = "NotAllowedError"
INVALID_STATE = "InvalidStateError"

DOM_EXCEPTION_NAMES = frozenset(
    {
        NOT_ALLOWED,
        INVALID_STATE,
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


# Every status an authenticator can answer with, as the page sees it.
STATUS_TO_DOM: dict[CtapStatus, str] = {
    status: INVALID_STATE if status is CtapStatus.CREDENTIAL_EXCLUDED else NOT_ALLOWED
    for status in CtapStatus
    if status is not CtapStatus.OK
}


class ClientFailure(StrEnum):
    """What the client itself finds it cannot do with the authenticator it has (after the
    options were converted and checked, which page script and options.py do as WebIDL says)."""

    NO_RESIDENT_KEYS = "residentKey is required and the authenticator keeps none"
    NO_USER_VERIFICATION = "userVerification is required and the authenticator cannot verify"
    NO_LARGE_BLOB = "largeBlob support is required and the authenticator has none"
    WRONG_ATTACHMENT = "the authenticator is not of the attachment asked for"
    NO_USABLE_CREDENTIAL = "no allowCredentials entry is one this authenticator could hold"
    CREDENTIAL_NOT_ALLOWED = "the authenticator answered with a credential not allowed"
    PIN_UNAVAILABLE = "the authenticator wants a PIN the client does not have"
    NO_PIN_PROTOCOL = "no PIN/UV auth protocol in common"
    MALFORMED_RESPONSE = "the authenticator's answer is malformed"


# Chromium: every one a failure shown to the person, NotAllowedError to the page (a
# WRONG_ATTACHMENT request waits for an authenticator of that kind until it times out).
CLIENT_FAILURE_TO_DOM: dict[ClientFailure, str] = dict.fromkeys(ClientFailure, NOT_ALLOWED)


def failed(failure: ClientFailure, detail: str) -> WebAuthnError:
    """The WebAuthnError for ``failure``; ``detail`` says where (for logs and testers)."""
    return WebAuthnError(CLIENT_FAILURE_TO_DOM[failure], f"{detail}: {failure.value}")


# The extension's side of the table: each code a ceremony's request can come back with (the
# daemon's vauth.app.service.ErrorCode, the native host's, the extension's own) -> the DOMException
# name the page gets. A DOMException name the client raised reaches the page as it is, but for
# the two Chromium never gives a page here (UnknownError and ConstraintError); everything else
# is vauth's own trouble, which a page sees as Chromium's NotAllowedError.
_PASSED_ON = (
    NOT_ALLOWED,
    INVALID_STATE,
    "SecurityError",
    "NotSupportedError",
    "TypeError",
    "AbortError",
    "EncodingError",
    "SyntaxError",
)
_VAUTH_CODES = (
    # the daemon's (vauth.app.service.ErrorCode)
    "vault_locked",
    "wrong_passphrase",
    "vault_error",
    "sync_error",
    "no vault",
    "invalid argument",
    "no such credential",
    "no such prompt",
    "no such authenticator",
    "unsupported operation",
    "unknown_action",
    "internal",
    "forbidden",
    "stopping",
    # the native host's
    "daemon_unavailable",
    "forbidden_origin",
    "bad_message",
    # the extension's own
    "host_unavailable",
    "timeout",
    # DOMException names Chromium does not give a page for a ceremony
    "UnknownError",
    "ConstraintError",
)
PAGE_ERRORS: dict[str, str] = {
    **{name: name for name in _PASSED_ON},
    **dict.fromkeys(_VAUTH_CODES, NOT_ALLOWED),
}
# The browser's own sentences for the names it always words the same way (Chromium:
# third_party/blink/renderer/modules/credentialmanagement/credential_manager_type_converters.cc;
# Firefox: dom/base/domerr.msg); the others keep the message they came with.
PAGE_ERROR_MESSAGES: dict[str, dict[str, str]] = {
    "chromium": {
        NOT_ALLOWED: "The operation either timed out or was not allowed. See: "
        "https://www.w3.org/TR/webauthn-2/#sctn-privacy-considerations-client.",
        INVALID_STATE: "The user attempted to register an authenticator that contains one of "
        "the credentials already registered with the relying party.",
    },
    "firefox": {
        NOT_ALLOWED: "The request is not allowed by the user agent or the platform in the "
        "current context, possibly because the user denied permission.",
        INVALID_STATE: "An attempt was made to use an object that is not, or is no longer, usable",
    },
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
    name = STATUS_TO_DOM.get(status, NOT_ALLOWED)
    reason = _EXPLANATIONS.get(status, f"the authenticator answered {status.name}")
    return WebAuthnError(name, f"{operation} failed: {reason} ({status.name})")
