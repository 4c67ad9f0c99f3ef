"""What a tester controls beyond W3C WebDriver, as Chromium's CDP WebAuthn domain offers it:
the response override bits (``setResponseOverrideBits``), a chosen failure of the next
operation, the credential properties, user verification and presence simulation, and the
credential events (``credentialAdded``, ``credentialAsserted``, ``credentialDeleted``,
``credentialUpdated``).

``CeremonyEvents`` is the ``ResponsePort`` of every authenticator (it only reports events);
``TesterResponses`` is a tester's, which also overrides what is signed. ``TesterControls``
holds the five controls; only a tester's authenticator (``vauth.app.device.TesterDevice``, or the
``VirtualAuthenticator`` facade) has one, so the vault's production device cannot be asked for
them: it has no such attribute, and mypy says so (house style rule 23).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vauth import base64url
from vauth.app.presence import AutoPresence
from vauth.ctap import auth_data
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.ctap.ports import Ceremony, CredentialStore, TruthfulResponses, UserPresence
from vauth.ctap.status import CtapStatus
from vauth.inputs import BOOLEAN, INTEGER, STRING, param, parameters
from vauth.vault import webdriver
from vauth.vault.portable import b64url_field

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


class CeremonyEvents(TruthfulResponses):
    """The ``ResponsePort`` of any authenticator: responses as signed, and the
    credentialAdded / credentialAsserted events (a vault's without private keys)."""

    def __init__(self, events: Events, with_private_keys: bool = True) -> None:
        self.events = events
        self.with_private_keys = with_private_keys

    def signed(self, ceremony: Ceremony, credential: Credential) -> None:
        name = CREDENTIAL_ADDED if ceremony is Ceremony.MAKE_CREDENTIAL else CREDENTIAL_ASSERTED
        self.events.credential(name, credential, self.with_private_keys)


class TesterResponses(CeremonyEvents):
    """The ``ResponsePort`` of a tester's authenticator: the override bits and the next
    failure, besides the events."""

    def __init__(self, events: Events, with_private_keys: bool = True) -> None:
        super().__init__(events, with_private_keys)
        self.bits = OverrideBits()
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


@parameters
class CredentialProperties:
    """CDP WebAuthn.setCredentialProperties (W3C WebDriver's backup flags, and CDP's others): a
    member left out (None) is left as it is; signCount -1 means the credential keeps no counter
    and reports 0. The HTTP API builds it from a request's body."""

    backup_eligibility: bool | None = param("backupEligibility", BOOLEAN, default=None)
    backup_state: bool | None = param("backupState", BOOLEAN, default=None)
    sign_count: int | None = param(
        "signCount", INTEGER, minimum=-1, maximum=0xFFFFFFFF, default=None
    )
    user_name: str | None = param("userName", STRING, default=None)
    user_display_name: str | None = param("userDisplayName", STRING, default=None)


class TesterControls:
    """The five controls a tester has over one authenticator, as CDP's WebAuthn domain and W3C
    WebDriver give them: response override bits, the next failure, credential properties,
    user verification (and consent), and automatic presence simulation."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(
        self, store: CredentialStore, responses: TesterResponses, presence: UserPresence
    ) -> None:
        self.store = store
        self.responses = responses
        self.presence = presence

    def set_response_override_bits(
        self,
        is_bogus_signature: bool = False,
        is_bad_uv: bool = False,
        is_bad_up: bool = False,
    ) -> None:
        """CDP WebAuthn.setResponseOverrideBits: each bit left out is reset to false."""
        self.responses.bits = OverrideBits(is_bogus_signature, is_bad_uv, is_bad_up)

    def fail_next(self, status: int | str | None) -> None:
        """The next makeCredential or getAssertion fails with CTAP ``status`` (by number or
        name); None: it does not. ValueError for what is not a CTAP error status."""
        self.responses.fail_next(status)

    async def set_credential_properties(
        self, credential_id: str, properties: CredentialProperties
    ) -> None:
        """WebDriver "Set Credential Properties" (backup eligibility and state) and CDP's
        setCredentialProperties: ``sign_count`` -1 means no counter (it reports 0)."""
        sign_count = properties.sign_count
        if sign_count is not None and not -1 <= sign_count <= 0xFFFFFFFF:
            raise ValueError("signCount must be -1 (no counter) or from 0 to 4294967295")
        credential = await stored_credential(self.store, credential_id)
        if properties.backup_eligibility is not None:
            credential.backup_eligible = properties.backup_eligibility
        if properties.backup_state is not None:
            credential.backup_state = properties.backup_state
        if sign_count == -1:
            credential.sign_count_policy, credential.sign_count = SignCountPolicy.ZERO, 0
        elif sign_count is not None:
            credential.sign_count_policy = SignCountPolicy.COUNTER
            credential.sign_count = sign_count
        if properties.user_name is not None:
            credential.user_name = properties.user_name
        if properties.user_display_name is not None:
            credential.user_display_name = properties.user_display_name
        await self.store.update(credential)

    def set_user_verified(self, value: bool) -> None:
        """WebDriver "Set User Verified"."""
        self.auto_presence().verified = bool(value)

    def set_user_consenting(self, value: bool) -> None:
        self.auto_presence().consenting = bool(value)

    def set_automatic_presence_simulation(self, enabled: bool) -> None:
        """CDP WebAuthn.setAutomaticPresenceSimulation."""
        self.auto_presence().automatic = bool(enabled)

    def auto_presence(self) -> AutoPresence:
        presence = getattr(self.presence, "inner", self.presence)  # a daemon tracks it
        if not isinstance(presence, AutoPresence):
            raise TypeError("user consent and verification are scripted by the presence port")
        return presence


async def stored_credential(store: CredentialStore, credential_id: str) -> Credential:
    """The stored credential with this (base64url) ID; KeyError if there is none, or only the
    record of one whose key is sealed in its ID (it keeps no key to show)."""
    credential = await store.get(b64url_field(credential_id, "credentialId"))
    if credential is None or credential.sealed:
        raise KeyError(f"no credential with id {credential_id}")
    return credential


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
    "keep_non_discoverable": True,  # Chromium lists and removes non-discoverable ones too
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
