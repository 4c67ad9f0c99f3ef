"""``VirtualAuthenticator``: the public, scriptable, in-process authenticator.

Its constructor mirrors the W3C WebDriver "Add Virtual Authenticator" configuration and its
methods the WebDriver credential commands; ``create``/``get`` take WebAuthn L3 JSON options and
return what ``PublicKeyCredential.toJSON()`` gives, as a browser in front of it would.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from vauth.app.device import (
    DISPLAY_NAME_SETTING,
    SUPPORTED_EXTENSIONS,
    TRANSPORTS,
    Device,
    TesterDevice,
    UnsupportedOption,
    authenticator_config,
    credential_parameters,
    parse_aaguid,
)
from vauth.app.keys import RandomKeySource, SeededKeySource
from vauth.app.presence import AutoPresence, DenyPresence, ScriptedPresence
from vauth.app.store import InMemoryStore
from vauth.app.tester import (
    CredentialProperties,
    Events,
    Listener,
    TesterControls,
    TesterResponses,
    cdp_arguments,
)
from vauth.ctap.pin_state import InlinePinHasher
from vauth.ctap.ports import Clock, CredentialStore, KeySource, UserPresence
from vauth.vault import Vault
from vauth.vault.pin_hash import ThreadedPinHasher
from vauth.vault.portable import b64url_field

if TYPE_CHECKING:
    from collections.abc import Callable

    from vauth.ctap.authenticator import Authenticator
    from vauth.vault.exchange import ImportReport
    from vauth.vault.kdf import KdfParams
    from vauth.webauthn.client import WebAuthnClient

T = TypeVar("T")
__all__ = [
    "DISPLAY_NAME_SETTING",
    "SUPPORTED_EXTENSIONS",
    "TRANSPORTS",
    "UnsupportedOption",
    "VirtualAuthenticator",
    "credential_parameters",
    "parse_aaguid",
]


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
        has_large_blob: bool | None = None,
        has_cred_blob: bool | None = None,
        has_min_pin_length: bool | None = None,
        has_prf: bool | None = None,
        has_hmac_secret: bool | None = None,
        has_hmac_secret_mc: bool | None = None,
        automatic_presence_simulation: bool = True,
        ctap2_version: str | None = None,
        keep_non_discoverable: bool = False,
    ) -> None:
        """W3C WebDriver's Authenticator Configuration, and CDP's VirtualAuthenticatorOptions:
        ``has_prf`` & co. turn an extension on (True) or off (False) over ``extensions``;
        ``ctap2_version`` ("ctap2_0", "ctap2_1") chooses the protocol; ``keep_non_discoverable``
        keeps non-discoverable credentials whole in the store, listed and removable (as CDP's)."""
        switches = {
            "hasLargeBlob": has_large_blob,
            "hasCredBlob": has_cred_blob,
            "hasMinPinLength": has_min_pin_length,
            "hasPrf": has_prf,
            "hasHmacSecret": has_hmac_secret,
            "hasHmacSecretMc": has_hmac_secret_mc,
        }
        config = authenticator_config(
            protocol=protocol,
            transport=transport,
            has_resident_key=has_resident_key,
            has_user_verification=has_user_verification,
            extensions=extensions,
            default_backup_eligibility=default_backup_eligibility,
            default_backup_state=default_backup_state,
            attestation=attestation,
            aaguid=aaguid,
            backup_sign_count_policy=backup_sign_count_policy,
            reset_window_s=reset_window_s,
            capabilities={name: on for name, on in switches.items() if on is not None},
            ctap2_version=ctap2_version,
            keep_non_discoverable=keep_non_discoverable,
        )
        self.extensions = SUPPORTED_EXTENSIONS if extensions is None else frozenset(extensions)
        presence = presence or AutoPresence(
            is_user_consenting, is_user_verified, automatic_presence_simulation
        )
        opened: Vault | None = None
        if vault is not None:
            if store is not None:
                raise ValueError("give a vault or a store, not both")
            if passphrase is None:
                raise ValueError("a vault needs its passphrase")
            opened = Vault.open(vault, passphrase)
            store = opened.store
        store = store or InMemoryStore()
        keys = key_source or (SeededKeySource(seed) if seed is not None else RandomKeySource())
        # Ports that never suspend let the sync API drive coroutines inline, without a loop;
        # otherwise there is a loop to keep free, and the PIN's Argon2id runs on a thread.
        self._inline = isinstance(store, InMemoryStore) and isinstance(
            presence, AutoPresence | DenyPresence | ScriptedPresence
        )
        pin_hasher = InlinePinHasher() if self._inline else ThreadedPinHasher()
        self.device: Device
        self.tester: TesterControls
        if opened is None:
            self.device = TesterDevice(
                config,
                presence,
                store=store,
                clock=clock,
                key_source=keys,
                pin_hasher=pin_hasher,
                pin=pin,
            )
            self.tester = self.device.tester
        else:
            # A script that opened the vault with its passphrase may script it too: the facade
            # holds the controls, never the daemon's vault device.
            responses = TesterResponses(Events(), with_private_keys=False)
            self.device = Device(
                config,
                store,
                presence,
                vault=opened,
                clock=clock,
                key_source=keys,
                pin_hasher=pin_hasher,
                pin=pin,
                responses=responses,
            )
            self.tester = TesterControls(store, responses, presence)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        if opened is not None:
            self._run(self.device.load_settings())
        if pin is not None:
            self._run(self.device.ensure_pin(pin))

    @classmethod
    def from_cdp(cls, options: dict[str, Any], **more: Any) -> VirtualAuthenticator:
        """An authenticator as CDP's WebAuthn.addVirtualAuthenticator would make it from the
        same VirtualAuthenticatorOptions (CDP's defaults included); ``more``: vauth's own
        arguments (seed, vault, ...)."""
        return cls(**cdp_arguments(options), **more)

    @property
    def authenticator(self) -> Authenticator:
        return self.device.authenticator

    @property
    def vault(self) -> Vault | None:
        return self.device.vault

    # -- CTAP and WebAuthn ----------------------------------------------------------------

    @property
    def client(self) -> WebAuthnClient:
        """The WebAuthn client in front of the authenticator, as a browser would be."""
        return self.device.client

    @property
    def display_name(self) -> str | None:
        """The name its user gave this authenticator (credProps' authenticatorDisplayName)."""
        return self.device.display_name

    async def aset_display_name(self, name: str) -> None:
        """Name this authenticator (an empty name: none), kept in the store it has."""
        await self.device.set_display_name(name)

    def set_pin(self, pin: str) -> None:
        """Set the authenticator's PIN (or change it from the one this object was given), and
        use it for ceremonies that need user verification, as a browser would."""
        self._run(self.device.set_pin(pin))

    def process(self, request: bytes) -> bytes:
        """One CTAP2 message (command byte || CBOR) -> status byte || CBOR."""
        return self._run(self.device.process(request))

    def process_apdu(self, apdu: bytes) -> bytes:
        """One CTAP1/U2F request APDU -> response data || status word."""
        return self._run(self.device.process_apdu(apdu))

    def create(self, options: dict[str, Any] | str, origin: str) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptionsJSON -> RegistrationResponseJSON."""
        return self._run(self.device.create(options, origin))

    def get(self, options: dict[str, Any] | str, origin: str) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptionsJSON -> AuthenticationResponseJSON."""
        return self._run(self.device.get(options, origin))

    async def aprocess(self, request: bytes) -> bytes:
        return await self.device.process(request)

    async def aprocess_apdu(self, apdu: bytes) -> bytes:
        return await self.device.process_apdu(apdu)

    async def acreate(
        self, options: dict[str, Any] | str, origin: str, top_origin: str | None = None
    ) -> dict[str, Any]:
        return await self.device.create(options, origin, top_origin)

    async def aget(
        self, options: dict[str, Any] | str, origin: str, top_origin: str | None = None
    ) -> dict[str, Any]:
        return await self.device.get(options, origin, top_origin)

    # -- WebDriver credential commands ----------------------------------------------------

    def add_credential(self, params: dict[str, Any]) -> None:
        """WebDriver "Add Credential": Credential Parameters with camelCase keys."""
        self._run(self.device.add_credential(params))

    def get_credentials(self) -> list[dict[str, Any]]:
        """WebDriver "Get Credentials": every stored credential as Credential Parameters.
        A vault's private keys stay in it: ``privateKey`` is left out (use an export)."""
        return self._run(self.device.credentials())

    def remove_credential(self, credential_id: str) -> None:
        self._run(self.device.remove_credential(credential_id))

    def remove_all_credentials(self) -> None:
        self._run(self.device.remove_all_credentials())

    async def aadd_credential(self, params: dict[str, Any]) -> None:
        await self.device.add_credential(params)

    async def aget_credentials(self) -> list[dict[str, Any]]:
        return await self.device.credentials()

    async def aremove_credential(self, credential_id: str) -> None:
        await self.device.remove_credential(credential_id)

    async def aremove_all_credentials(self) -> None:
        await self.device.remove_all_credentials()

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
            self.device.export_credentials(
                format, passphrase=passphrase, plaintext=plaintext, kdf=kdf
            )
        )

    def import_credentials(
        self,
        data: bytes,
        *,
        passphrase: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Import an export: all it accepts, or nothing; the report says what it skipped."""
        return self._run(
            self.device.import_credentials(data, passphrase=passphrase, progress=progress)
        )

    async def aexport_credentials(
        self,
        format: str = "cxf",
        *,
        passphrase: str | None = None,
        plaintext: bool = False,
        kdf: KdfParams | None = None,
    ) -> bytes:
        return await self.device.export_credentials(
            format, passphrase=passphrase, plaintext=plaintext, kdf=kdf
        )

    async def aimport_credentials(
        self,
        data: bytes,
        *,
        passphrase: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        return await self.device.import_credentials(data, passphrase=passphrase, progress=progress)

    def set_user_verified(self, value: bool) -> None:
        """WebDriver "Set User Verified"."""
        self.tester.set_user_verified(value)

    def set_user_consenting(self, value: bool) -> None:
        self.tester.set_user_consenting(value)

    def set_credential_properties(
        self,
        credential_id: str,
        backup_eligibility: bool | None = None,
        backup_state: bool | None = None,
        *,
        sign_count: int | None = None,
        user_name: str | None = None,
        user_display_name: str | None = None,
    ) -> None:
        """WebDriver "Set Credential Properties" (backup eligibility and state), and CDP's
        others: ``sign_count`` -1 means the credential keeps no counter and reports 0."""
        properties = CredentialProperties(
            backup_eligibility=backup_eligibility,
            backup_state=backup_state,
            sign_count=sign_count,
            user_name=user_name,
            user_display_name=user_display_name,
        )
        self._run(self.tester.set_credential_properties(credential_id, properties))

    # -- CDP WebAuthn's commands and events beyond WebDriver's --------------------------------

    def get_credential(self, credential_id: str) -> dict[str, Any]:
        """CDP WebAuthn.getCredential: one stored credential as Credential Parameters."""
        return self._run(self.device.credential(credential_id))

    def set_response_override_bits(
        self, is_bogus_signature: bool = False, is_bad_uv: bool = False, is_bad_up: bool = False
    ) -> None:
        """CDP WebAuthn.setResponseOverrideBits: until set again, signatures are one zero byte (a
        relying party must reject them), or the UV or UP flag is cleared."""
        self.tester.set_response_override_bits(is_bogus_signature, is_bad_uv, is_bad_up)

    def fail_next(self, status: int | str | None) -> None:
        """The next makeCredential or getAssertion fails with this CTAP status (a number or a
        name such as "NO_CREDENTIALS"); None: it does not."""
        self.tester.fail_next(status)

    def set_automatic_presence_simulation(self, enabled: bool) -> None:
        """CDP WebAuthn.setAutomaticPresenceSimulation. Off, a ceremony waits for it to be
        turned on (or for its timeout): drive it with the async methods then."""
        self.tester.set_automatic_presence_simulation(enabled)

    def on(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(name, params)`` for each CDP WebAuthn event (credentialAdded,
        credentialAsserted, credentialDeleted, credentialUpdated); returns the unsubscriber."""
        return self.device.events.subscribe(listener)

    def signal_unknown_credential(self, rp_id: str, credential_id: str) -> bool:
        """PublicKeyCredential.signalUnknownCredential (WebAuthn L3 5.1.10.1) as a browser
        passes it on: the credential is removed (credentialDeleted). Whether it was."""
        raw = b64url_field(credential_id, "credentialId")
        return self._run(self.device.signal_unknown_credential(rp_id, raw)) is not None

    def signal_current_user_details(
        self, rp_id: str, user_id: str, name: str, display_name: str
    ) -> int:
        """PublicKeyCredential.signalCurrentUserDetails (WebAuthn L3 5.1.10.3): this user's
        passkeys are renamed (credentialUpdated for each). How many were."""
        user = b64url_field(user_id, "userId")
        return len(
            self._run(self.device.signal_current_user_details(rp_id, user, name, display_name))
        )

    def attestation_ca_pem(self) -> str:
        """The per-installation attestation CA certificate, for an RP's trust store."""
        return self._run(self.device.attestation_ca_pem())

    def power_cycle(self) -> None:
        self.authenticator.power_cycle()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.device.close()
        if self._worker is not None:
            self._worker.shutdown()
        if self._loop is not None:
            self._loop.close()

    def __enter__(self) -> VirtualAuthenticator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    def _presence_is_automatic(self) -> bool:
        presence = self.device.presence
        return not isinstance(presence, AutoPresence) or presence.automatic

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("this VirtualAuthenticator is closed")
        if self._inline and self._presence_is_automatic():
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
