"""``Device``: one authenticator as production runs it, async only.

A device is the CTAP authenticator, the WebAuthn client in front of it, the store behind it
(an in-memory one, or an open vault) and the settings its user gave it. The daemon, its HID
transport and the native host (through the daemon) use devices; ``VirtualAuthenticator`` is a
thin synchronous wrapper around one for scripts and tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import os
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from vauth.app.clock import SystemClock
from vauth.app.keys import RandomKeySource, SeededKeySource
from vauth.app.presence import AutoPresence
from vauth.app.store import InMemoryStore
from vauth.app.tester import (
    CREDENTIAL_UPDATED,
    CeremonyEvents,
    Events,
    TesterControls,
    TesterResponses,
    stored_credential,
)
from vauth.ctap.attestation import AttestationMode
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.config import DEFAULT_AAGUID, AuthenticatorConfig
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.ctap.ctap1 import process_apdu
from vauth.ctap.lookup import unsealed
from vauth.ctap.pin_state import InlinePinHasher
from vauth.ctap.ports import (
    Clock,
    CredentialStore,
    DeviceOnly,
    Environment,
    KeySource,
    PinHasher,
    UserPresence,
)
from vauth.inputs import (
    B64URL,
    BOOLEAN,
    INTEGER,
    INTEGER_OR_STRING,
    STRING,
    STRINGS,
    Field,
    param,
    parameters,
    schema,
)
from vauth.vault import Vault, webdriver
from vauth.vault.portable import EntryError, b64url_field

if TYPE_CHECKING:
    from collections.abc import Callable

    from vauth.vault.exchange import ImportReport
    from vauth.vault.kdf import KdfParams
    from vauth.webauthn.client import WebAuthnClient
    from vauth.webauthn.u2f import U2fClient

# WebAuthn extension identifiers (WebDriver's "extensions") and the CTAP ones behind them;
# CTAP names are accepted too. credProps lives in the client alone.
_CTAP_FOR_EXTENSION: dict[str, frozenset[str]] = {
    "credProtect": frozenset({"credProtect"}),
    "credProps": frozenset(),
    "prf": frozenset({"hmac-secret", "hmac-secret-mc"}),
    "hmac-secret": frozenset({"hmac-secret", "hmac-secret-mc"}),
    "hmac-secret-mc": frozenset({"hmac-secret-mc"}),
    "largeBlob": frozenset({"largeBlobKey"}),
    "largeBlobKey": frozenset({"largeBlobKey"}),
    "credBlob": frozenset({"credBlob"}),
    "minPinLength": frozenset({"minPinLength"}),
}
SUPPORTED_EXTENSIONS = frozenset(_CTAP_FOR_EXTENSION)
_HMAC = frozenset({"hmac-secret", "hmac-secret-mc"})
# CDP WebAuthn.VirtualAuthenticatorOptions' extension switches: the CTAP extensions each one
# turns on (true) and those it turns off (false); left out, the authenticator keeps its
# ``extensions``. As in Chromium, hasHmacSecret alone gives no PRF results at creation.
CAPABILITIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "hasLargeBlob": (frozenset({"largeBlobKey"}), frozenset({"largeBlobKey"})),
    "hasCredBlob": (frozenset({"credBlob"}), frozenset({"credBlob"})),
    "hasMinPinLength": (frozenset({"minPinLength"}), frozenset({"minPinLength"})),
    "hasPrf": (_HMAC, _HMAC),
    "hasHmacSecret": (frozenset({"hmac-secret"}), _HMAC),
    "hasHmacSecretMc": (frozenset({"hmac-secret-mc"}), frozenset({"hmac-secret-mc"})),
}
CTAP2_VERSIONS = {"ctap2_0": "ctap2", "ctap2_1": "ctap2_1"}  # CDP's ctap2Version: vauth's protocol
PLATFORM_TRANSPORT = "internal"
TRANSPORTS = frozenset({"usb", "nfc", "ble", "internal", "hybrid"})
DISPLAY_NAME_SETTING = "display_name"


@parameters
class Configuration:
    """W3C WebDriver 11.1 Authenticator Configuration (and CDP's and vauth's own settings): the
    one declaration that checks "Add Virtual Authenticator" and ``--authenticator``, fills
    /openapi.json, and configures the ephemeral device (``configuration_parts``)."""

    protocol: str = param(
        "protocol", STRING, choices=("ctap2", "ctap2_1", "ctap1/u2f", "u2f"), default="ctap2_1"
    )
    ctap2_version: str | None = param(
        "ctap2Version", STRING, choices=tuple(CTAP2_VERSIONS), description="CDP", default=None
    )
    transport: str = param("transport", STRING, choices=tuple(sorted(TRANSPORTS)), default="usb")
    has_resident_key: bool = param("hasResidentKey", BOOLEAN, default=True)
    has_user_verification: bool = param("hasUserVerification", BOOLEAN, default=True)
    is_user_consenting: bool = param("isUserConsenting", BOOLEAN, default=True)
    is_user_verified: bool = param("isUserVerified", BOOLEAN, default=True)
    extensions: list[str] | None = param(  # None: every extension vauth supports
        "extensions", STRINGS, default=None
    )
    default_backup_eligibility: bool = param("defaultBackupEligibility", BOOLEAN, default=False)
    default_backup_state: bool = param("defaultBackupState", BOOLEAN, default=False)
    # CDP's extension switches (CAPABILITIES); None: the authenticator keeps its extensions
    has_large_blob: bool | None = param("hasLargeBlob", BOOLEAN, description="CDP", default=None)
    has_cred_blob: bool | None = param("hasCredBlob", BOOLEAN, description="CDP", default=None)
    has_min_pin_length: bool | None = param(
        "hasMinPinLength", BOOLEAN, description="CDP", default=None
    )
    has_prf: bool | None = param("hasPrf", BOOLEAN, description="CDP", default=None)
    has_hmac_secret: bool | None = param("hasHmacSecret", BOOLEAN, description="CDP", default=None)
    has_hmac_secret_mc: bool | None = param(
        "hasHmacSecretMc", BOOLEAN, description="CDP", default=None
    )
    automatic_presence_simulation: bool = param(
        "automaticPresenceSimulation", BOOLEAN, description="CDP; true if left out", default=True
    )
    attestation: str = param(
        "attestation", STRING, description="vauth: none, packed-self or packed", default="none"
    )
    aaguid: str | None = param("aaguid", STRING, description="vauth: a UUID", default=None)
    seed: int | str | None = param(
        "seed",
        INTEGER_OR_STRING,
        description="vauth: deterministic keys, for reproducible tests",
        default=None,
    )

    def capabilities(self) -> dict[str, bool]:
        """The CDP switches given (``CAPABILITIES``' names), from the members that declare them."""
        declared = zip(dataclasses.fields(self), schema(Configuration), strict=True)
        switches = {spec.name: getattr(self, f.name) for f, spec in declared}
        return {
            name: on for name, on in switches.items() if name in CAPABILITIES and on is not None
        }


# W3C WebDriver 11.3 Credential Parameters, as "Add Credential" takes them (its members' values
# are then parsed by vault/webdriver.py, the one parser, which an import uses too).
CREDENTIAL_PARAMETERS = (
    Field("credentialId", B64URL, required=True),
    Field("isResidentCredential", BOOLEAN, required=True),
    Field("rpId", STRING, required=True),
    Field("privateKey", B64URL, required=True, description="PKCS#8"),
    Field("userHandle", B64URL, nullable=True),
    Field("signCount", INTEGER, required=True, minimum=0, maximum=0xFFFFFFFF),
    Field("largeBlob", B64URL),
    Field("backupEligibility", BOOLEAN),
    Field("backupState", BOOLEAN),
    Field("userName", STRING),
    Field("userDisplayName", STRING),
)


class UnsupportedOption(ValueError):
    """A well-formed setting that vauth does not offer (WebDriver's "unsupported operation")."""


def parse_aaguid(value: str | bytes | uuid.UUID | None) -> bytes:
    if value is None:
        return DEFAULT_AAGUID
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, bytes):
        if len(value) != 16:
            raise ValueError("aaguid must be 16 bytes")
        return value
    try:
        return uuid.UUID(value).bytes
    except ValueError:
        raise ValueError(f"aaguid {value!r} is not a UUID") from None


def _identifiers(extensions: Iterable[str]) -> frozenset[str]:
    if isinstance(extensions, str | bytes) or not isinstance(extensions, Iterable):
        raise TypeError("extensions must be a list of extension identifiers")
    names = tuple(extensions)
    if not all(isinstance(name, str) for name in names):
        raise TypeError("extensions must be a list of extension identifiers")
    return frozenset(names)


def authenticator_config(
    protocol: str = "ctap2_1",
    transport: str = "usb",
    has_resident_key: bool = True,
    has_user_verification: bool = True,
    extensions: Iterable[str] | None = None,
    default_backup_eligibility: bool = False,
    default_backup_state: bool = False,
    attestation: str = "none",
    aaguid: str | bytes | uuid.UUID | None = None,
    backup_sign_count_policy: str = "zero",
    reset_window_s: float | None = 10.0,
    capabilities: dict[str, bool] | None = None,
    ctap2_version: str | None = None,
    keep_non_discoverable: bool = False,
) -> AuthenticatorConfig:
    """W3C WebDriver 11.1 Authenticator Configuration (and vauth's own settings), as the core
    takes it; ValueError (UnsupportedOption) for what cannot be offered. ``capabilities``: CDP's
    extension switches (``CAPABILITIES``' names); ``ctap2_version``: CDP's ``ctap2Version``;
    ``keep_non_discoverable``: keep those credentials whole in the store, as Chromium's virtual
    authenticator does (Get Credentials lists them, Remove Credential ends them)."""
    u2f_only = protocol in ("u2f", "ctap1/u2f")
    if u2f_only:  # U2F: non-discoverable ES256 credentials, no UV, no extensions
        protocol, has_resident_key, has_user_verification = "ctap2", False, False
        extensions, capabilities = (), None
    elif ctap2_version is not None:
        if ctap2_version not in CTAP2_VERSIONS:
            raise ValueError(f"ctap2Version must be ctap2_0 or ctap2_1, not {ctap2_version!r}")
        protocol = CTAP2_VERSIONS[ctap2_version]
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {sorted(TRANSPORTS)}, not {transport!r}")
    enabled = SUPPORTED_EXTENSIONS if extensions is None else _identifiers(extensions)
    unknown = enabled - SUPPORTED_EXTENSIONS
    if unknown:
        raise UnsupportedOption(f"unsupported extensions: {', '.join(sorted(unknown))}")
    return AuthenticatorConfig(
        protocol=protocol,
        transport=transport,
        has_resident_key=has_resident_key,
        has_user_verification=has_user_verification,
        attestation=AttestationMode.parse(attestation),
        aaguid=parse_aaguid(aaguid),
        default_backup_eligibility=default_backup_eligibility,
        default_backup_state=default_backup_state,
        backup_sign_count_policy=SignCountPolicy(backup_sign_count_policy),
        reset_window_s=reset_window_s,
        keep_non_discoverable=keep_non_discoverable,
        u2f_only=u2f_only,
        extensions=_switched(
            frozenset().union(*(_CTAP_FOR_EXTENSION[name] for name in enabled)), capabilities
        ),
    )


def _switched(ctap: frozenset[str], capabilities: dict[str, bool] | None) -> frozenset[str]:
    """``ctap`` with CDP's extension switches applied: those off first, then those on."""
    switches = capabilities or {}
    unknown = set(switches) - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"unknown capabilities: {', '.join(sorted(unknown))}")
    for name, on in switches.items():
        if not on:
            ctap -= CAPABILITIES[name][1]
    for name, on in switches.items():
        if on:
            ctap |= CAPABILITIES[name][0]
    return ctap


def configured_device(config: Configuration) -> TesterDevice:
    """An ephemeral device from an Authenticator Configuration."""
    authenticator, presence, seed = configuration_parts(config)
    return TesterDevice.ephemeral(authenticator, presence, seed)


def configuration_parts(
    config: Configuration,
) -> tuple[AuthenticatorConfig, AutoPresence, int | str | None]:
    """An Authenticator Configuration as the core's configuration, the automatic presence it
    asks for, and its key seed."""
    presence = AutoPresence(
        config.is_user_consenting, config.is_user_verified, config.automatic_presence_simulation
    )
    made = authenticator_config(
        protocol=config.protocol,
        transport=config.transport,
        has_resident_key=config.has_resident_key,
        has_user_verification=config.has_user_verification,
        extensions=config.extensions,
        default_backup_eligibility=config.default_backup_eligibility,
        default_backup_state=config.default_backup_state,
        attestation=config.attestation,
        aaguid=config.aaguid,
        capabilities=config.capabilities(),
        ctap2_version=config.ctap2_version,
        # A tester daemon's authenticators are Chromium's virtual ones: non-discoverable
        # credentials listed and removable, and counters on backup-eligible ones too.
        keep_non_discoverable=True,
        backup_sign_count_policy="counter",
    )
    seed = config.seed
    return made, presence, seed


class Device:
    """An authenticator with its client, store and settings; every operation is async."""

    def __init__(
        self,
        config: AuthenticatorConfig,
        store: CredentialStore,
        presence: UserPresence,
        *,
        vault: Vault | None = None,
        clock: Clock | None = None,
        key_source: KeySource | None = None,
        pin_hasher: PinHasher | None = None,
        pin: str | None = None,
        responses: CeremonyEvents | None = None,
    ) -> None:
        self.vault = vault
        self.store = store
        self.presence = presence
        # A vault's private keys never leave it, not even in an event.
        self.responses = responses or CeremonyEvents(Events(), with_private_keys=vault is None)
        self.events = self.responses.events
        env = Environment(
            store,
            presence,
            clock or SystemClock(),
            key_source or RandomKeySource(),
            pin_hasher or InlinePinHasher(),
            self.responses,
            sync=vault.store if vault is not None else DeviceOnly(),
        )
        self.authenticator = Authenticator(env, config)
        self._pin = pin
        self._client: WebAuthnClient | None = None
        # How vauth's own WebAuthn client (socket, native host, HTTP API) reaches the
        # authenticator, as its responses say (attachment and transports). uhid is not this:
        # there the browser is the client, and getInfo's transports say "usb".
        self.client_transport = config.transport

    @classmethod
    async def open_vault(
        cls,
        path: str | os.PathLike[str],
        passphrase: str | bytes | bytearray | None,
        presence: UserPresence,
        config: AuthenticatorConfig | None = None,
    ) -> Device:
        """A device on the vault at ``path`` (made if missing), opened on a thread; the PIN's
        Argon2id runs on one too. Without a passphrase the existing vault stays locked until
        it is unlocked; its settings are read then."""
        from vauth.vault.pin_hash import ThreadedPinHasher

        if passphrase is None:
            vault = await asyncio.to_thread(Vault.open_locked, path)
        else:
            vault = await asyncio.to_thread(Vault.open, path, passphrase)
        device = cls(
            config or authenticator_config(),
            vault.store,
            presence,
            vault=vault,
            pin_hasher=ThreadedPinHasher(),
        )
        # A vault's passkeys are the platform passkeys of the machine vauth runs on: reached
        # in-process, they report attachment "platform" and transports ["internal"] (WebAuthn L3
        # 5.4.5, 5.8.4), so sites do not label them security keys (issue 14).
        device.client_transport = PLATFORM_TRANSPORT
        if not vault.locked:
            await device.load_settings()
        return device

    async def load_settings(self) -> None:
        """What its user set, kept in its store: the name (credProps, exports)."""
        stored = await self.store.get_setting(DISPLAY_NAME_SETTING)
        self.client.display_name = stored.decode("utf-8", "replace") if stored else None

    # -- CTAP and WebAuthn ----------------------------------------------------------------

    @property
    def client(self) -> WebAuthnClient:
        """The WebAuthn client in front of the authenticator, as a browser would be."""
        if self._client is None:
            from vauth.webauthn.client import WebAuthnClient

            # rk and uv come from getInfo, which reports the configuration.
            self._client = WebAuthnClient(
                self.authenticator, transport=self.client_transport, pin=self._pin
            )
        return self._client

    @property
    def display_name(self) -> str | None:
        """The name its user gave this authenticator (credProps' authenticatorDisplayName)."""
        return self.client.display_name

    async def set_display_name(self, name: str) -> None:
        """Name this authenticator (an empty name: none), kept in its store."""
        await self.store.set_setting(DISPLAY_NAME_SETTING, name.encode())
        self.client.display_name = name or None

    async def process(self, request: bytes) -> bytes:
        """One CTAP2 message (command byte || CBOR) -> status byte || CBOR. What it changes of
        getInfo, the client sees by the authenticator's state version."""
        return await self.authenticator.process(bytes(request))

    async def process_apdu(self, apdu: bytes) -> bytes:
        """One CTAP1/U2F request APDU -> response data || status word."""
        return await process_apdu(self.authenticator, apdu)

    async def create(
        self, options: dict[str, Any] | str, origin: str, top_origin: str | None = None
    ) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptionsJSON -> RegistrationResponseJSON."""
        if self.authenticator.config.u2f_only:
            return await self._u2f().create(options, origin, top_origin=top_origin)
        return await self.client.create(options, origin, top_origin=top_origin)

    async def get(
        self, options: dict[str, Any] | str, origin: str, top_origin: str | None = None
    ) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptionsJSON -> AuthenticationResponseJSON."""
        if self.authenticator.config.u2f_only:
            return await self._u2f().get(options, origin, top_origin=top_origin)
        return await self.client.get(options, origin, top_origin=top_origin)

    def _u2f(self) -> U2fClient:
        """The client of a U2F-only authenticator: U2F_REGISTER and U2F_AUTHENTICATE."""
        from vauth.webauthn.u2f import U2fClient

        return U2fClient(self.process_apdu, self.client_transport)

    async def set_pin(self, pin: str) -> None:
        await self.client.set_pin(pin)

    async def ensure_pin(self, pin: str) -> None:
        """Set ``pin`` unless the authenticator has one, as a browser's PIN setup would."""
        if not (await self.client.info()).options.get("clientPin"):
            await self.client.set_pin(pin)

    # -- WebDriver credential commands ----------------------------------------------------

    def credential_from_parameters(self, params: Any) -> Credential:
        """W3C WebDriver 11.3 Credential Parameters, parsed by the one parser exports use
        (``vault/webdriver.py``): ValueError naming what is wrong."""
        config = self.authenticator.config
        try:
            return webdriver.parse(
                params,
                self.authenticator.env.clock.now_ms(),
                backup_policy=config.backup_sign_count_policy,
                default_backup_eligibility=config.default_backup_eligibility,
                default_backup_state=config.default_backup_state,
            ).credential
        except EntryError as exc:
            raise ValueError(f"Credential Parameters: {exc}") from None

    async def add_credential(self, params: Any) -> None:
        """WebDriver "Add Credential"."""
        await self.store.put(self.credential_from_parameters(params))

    async def credentials(self) -> list[dict[str, Any]]:
        """WebDriver "Get Credentials". A vault's private keys stay in it: ``privateKey`` is
        left out (use an export)."""
        with_keys = self.vault is None
        return [credential_parameters(c, with_keys) for c in await self.store.all()]

    async def remove_credential(self, credential_id: str) -> None:
        if not await self.store.delete(b64url_field(credential_id, "credentialId")):
            raise KeyError(f"no credential with id {credential_id}")

    async def remove_all_credentials(self) -> None:
        await self.store.clear()

    async def credential(self, credential_id: str) -> dict[str, Any]:
        """CDP WebAuthn.getCredential: one stored credential as Credential Parameters."""
        found = await stored_credential(self.store, credential_id)
        return credential_parameters(found, self.vault is None)

    # -- the Signal API (WebAuthn L3 5.1.10) ----------------------------------------------

    async def signal_unknown_credential(
        self, rp_id: str, credential_id: bytes
    ) -> Credential | None:
        """WebAuthn L3 signalUnknownCredential: remove it (credentialDeleted), if it is this
        RP's; the one removed, or None."""
        credential = await self.store.get(credential_id)
        if credential is None or credential.rp_id != rp_id:
            return None
        await self.store.delete(credential_id)
        self.events.deleted(credential_id)
        return credential

    async def signal_all_accepted_credentials(
        self, rp_id: str, user_handle: bytes, accepted: set[bytes]
    ) -> list[Credential]:
        """WebAuthn L3 signalAllAcceptedCredentials: remove this user's others at this RP."""
        removed = []
        for credential in await self.store.find(_rp_id_hash(rp_id)):
            if credential.user_handle == user_handle and credential.credential_id not in accepted:
                await self.store.delete(credential.credential_id)
                self.events.deleted(credential.credential_id)
                removed.append(credential)
        return removed

    async def signal_current_user_details(
        self, rp_id: str, user_handle: bytes, name: str, display_name: str
    ) -> list[Credential]:
        """WebAuthn L3 signalCurrentUserDetails: rename this user's passkeys at this RP
        (credentialUpdated for each one changed)."""
        updated = []
        for credential in await self.store.find(_rp_id_hash(rp_id)):
            if credential.user_handle == user_handle and (
                credential.user_name != name or credential.user_display_name != display_name
            ):
                credential.user_name, credential.user_display_name = name, display_name
                await self.store.update(credential)
                self.events.credential(
                    CREDENTIAL_UPDATED, credential, self.responses.with_private_keys
                )
                updated.append(credential)
        return updated

    # -- exports and imports --------------------------------------------------------------

    async def export_credentials(
        self,
        format: str = "cxf",
        *,
        passphrase: str | None = None,
        plaintext: bool = False,
        kdf: KdfParams | None = None,
    ) -> bytes:
        from vauth.vault.exchange import export_credentials

        return await export_credentials(
            self.store,
            format,
            passphrase=passphrase,
            plaintext=plaintext,
            kdf=kdf,
            unseal=functools.partial(unsealed, self.authenticator),
            exporter_name=self.display_name,
        )

    async def import_credentials(
        self,
        data: bytes,
        *,
        passphrase: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Import an export into the store; an authenticator with no name takes the name of
        the vauth that exported it (sites see the same authenticatorDisplayName after a move)."""
        from vauth.vault.exchange import import_credentials

        report = await import_credentials(
            self.store,
            data,
            passphrase=passphrase,
            progress=progress,
            large_blob_limit=self.authenticator.config.max_serialized_large_blob_array,
        )
        if report.authenticator_name and not self.display_name:  # a move keeps the name
            await self.set_display_name(report.authenticator_name)
        return report

    async def attestation_ca_pem(self) -> str:
        """The per-installation attestation CA certificate, for an RP's trust store."""
        return (await self.authenticator.attestation_identity()).ca_pem()

    # -- the vault ------------------------------------------------------------------------

    def forget_secrets(self) -> None:
        """The vault locked: drop what the authenticator holds in memory (the wrapping key
        and its cache of opened sealed keys, the attestation key, PIN state)."""
        self.authenticator.forget_secrets()

    def close(self) -> None:
        if self.vault is not None:
            self.vault.close()


class TesterDevice(Device):
    """An ephemeral authenticator, in memory, with the controls a tester has over it
    (``tester``). The vault's device is a plain ``Device``: it has no ``tester`` to ask."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(
        self,
        config: AuthenticatorConfig,
        presence: UserPresence,
        *,
        store: CredentialStore | None = None,
        clock: Clock | None = None,
        key_source: KeySource | None = None,
        pin_hasher: PinHasher | None = None,
        pin: str | None = None,
    ) -> None:
        store = store or InMemoryStore()
        responses = TesterResponses(Events())
        super().__init__(
            config,
            store,
            presence,
            clock=clock,
            key_source=key_source,
            pin_hasher=pin_hasher,
            pin=pin,
            responses=responses,
        )
        self.tester = TesterControls(store, responses, presence)

    @classmethod
    def ephemeral(
        cls,
        config: AuthenticatorConfig,
        presence: UserPresence,
        seed: int | str | bytes | None = None,
        pin_hasher: PinHasher | None = None,
    ) -> TesterDevice:
        """A device that keeps nothing: an in-memory store, keys from ``seed`` if given."""
        keys = SeededKeySource(seed) if seed is not None else RandomKeySource()
        return cls(config, presence, key_source=keys, pin_hasher=pin_hasher)


def _rp_id_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode("utf-8", "surrogatepass")).digest()


def credential_parameters(credential: Credential, with_private_key: bool = True) -> dict[str, Any]:
    """A credential as W3C WebDriver Credential Parameters (privateKey: base64url PKCS#8)."""
    params = webdriver.parameters(credential)
    if not with_private_key:
        del params["privateKey"]
    return params
