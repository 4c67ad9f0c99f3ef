"""What a tester controls beyond W3C WebDriver, as Chromium's CDP WebAuthn domain offers it:
the response override bits (``setResponseOverrideBits``), a chosen failure of the next
operation, and the credential events (``credentialAdded``, ``credentialAsserted``,
``credentialDeleted``, ``credentialUpdated``).

``TesterResponses`` is the ``ResponsePort`` the core consults where it signs a response;
``Events`` hands each event to Python callbacks (the HTTP API's event stream is one of them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vauth import base64url
from vauth.ctap import auth_data
from vauth.ctap.credential import Credential
from vauth.ctap.ports import Ceremony
from vauth.ctap.status import CtapStatus
from vauth.vault import webdriver

logger = logging.getLogger(__name__)

CREDENTIAL_ADDED = "credentialAdded"
CREDENTIAL_ASSERTED = "credentialAsserted"
CREDENTIAL_DELETED = "credentialDeleted"
CREDENTIAL_UPDATED = "credentialUpdated"
BOGUS_SIGNATURE = b"\x00"
EVENT_NAMES = (CREDENTIAL_ADDED, CREDENTIAL_ASSERTED, CREDENTIAL_DELETED, CREDENTIAL_UPDATED)

# A listener gets the event's CDP name and its parameters (authenticatorId, credential or
# credentialId), as CDP's WebAuthn domain sends them.
Listener = Callable[[str, dict[str, Any]], None]


class Events:
    """The credential events of one authenticator, handed to every listener in order."""

    def __init__(self, authenticator_id: str | None = None) -> None:
        self.authenticator_id = authenticator_id
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(name, params)`` for each event from now on; returns the unsubscriber."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, name: str, params: dict[str, Any]) -> None:
        payload = {"authenticatorId": self.authenticator_id, **params}
        for listener in tuple(self._listeners):
            try:
                listener(name, payload)
            except Exception:  # a tester's callback must not break the authenticator
                logger.exception("a %s listener failed", name)

    def credential(self, name: str, credential: Credential, with_private_key: bool) -> None:
        """``name`` about ``credential``, as CDP's Credential (privateKey only if allowed).
        Nobody listening: nothing is built (no private key serialised on every signature)."""
        if not self._listeners:
            return
        params = webdriver.parameters(credential)
        if not with_private_key:
            del params["privateKey"]
        self.emit(name, {"credential": params})

    def deleted(self, credential_id: bytes) -> None:
        self.emit(CREDENTIAL_DELETED, {"credentialId": base64url.encode(credential_id)})


@dataclass(slots=True)
class OverrideBits:
    """CDP WebAuthn.setResponseOverrideBits: each holds until it is set again."""

    is_bogus_signature: bool = False
    is_bad_uv: bool = False
    is_bad_up: bool = False


def failure_status(value: int | str) -> CtapStatus:
    """A CTAP status by number or name (``NO_CREDENTIALS``, ``CTAP2_ERR_NO_CREDENTIALS``,
    0x2E), not success: ValueError naming the value otherwise."""
    try:
        if isinstance(value, str):
            name = value.upper().removeprefix("CTAP2_ERR_").removeprefix("CTAP1_ERR_")
            status = CtapStatus[name]
        else:
            status = CtapStatus(value)
    except (KeyError, ValueError):
        raise ValueError(f"{value!r} is not a CTAP status") from None
    if status is CtapStatus.OK:
        raise ValueError("a failure needs an error status, not OK")
    return status


class TesterResponses:
    """The ``ResponsePort`` of a tester's authenticator: the override bits, the next failure,
    and the credentialAdded / credentialAsserted events."""

    def __init__(self, events: Events, with_private_keys: bool = True) -> None:
        self.bits = OverrideBits()
        self.events = events
        self.with_private_keys = with_private_keys
        self._failure: CtapStatus | None = None

    def fail_next(self, status: int | str | None) -> None:
        """The next makeCredential or getAssertion fails with ``status`` (None: it does not)."""
        self._failure = None if status is None else failure_status(status)

    def failure(self, ceremony: Ceremony) -> int | None:
        status, self._failure = self._failure, None
        return status

    def flags(self, flags: int) -> int:
        if self.bits.is_bad_uv:
            flags &= ~auth_data.UV
        if self.bits.is_bad_up:
            flags &= ~auth_data.UP
        return flags

    def signature(self, signature: bytes) -> bytes:
        # Chromium's virtual authenticator sends one zero byte (a DER signature cannot be it).
        return BOGUS_SIGNATURE if self.bits.is_bogus_signature else signature

    def signed(self, ceremony: Ceremony, credential: Credential) -> None:
        name = CREDENTIAL_ADDED if ceremony is Ceremony.MAKE_CREDENTIAL else CREDENTIAL_ASSERTED
        self.events.credential(name, credential, self.with_private_keys)


# CDP WebAuthn.VirtualAuthenticatorOptions -> VirtualAuthenticator's arguments. CDP's defaults
# differ from WebDriver's: no resident keys, no UV, no extension unless switched on.
_CDP_FLAGS = {
    "hasResidentKey": "has_resident_key",
    "hasUserVerification": "has_user_verification",
    "isUserConsenting": "is_user_consenting",
    "isUserVerified": "is_user_verified",
    "defaultBackupEligibility": "default_backup_eligibility",
    "defaultBackupState": "default_backup_state",
    "automaticPresenceSimulation": "automatic_presence_simulation",
    "hasLargeBlob": "has_large_blob",
    "hasCredBlob": "has_cred_blob",
    "hasMinPinLength": "has_min_pin_length",
    "hasPrf": "has_prf",
    "hasHmacSecret": "has_hmac_secret",
    "hasHmacSecretMc": "has_hmac_secret_mc",
}
_CDP_DEFAULTS: dict[str, Any] = {
    "has_resident_key": False,
    "has_user_verification": False,
    "is_user_verified": False,
    "extensions": ["credProps", "credProtect"],  # what a client and CTAP 2.1 always have
    "backup_sign_count_policy": "counter",  # Chromium counts for backup-eligible ones too
}


def cdp_arguments(options: dict[str, Any]) -> dict[str, Any]:
    """VirtualAuthenticator's keyword arguments for CDP's ``options`` (ValueError naming an
    option vauth does not know, UnsupportedOption-worthy ones are left to the constructor)."""
    arguments = dict(_CDP_DEFAULTS)
    for name, value in options.items():
        if name in _CDP_FLAGS:
            arguments[_CDP_FLAGS[name]] = value
        elif name == "protocol":
            arguments["protocol"] = value  # "u2f" is refused by the constructor
        elif name == "ctap2Version":
            arguments["ctap2_version"] = value
        elif name == "transport":
            arguments["transport"] = value
        else:
            raise ValueError(f"{name} is not a CDP VirtualAuthenticatorOptions member")
    if arguments.get("protocol") == "ctap2" and "ctap2_version" not in arguments:
        arguments["ctap2_version"] = "ctap2_0"  # CDP: ctap2Version defaults to ctap2_0
    return arguments
