"""The daemon's operations, shared by its Unix socket protocol and its HTTP API.

One ``Service`` holds the vault-backed authenticator (id ``vault``) and any number of
ephemeral tester authenticators. Every operation is async, takes JSON-shaped arguments and
returns JSON-shaped results; failures are ``ServiceError``s with a code a front end can act on
and a sentence a person can read.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from vauth import paths
from vauth.app.device import (
    Configuration,
    Device,
    TesterDevice,
    UnsupportedOption,
    configured_device,
)
from vauth.app.presence import CANCELLED, AutoPresence, DenyPresence, PromptPresence
from vauth.app.tester import CredentialProperties, TesterControls
from vauth.ctap.ports import PresenceRequest, PresenceResponse
from vauth.vault import (
    ExportDecryptionError,
    Vault,
    VaultError,
    VaultLockedError,
    WrongPassphraseError,
)
from vauth.vault.store import acting_as
from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.origin import parse_origin, resolve_rp_id

if TYPE_CHECKING:
    from vauth.app.syncing import SyncRunner

logger = logging.getLogger(__name__)

VAULT_ID = "vault"
# Which front-end request a presence prompt belongs to (set around a ceremony).
CEREMONY: contextvars.ContextVar[str | None] = contextvars.ContextVar("ceremony", default=None)
# When the ceremony around a presence prompt gives up (the event loop's clock), if it has a timer.
DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)
PRESENCE_TIMEOUT_S = 120.0  # a bare CTAP request (no WebAuthn ceremony, no timer of its own)
# WebAuthn L3 5.1.3 / 5.1.4 (lifetimeTimer): the client corrects options.timeout to "a reasonable
# range as defined by the client" and uses a client-specific default without one. Chromium's
# AdjustTimeout (authenticator_common_impl.cc): [10 s, 10 min], and 10 min when none is given.
TIMEOUT_MIN_S, TIMEOUT_MAX_S = 10.0, 600.0


def adjusted_timeout(options: Mapping[str, Any]) -> float:
    """The ceremony's lifetime in seconds: the relying party's ``timeout`` (ms) clamped as
    Chromium clamps it, or Chromium's default when there is none (or it is malformed: the
    WebAuthn client rejects that before any prompt)."""
    timeout = options.get("timeout")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool):
        return TIMEOUT_MAX_S
    return min(max(timeout / 1000, TIMEOUT_MIN_S), TIMEOUT_MAX_S)


HTTP_API = "the HTTP API"
# Who sent a socket request that changes the vault (its `via`), as the audit log says it.
VIA = {
    "cli": "the vauth command",
    "options": "the extension's options page",
    "popup": "the extension's popup",
}
LOCAL_PROGRAM = "a program on this computer"


class ErrorCode(StrEnum):
    """Every code a daemon reply carries (``error.code`` on the socket, ``error`` over HTTP):
    W3C WebDriver's error codes, vauth's own, and the DOMException names WebAuthn specifies.
    extension/shared/protocol.js mirrors them (a test keeps the two in step)."""

    INVALID_ARGUMENT = "invalid argument"
    NO_SUCH_AUTHENTICATOR = "no such authenticator"
    NO_SUCH_CREDENTIAL = "no such credential"
    NO_SUCH_PROMPT = "no such prompt"
    UNSUPPORTED_OPERATION = "unsupported operation"
    NO_VAULT = "no vault"
    VAULT_LOCKED = "vault_locked"
    WRONG_PASSPHRASE = "wrong_passphrase"  # noqa: S105 - a code, not a secret
    VAULT_ERROR = "vault_error"
    SYNC_ERROR = "sync_error"  # sync refused or failed; the message says why
    STOPPING = "stopping"  # the daemon stopped while the ceremony waited for the person
    UNKNOWN_ACTION = "unknown_action"
    INTERNAL = "internal"
    NOT_ALLOWED_ERROR = "NotAllowedError"
    INVALID_STATE_ERROR = "InvalidStateError"
    SECURITY_ERROR = "SecurityError"
    NOT_SUPPORTED_ERROR = "NotSupportedError"
    TYPE_ERROR = "TypeError"
    CONSTRAINT_ERROR = "ConstraintError"
    ABORT_ERROR = "AbortError"
    UNKNOWN_ERROR = "UnknownError"
    ENCODING_ERROR = "EncodingError"
    SYNTAX_ERROR = "SyntaxError"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self, 400)


_HTTP_STATUS = {
    ErrorCode.NO_SUCH_AUTHENTICATOR: 404,
    ErrorCode.NO_SUCH_CREDENTIAL: 404,
    ErrorCode.NO_SUCH_PROMPT: 404,
    ErrorCode.NO_VAULT: 404,
    ErrorCode.VAULT_LOCKED: 423,
    ErrorCode.WRONG_PASSPHRASE: 403,
    ErrorCode.VAULT_ERROR: 409,
    ErrorCode.SYNC_ERROR: 409,
    ErrorCode.INTERNAL: 500,
    ErrorCode.SECURITY_ERROR: 403,
    ErrorCode.NOT_ALLOWED_ERROR: 403,
    ErrorCode.INVALID_STATE_ERROR: 409,
    ErrorCode.STOPPING: 503,
}


class ServiceError(Exception):
    """A failure a front end can act on (``code``) with a sentence a person can read;
    ``status``: for HTTP, the code's unless given."""

    def __init__(self, code: ErrorCode, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = code.http_status if status is None else status


@contextlib.contextmanager
def mapped() -> Any:
    """Turn the layers' own errors into ServiceErrors at this edge."""
    try:
        yield
    except ServiceError:
        raise
    except WebAuthnError as exc:
        raise ServiceError(ErrorCode(exc.name), exc.message) from None
    except VaultLockedError as exc:
        raise ServiceError(ErrorCode.VAULT_LOCKED, str(exc), 423) from None
    except (WrongPassphraseError, ExportDecryptionError) as exc:
        raise ServiceError(ErrorCode.WRONG_PASSPHRASE, str(exc), 403) from None
    except VaultError as exc:
        raise ServiceError(ErrorCode.VAULT_ERROR, str(exc), 409) from None
    except UnsupportedOption as exc:
        raise ServiceError(ErrorCode.UNSUPPORTED_OPERATION, str(exc)) from None
    except KeyError as exc:
        raise ServiceError(
            ErrorCode.NO_SUCH_CREDENTIAL, str(exc.args[0] if exc.args else exc), 404
        ) from None
    except (ValueError, TypeError) as exc:
        raise ServiceError(ErrorCode.INVALID_ARGUMENT, str(exc), 400) from None


@dataclass(slots=True)
class PendingPrompt:
    """A question for the person at the front end: approve this ceremony?"""

    id: str
    request: PresenceRequest
    answer: asyncio.Future[PresenceResponse]
    ceremony: str | None = None

    def to_json(self) -> dict[str, Any]:
        r = self.request
        return {
            "id": self.id,
            "ceremonyId": self.ceremony,
            "accounts": [
                {"userName": n, "userDisplayName": d, "nickname": nick, "lastUsed": used}
                for (n, d), (nick, used) in zip(
                    r.accounts,
                    r.account_notes or ((None, None),) * len(r.accounts),
                    strict=True,
                )
            ],
            "ceremony": r.ceremony.value,
            "rpId": r.rp_id,
            "userName": r.user_name,
            "userDisplayName": r.user_display_name,
            "discoverable": r.discoverable,
            "attestation": r.attestation,
            "userVerification": r.user_verification,
            "credentialCount": r.credential_count,
            "excluded": r.excluded,
            # makeCredential once sync is set up: "Saved to your N devices" or "Only on this
            # computer", the default preselected; the answer's `synced` is the person's choice
            "sync": None
            if r.sync_offer is None
            else {
                "devices": r.sync_offer.devices,
                "default": "synced" if r.sync_offer.default else "device",
            },
        }


@dataclass
class Prompts:
    """The ``prompt`` presence policy: requests wait here until a front end answers."""

    timeout_s: float = PRESENCE_TIMEOUT_S
    pending: dict[str, PendingPrompt] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    async def ask(self, request: PresenceRequest) -> PresenceResponse:
        if self.closed:  # the daemon is stopping: nobody will answer
            return PresenceResponse(present=False)
        loop = asyncio.get_running_loop()
        prompt = PendingPrompt(secrets.token_hex(5), request, loop.create_future(), CEREMONY.get())
        deadline = DEADLINE.get()
        timeout = self.timeout_s if deadline is None else max(deadline - loop.time(), 0.0)
        self.pending[prompt.id] = prompt
        self.changed.set()
        try:
            return await asyncio.wait_for(asyncio.shield(prompt.answer), timeout)
        except TimeoutError:
            logger.info("presence prompt %s timed out", prompt.id)
            return PresenceResponse(present=False)
        finally:
            self.pending.pop(prompt.id, None)
            self.changed.set()

    def answer(
        self,
        prompt_id: str,
        approve: bool,
        verified: bool,
        selected: int | None = None,
        synced: bool | None = None,
    ) -> None:
        prompt = self.pending.get(prompt_id)
        logger.debug(
            "prompt %s answered: approve=%s selected=%s synced=%s",
            prompt_id,
            approve,
            selected,
            synced,
        )
        if prompt is None:
            raise ServiceError(ErrorCode.NO_SUCH_PROMPT, f"no pending prompt {prompt_id}", 404)
        if not prompt.answer.done():
            prompt.answer.set_result(
                PresenceResponse(
                    present=approve, verified=approve and verified, selected=selected, synced=synced
                )
            )

    def close(self) -> None:
        """Decline every waiting prompt at once, and any asked from now on (the daemon stops:
        its ceremonies end with NotAllowedError rather than waiting out their timers)."""
        self.closed = True
        for prompt in self.pending.values():
            if not prompt.answer.done():
                prompt.answer.set_result(PresenceResponse(present=False))

    async def wait(self, timeout_s: float) -> list[dict[str, Any]]:
        """The pending prompts, after waiting (up to ``timeout_s``) for there to be one."""
        if not self.pending:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout_s)
        return [p.to_json() for p in self.pending.values()]


class Cancellations:
    """Ceremonies a front end may call off by the ``ceremonyId`` it gave them (the extension,
    when the page aborts or goes away): a presence request of one called off gets no presence
    (vauth.app.presence.CANCELLED), so nothing is signed or made for it. A call-off may come before
    its ceremony does (both race through the native host): it is kept for a while."""

    EARLY_KEPT = 256
    EARLY_S = 60.0

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Event] = {}
        self.early: dict[str, float] = {}  # ceremony id -> when it was called off

    def begin(self, ceremony_id: str) -> asyncio.Event:
        event = asyncio.Event()
        if self.early.pop(ceremony_id, None) is not None:
            event.set()
        self.running[ceremony_id] = event
        return event

    def end(self, ceremony_id: str, event: asyncio.Event) -> None:
        if self.running.get(ceremony_id) is event:
            del self.running[ceremony_id]

    def cancel(self, ceremony_id: str) -> bool:
        """Call the ceremony off; whether it was running."""
        event = self.running.get(ceremony_id)
        if event is not None:
            event.set()
            return True
        now = asyncio.get_running_loop().time()
        self.early = {k: t for k, t in self.early.items() if now - t < self.EARLY_S}
        self.early[ceremony_id] = now  # the newest last; at most EARLY_KEPT kept
        while len(self.early) > self.EARLY_KEPT:
            del self.early[next(iter(self.early))]
        return False


# Device.create or .get: (device, options, origin, top origin) -> JSON
Ceremony = Callable[[Device, dict[str, Any], str, str | None], Awaitable[dict[str, Any]]]


class Service:
    def __init__(
        self,
        vault_device: Device | None,
        prompts: Prompts,
        presence_policy: str = "auto",
    ) -> None:
        self.presence_policy = presence_policy
        self.authenticators: dict[str, Device] = {}
        if vault_device is not None:
            self.authenticators[VAULT_ID] = vault_device
            vault_device.events.authenticator_id = VAULT_ID
        self.prompts = prompts
        self.cancellations = Cancellations()
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.sync: SyncRunner | None = None  # the daemon's, when it has a vault

    # -- bookkeeping for graceful shutdown ---------------------------------------------------

    @contextlib.asynccontextmanager
    async def operation(self) -> AsyncIterator[None]:
        self.in_flight += 1
        self._idle.clear()
        try:
            with mapped():
                yield
        finally:
            self._operation_done()

    def _operation_done(self) -> None:
        self.in_flight -= 1
        if not self.in_flight:
            self._idle.set()
        if self.sync is not None:  # the operation may have changed a synced passkey
            self.sync.changed_locally()

    async def drained(self) -> None:
        await self._idle.wait()

    def close(self) -> None:
        for authenticator in self.authenticators.values():
            authenticator.close()
        self.authenticators.clear()

    def device(self, authenticator_id: str) -> Device:
        try:
            return self.authenticators[authenticator_id]
        except KeyError:
            raise ServiceError(
                ErrorCode.NO_SUCH_AUTHENTICATOR, f"no authenticator with id {authenticator_id}", 404
            ) from None

    def vault_device(self) -> tuple[Device, Vault]:
        """The device on the vault, and its vault; ServiceError(ErrorCode.NO_VAULT) without one."""
        device = self.authenticators.get(VAULT_ID)
        if device is None or device.vault is None:
            raise ServiceError(
                ErrorCode.NO_VAULT, "this daemon runs without a vault (--ephemeral)", 404
            )
        return device, device.vault

    @property
    def vault(self) -> Vault:
        return self.vault_device()[1]

    # -- WebDriver-shaped commands -----------------------------------------------------------

    def page_devices(self) -> list[Device]:
        """The authenticators a page's ceremonies reach (the socket's create and get without
        an authenticatorId): the vault's on a daemon with a vault; on a tester daemon, every
        tester authenticator, in the order they were added (none once all are removed)."""
        vault = self.authenticators.get(VAULT_ID)
        if vault is not None and vault.vault is not None:
            return [vault]
        return [d for d in self.authenticators.values() if isinstance(d, TesterDevice)]

    async def add_authenticator(self, config: Configuration) -> dict[str, str]:
        """WebDriver "Add Virtual Authenticator"."""
        with mapped():
            device = configured_device(config)
        authenticator_id = secrets.token_hex(8)
        device.events.authenticator_id = authenticator_id
        self.authenticators[authenticator_id] = device
        return {"authenticatorId": authenticator_id}

    async def remove_authenticator(self, authenticator_id: str) -> None:
        """WebDriver "Remove Virtual Authenticator": any tester authenticator, the one a tester
        daemon started with included; never the vault's."""
        device = self.device(authenticator_id)
        if device.vault is not None:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "the vault authenticator cannot be removed"
            )
        device.close()
        del self.authenticators[authenticator_id]

    async def add_credential(self, authenticator_id: str, params: dict[str, Any]) -> None:
        async with self.operation():
            await self.device(authenticator_id).add_credential(params)

    async def get_credentials(self, authenticator_id: str) -> list[dict[str, Any]]:
        async with self.operation():
            return await self.device(authenticator_id).credentials()

    async def remove_credential(self, authenticator_id: str, credential_id: str) -> None:
        """WebDriver "Remove Credential"; on the vault the passkey goes to the trash (the
        vault's store does so), with an audit record naming the HTTP API."""
        async with self.operation():
            with acting_as(HTTP_API):
                await self.device(authenticator_id).remove_credential(credential_id)

    async def remove_all_credentials(self, authenticator_id: str) -> None:
        """WebDriver "Remove All Credentials". On the vault every passkey goes to the trash,
        one audit record each, and the trash keeps what it held: nothing is lost for good."""
        device = self.device(authenticator_id)
        async with self.operation():
            with acting_as(HTTP_API):
                if device.vault is None:
                    await device.remove_all_credentials()
                    return
                for credential in await device.store.all():
                    await device.store.delete(credential.credential_id)

    def tester(self, authenticator_id: str) -> TesterControls:
        """The controls of a tester's authenticator (override bits, failures, credential
        properties, user verification, presence): the vault's device has none, as its passkeys
        are a person's own, so the request is refused with a sentence saying so."""
        device = self.device(authenticator_id)
        if not isinstance(device, TesterDevice):
            raise ServiceError(
                ErrorCode.UNSUPPORTED_OPERATION,
                "the vault's authenticator does not take a tester's controls (override bits, "
                "failures, credential properties, user verification, presence); use an "
                "ephemeral one (vauth serve --ephemeral, or Add Virtual Authenticator)",
            )
        return device.tester

    async def set_user_verified(self, authenticator_id: str, value: bool) -> None:
        tester = self.tester(authenticator_id)
        with mapped():
            tester.set_user_verified(value)

    # -- CDP WebAuthn's commands beyond WebDriver's -----------------------------------------

    async def get_credential(self, authenticator_id: str, credential_id: str) -> dict[str, Any]:
        async with self.operation():
            return await self.device(authenticator_id).credential(credential_id)

    async def set_credential_properties(
        self, authenticator_id: str, credential_id: str, properties: CredentialProperties
    ) -> None:
        """CDP WebAuthn.setCredentialProperties: None leaves a property as it is."""
        tester = self.tester(authenticator_id)
        async with self.operation():
            await tester.set_credential_properties(credential_id, properties)

    async def set_response_override_bits(
        self, authenticator_id: str, is_bogus_signature: bool, is_bad_uv: bool, is_bad_up: bool
    ) -> None:
        self.tester(authenticator_id).set_response_override_bits(
            is_bogus_signature, is_bad_uv, is_bad_up
        )

    async def fail_next(self, authenticator_id: str, status: int | str | None) -> None:
        tester = self.tester(authenticator_id)
        with mapped():
            tester.fail_next(status)

    async def set_automatic_presence_simulation(self, authenticator_id: str, enabled: bool) -> None:
        tester = self.tester(authenticator_id)
        with mapped():
            tester.set_automatic_presence_simulation(enabled)

    async def attestation_ca(self, authenticator_id: str) -> str:
        """The authenticator's attestation CA certificate (PEM), a relying party's trust anchor
        for its packed x5c attestations."""
        async with self.operation():
            return await self.device(authenticator_id).attestation_ca_pem()

    # -- ceremonies --------------------------------------------------------------------------

    async def ctap(self, authenticator_id: str, message: bytes) -> bytes:
        # The daemon's hot path: operation()'s bookkeeping without its two generator-based
        # context managers; a CTAP message is answered with a status, never an error to map.
        device = self.device(authenticator_id)
        self.in_flight += 1
        self._idle.clear()
        try:
            return await device.process(message)
        finally:
            self._operation_done()

    async def create(
        self,
        authenticator_id: str | None,
        origin: str,
        options: dict[str, Any],
        top_origin: str | None = None,
        ceremony_id: str | None = None,
        *,
        tester: bool = False,
    ) -> dict[str, Any]:
        return await self._ceremony(
            Device.create, authenticator_id, origin, options, top_origin, ceremony_id, tester
        )

    async def get(
        self,
        authenticator_id: str | None,
        origin: str,
        options: dict[str, Any],
        top_origin: str | None = None,
        ceremony_id: str | None = None,
        *,
        tester: bool = False,
    ) -> dict[str, Any]:
        return await self._ceremony(
            Device.get, authenticator_id, origin, options, top_origin, ceremony_id, tester
        )

    async def _ceremony(
        self,
        run: Ceremony,
        authenticator_id: str | None,
        origin: str,
        options: dict[str, Any],
        top_origin: str | None,
        ceremony_id: str | None,
        tester: bool = False,
    ) -> dict[str, Any]:
        """One ceremony on ``authenticator_id``'s device, or (None) on the page's devices.
        ``tester``: a tester asks (the HTTP API), not a site through the browser; the audit log
        says which."""
        top = None if top_origin == origin else top_origin
        CEREMONY.set(ceremony_id)
        DEADLINE.set(asyncio.get_running_loop().time() + adjusted_timeout(options))
        devices = (
            self.page_devices() if authenticator_id is None else [self.device(authenticator_id)]
        )
        who = f"a tester through {HTTP_API}, as {origin}" if tester else f"the site {origin}"
        cancelled = None
        if ceremony_id is not None:
            cancelled = self.cancellations.begin(ceremony_id)
            if cancelled.is_set():  # called off before it came
                self.cancellations.end(ceremony_id, cancelled)
                raise ServiceError(ErrorCode.NOT_ALLOWED_ERROR, "The request was called off.")
        CANCELLED.set(cancelled)
        try:
            async with self.operation():
                with acting_as(who):  # the ceremony's audit entry, and a passkey it replaces
                    if len(devices) == 1:
                        return await run(devices[0], options, origin, top)
                    return await _on_several(run, devices, options, origin, top)
        except ServiceError as exc:
            if exc.code is ErrorCode.NOT_ALLOWED_ERROR and self.prompts.closed:
                raise ServiceError(  # not the person's refusal: say so (the page sees NotAllowed)
                    ErrorCode.STOPPING,
                    "vauth stopped before you answered, so this request ended. Start vauth "
                    f"again with `{paths.start_command()}`, then try again on the site",
                ) from None
            raise
        finally:
            if ceremony_id is not None and cancelled is not None:
                self.cancellations.end(ceremony_id, cancelled)

    async def cancel(self, ceremony_id: str) -> dict[str, bool]:
        """Call off the ceremony the front end named ``ceremony_id`` (its page aborted it or
        went away): it gets no presence from now on. ``running``: whether it had begun."""
        return {"running": self.cancellations.cancel(ceremony_id)}


async def _on_several(
    run: Ceremony, devices: list[Device], options: dict[str, Any], origin: str, top: str | None
) -> dict[str, Any]:
    """A page's ceremony with several tester authenticators (or none), as Chromium runs it with
    its virtual ones: a create goes to every authenticator (each makes a credential) and any
    refusal is the page's; a get is answered by one that holds a credential. Chromium races
    them; vauth asks them in the order they were added, so a test gets one answer every time."""
    if not devices:  # Chromium: the request waits for an authenticator until its timeout
        raise WebAuthnError(
            "NotAllowedError", "no authenticator is attached: every one was removed"
        )
    results: list[dict[str, Any]] = []
    refusals: list[WebAuthnError] = []
    for device in devices:
        try:
            results.append(await run(device, options, origin, top))
        except WebAuthnError as exc:
            refusals.append(exc)
            if run is Device.create:
                break
        else:
            if run is Device.get:
                break
    if refusals and (run is Device.create or not results):
        raise refusals[0]
    return results[0]


def site_rp_id(origin: str | None, rp_id: str | None = None) -> str:
    """The rpId a page at ``origin`` names (its host when ``rp_id`` is None), in host form, if
    the origin may claim it: WebAuthn L3 5.1.3 step 7 and 5.1.4.1 step 7 ("is a registrable
    domain suffix of or is equal to", with the Public Suffix List), the very rule a ceremony
    applies. SecurityError otherwise. Every request a page starts is judged by it before anything
    looks at the vault, so a refusal says nothing about the passkeys held."""
    if origin is None:  # the browser gives every page request its sender's origin
        raise ServiceError(ErrorCode.TYPE_ERROR, "origin must be a string")
    with mapped():
        return resolve_rp_id(rp_id, parse_origin(origin))


def presence_for(policy: str, prompts: Prompts) -> AutoPresence | DenyPresence | PromptPresence:
    if policy == "auto":
        return AutoPresence()
    if policy == "deny":
        return DenyPresence()
    if policy == "prompt":
        return PromptPresence(prompts.ask)
    raise ValueError(f"presence must be auto, prompt or deny, not {policy!r}")
