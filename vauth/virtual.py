"""``VirtualAuthenticator``: the public, scriptable, in-process authenticator.

Its constructor mirrors the W3C WebDriver "Add Virtual Authenticator" configuration and its
methods the WebDriver credential commands; ``create``/``get`` take WebAuthn L3 JSON options and
return what ``PublicKeyCredential.toJSON()`` gives, as a browser in front of it would.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import uuid
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from vauth.clock import SystemClock
from vauth.ctap.attestation import AttestationMode
from vauth.ctap.authenticator import Authenticator, Command
from vauth.ctap.config import DEFAULT_AAGUID, MAX_USER_ID_LENGTH, AuthenticatorConfig
from vauth.ctap.cose import CoseKey
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.ctap.ctap1 import process_apdu
from vauth.ctap.lookup import unsealed
from vauth.ctap.pin_state import InlinePinHasher
from vauth.ctap.ports import Clock, CredentialStore, Environment, KeySource, UserPresence
from vauth.keys import RandomKeySource, SeededKeySource
from vauth.presence import AutoPresence, DenyPresence, ScriptedPresence
from vauth.store import InMemoryStore
from vauth.vault import Vault, portable, webdriver
from vauth.vault.pin_hash import ThreadedPinHasher
from vauth.vault.portable import b64url_field

if TYPE_CHECKING:
    from collections.abc import Callable

    from vauth.vault.exchange import ImportReport
    from vauth.vault.kdf import KdfParams
    from vauth.webauthn.client import WebAuthnClient

T = TypeVar("T")

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
TRANSPORTS = frozenset({"usb", "nfc", "ble", "internal", "hybrid"})
# Commands that may change what getInfo says (the PIN, the configuration).
_STATE_CHANGING = frozenset(bytes([c]) for c in (Command.CLIENT_PIN, Command.RESET, Command.CONFIG))


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


class UnsupportedOption(ValueError):
    """A well-formed setting that vauth does not offer (WebDriver's "unsupported operation")."""


def _identifiers(extensions: Iterable[str]) -> frozenset[str]:
    if isinstance(extensions, str | bytes) or not isinstance(extensions, Iterable):
        raise TypeError("extensions must be a list of extension identifiers")
    names = tuple(extensions)
    if not all(isinstance(name, str) for name in names):
        raise TypeError("extensions must be a list of extension identifiers")
    return frozenset(names)


DISPLAY_NAME_SETTING = "display_name"


class VirtualAuthenticator:
    """A CTAP 2.1 authenticator with a WebAuthn client in front, in this process."""

    def __init__(
        self,
        protocol: str = "ctap2_1",
        transport: str = "usb",
        has_resident_key: bool = True,
        has_user_verification: bool = True,
        is_user_consenting: bool = True,
        is_user_verified: bool = True,
        extensions: Iterable[str] | None = None,
        default_backup_eligibility: bool = False,
        default_backup_state: bool = False,
        attestation: str = "none",
        aaguid: str | bytes | uuid.UUID | None = None,
        seed: int | str | bytes | None = None,
        *,
        vault: str | os.PathLike[str] | None = None,
        passphrase: str | bytes | bytearray | None = None,
        pin: str | None = None,
        store: CredentialStore | None = None,
        presence: UserPresence | None = None,
        clock: Clock | None = None,
        key_source: KeySource | None = None,
        backup_sign_count_policy: str = "zero",
        reset_window_s: float | None = 10.0,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {sorted(TRANSPORTS)}, not {transport!r}")
        enabled = SUPPORTED_EXTENSIONS if extensions is None else _identifiers(extensions)
        unknown = enabled - SUPPORTED_EXTENSIONS
        if unknown:
            raise UnsupportedOption(f"unsupported extensions: {', '.join(sorted(unknown))}")
        self.extensions = enabled
        config = AuthenticatorConfig(
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
            extensions=frozenset().union(*(_CTAP_FOR_EXTENSION[name] for name in enabled)),
        )
        self._presence = presence or AutoPresence(is_user_consenting, is_user_verified)
        self.vault: Vault | None = None
        if vault is not None:
            if store is not None:
                raise ValueError("give a vault or a store, not both")
            if passphrase is None:
                raise ValueError("a vault needs its passphrase")
            self.vault = Vault.open(vault, passphrase)
            store = self.vault.store
        self._store = store or InMemoryStore()
        keys = key_source or (SeededKeySource(seed) if seed is not None else RandomKeySource())
        # Ports that never suspend let the sync API drive coroutines inline, without a loop;
        # otherwise there is a loop to keep free, and the PIN's Argon2id runs on a thread.
        self._inline = isinstance(self._store, InMemoryStore) and isinstance(
            self._presence, AutoPresence | DenyPresence | ScriptedPresence
        )
        hasher = InlinePinHasher() if self._inline else ThreadedPinHasher()
        env = Environment(self._store, self._presence, clock or SystemClock(), keys, hasher)
        self.authenticator = Authenticator(env, config)
        self._client: WebAuthnClient | None = None
        self._pin = pin
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        if self.vault is not None:  # the name its user gave it (credProps, exports) lives there
            stored = self._run(self._store.get_setting(DISPLAY_NAME_SETTING))
            self.client.display_name = stored.decode("utf-8", "replace") if stored else None
        # With pin=, as a browser's PIN setup would: set it now unless the authenticator has one.
        if pin is not None and not self._run(self.client.info()).options.get("clientPin"):
            self._run(self.client.set_pin(pin))

    # -- CTAP and WebAuthn ----------------------------------------------------------------

    @property
    def client(self) -> WebAuthnClient:
        """The WebAuthn client in front of the authenticator, as a browser would be."""
        if self._client is None:
            from vauth.webauthn.client import WebAuthnClient

            # rk and uv come from getInfo, which reports the configuration.
            self._client = WebAuthnClient(
                self.authenticator, transport=self.authenticator.config.transport, pin=self._pin
            )
        return self._client

    @property
    def display_name(self) -> str | None:
        """The name its user gave this authenticator (credProps' authenticatorDisplayName)."""
        return self.client.display_name

    async def aset_display_name(self, name: str) -> None:
        """Name this authenticator (an empty name: none), kept in the store it has."""
        await self._store.set_setting(DISPLAY_NAME_SETTING, name.encode())
        self.client.display_name = name or None

    def set_pin(self, pin: str) -> None:
        """Set the authenticator's PIN (or change it from the one this object was given), and
        use it for ceremonies that need user verification, as a browser would."""
        self._run(self.client.set_pin(pin))

    def process(self, request: bytes) -> bytes:
        """One CTAP2 message (command byte || CBOR) -> status byte || CBOR."""
        return self._run(self.aprocess(request))

    def process_apdu(self, apdu: bytes) -> bytes:
        """One CTAP1/U2F request APDU -> response data || status word."""
        return self._run(self.aprocess_apdu(apdu))

    def create(self, options: dict[str, Any] | str, origin: str) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptionsJSON -> RegistrationResponseJSON."""
        return self._run(self.client.create(options, origin))

    def get(self, options: dict[str, Any] | str, origin: str) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptionsJSON -> AuthenticationResponseJSON."""
        return self._run(self.client.get(options, origin))

    async def aprocess(self, request: bytes) -> bytes:
        if request[:1] in _STATE_CHANGING and self._client is not None:
            self._client.forget_info()  # the PIN or configuration may change under the client
        return await self.authenticator.process(bytes(request))

    async def aprocess_apdu(self, apdu: bytes) -> bytes:
        return await process_apdu(self.authenticator, apdu)

    async def acreate(
        self, options: dict[str, Any] | str, origin: str, top_origin: str | None = None
    ) -> dict[str, Any]:
        return await self.client.create(options, origin, top_origin=top_origin)

    async def aget(
        self, options: dict[str, Any] | str, origin: str, top_origin: str | None = None
    ) -> dict[str, Any]:
        return await self.client.get(options, origin, top_origin=top_origin)

    # -- WebDriver credential commands ----------------------------------------------------

    def add_credential(self, params: dict[str, Any]) -> None:
        """WebDriver "Add Credential": Credential Parameters with camelCase keys."""
        self._run(self.aadd_credential(params))

    def get_credentials(self) -> list[dict[str, Any]]:
        """WebDriver "Get Credentials": every stored credential as Credential Parameters.
        A vault's private keys stay in it: ``privateKey`` is left out (use an export)."""
        return self._run(self.aget_credentials())

    def remove_credential(self, credential_id: str) -> None:
        self._run(self.aremove_credential(credential_id))

    def remove_all_credentials(self) -> None:
        self._run(self.aremove_all_credentials())

    async def aadd_credential(self, params: dict[str, Any]) -> None:
        await self._store.put(self._credential_from_params(params))

    async def aget_credentials(self) -> list[dict[str, Any]]:
        credentials = await self._store.all()
        with_keys = self.vault is None
        return [credential_parameters(c, with_private_key=with_keys) for c in credentials]

    async def aremove_credential(self, credential_id: str) -> None:
        if not await self._store.delete(b64url_field(credential_id, "credentialId")):
            raise KeyError(f"no credential with id {credential_id}")

    async def aremove_all_credentials(self) -> None:
        await self._store.clear()

    def export_credentials(
        self,
        format: str = "cxf",
        *,
        passphrase: str | None = None,
        plaintext: bool = False,
        kdf: KdfParams | None = None,
    ) -> bytes:
        """Export as FIDO CXF (``cxf``) or WebDriver Credential Parameters (``webdriver``),
        encrypted under ``passphrase`` unless ``plaintext=True`` is asked for explicitly."""
        return self._run(
            self.aexport_credentials(format, passphrase=passphrase, plaintext=plaintext, kdf=kdf)
        )

    def import_credentials(
        self,
        data: bytes,
        *,
        passphrase: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Import an export: all it accepts, or nothing; the report says what it skipped."""
        return self._run(self.aimport_credentials(data, passphrase=passphrase, progress=progress))

    async def aexport_credentials(
        self,
        format: str = "cxf",
        *,
        passphrase: str | None = None,
        plaintext: bool = False,
        kdf: KdfParams | None = None,
    ) -> bytes:
        from vauth.vault.exchange import export_credentials

        return await export_credentials(
            self._store,
            format,
            passphrase=passphrase,
            plaintext=plaintext,
            kdf=kdf,
            unseal=functools.partial(unsealed, self.authenticator),
            exporter_name=self.display_name,
        )

    async def aimport_credentials(
        self,
        data: bytes,
        *,
        passphrase: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        from vauth.vault.exchange import import_credentials

        return await import_credentials(
            self._store,
            data,
            passphrase=passphrase,
            progress=progress,
            large_blob_limit=self.authenticator.config.max_serialized_large_blob_array,
        )

    def set_user_verified(self, value: bool) -> None:
        """WebDriver "Set User Verified"."""
        self._auto_presence().verified = bool(value)

    def set_user_consenting(self, value: bool) -> None:
        self._auto_presence().consenting = bool(value)

    def set_credential_properties(
        self,
        credential_id: str,
        backup_eligibility: bool | None = None,
        backup_state: bool | None = None,
    ) -> None:
        """WebDriver "Set Credential Properties" (backup eligibility and state)."""
        raw_id = b64url_field(credential_id, "credentialId")
        credential = self._run(self._store.get(raw_id))
        if credential is None:
            raise KeyError(f"no credential with id {credential_id}")
        if backup_eligibility is not None:
            credential.backup_eligible = backup_eligibility
        if backup_state is not None:
            credential.backup_state = backup_state
        self._run(self._store.update(credential))

    def attestation_ca_pem(self) -> str:
        """The per-installation attestation CA certificate, for an RP's trust store."""
        return self._run(self.authenticator.attestation_identity()).ca_pem()

    def power_cycle(self) -> None:
        self.authenticator.power_cycle()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.vault is not None:
            self.vault.close()
        if self._worker is not None:
            self._worker.shutdown()
        if self._loop is not None:
            self._loop.close()

    def __enter__(self) -> VirtualAuthenticator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    def _auto_presence(self) -> AutoPresence:
        if not isinstance(self._presence, AutoPresence):
            raise TypeError("user consent and verification are scripted by the presence port")
        return self._presence

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("this VirtualAuthenticator is closed")
        if self._inline:
            try:
                coro.send(None)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            coro.close()
            raise RuntimeError("a port suspended; use the async methods (aprocess, ...)")
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return self._loop.run_until_complete(coro)
            # Called from inside an event loop: block on a private thread, as sync APIs do.
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="vauth")
            return self._worker.submit(self._loop.run_until_complete, coro).result()

    def _credential_from_params(self, params: dict[str, Any]) -> Credential:
        if not isinstance(params, dict):
            raise ValueError("Credential Parameters must be an object")
        for name in ("credentialId", "isResidentCredential", "rpId", "privateKey", "signCount"):
            if name not in params:
                raise ValueError(f"Credential Parameters: {name} is required")
        credential_id = b64url_field(params["credentialId"], "credentialId")
        if not 1 <= len(credential_id) <= 1023:
            raise ValueError("credentialId must be 1 to 1023 bytes")
        resident = params["isResidentCredential"]
        if not isinstance(resident, bool):
            raise ValueError("isResidentCredential must be a boolean")
        rp_id = params["rpId"]
        if not isinstance(rp_id, str) or not rp_id:
            raise ValueError("rpId must be a non-empty string")
        try:
            key = CoseKey.from_pkcs8(b64url_field(params["privateKey"], "privateKey"))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"privateKey is not a supported PKCS#8 key: {exc}") from None
        user_handle = params.get("userHandle")
        handle = None if user_handle is None else b64url_field(user_handle, "userHandle")
        if resident and not handle:
            raise ValueError("userHandle is required for a resident credential")
        if handle is not None and len(handle) > MAX_USER_ID_LENGTH:
            raise ValueError("userHandle must be at most 64 bytes")
        sign_count = params["signCount"]
        if not isinstance(sign_count, int) or isinstance(sign_count, bool) or sign_count < 0:
            raise ValueError("signCount must be a non-negative integer")
        config = self.authenticator.config
        eligible = _flag(params, "backupEligibility", config.default_backup_eligibility)
        large_blob = params.get("largeBlob")
        return portable.new_credential(
            credential_id,
            rp_id,
            handle,
            key,
            discoverable=resident,
            user_name=_text(params, "userName"),
            user_display_name=_text(params, "userDisplayName"),
            sign_count=sign_count,
            sign_count_policy=(
                config.backup_sign_count_policy if eligible else SignCountPolicy.COUNTER
            ),
            backup_eligible=eligible,
            backup_state=_flag(params, "backupState", config.default_backup_state),
            created=self.authenticator.env.clock.now_ms(),
            large_blob=None if large_blob is None else b64url_field(large_blob, "largeBlob"),
        )


def _flag(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a boolean")
    return value


def _text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def credential_parameters(credential: Credential, with_private_key: bool = True) -> dict[str, Any]:
    """A credential as W3C WebDriver Credential Parameters (privateKey: base64url PKCS#8)."""
    params = webdriver.parameters(credential)
    if not with_private_key:
        del params["privateKey"]
    return params
