"""The daemon's operations, shared by its Unix socket protocol and its HTTP API.

One ``Service`` holds the vault-backed authenticator (id ``vault``) and any number of
ephemeral tester authenticators. Every operation is async, takes JSON-shaped arguments and
returns JSON-shaped results; failures are ``ServiceError``s with a code a front end can act on
and a sentence a person can read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import contextvars
import hashlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from vauth.ctap.credential import Credential
from vauth.ctap.ports import PresenceRequest, PresenceResponse
from vauth.device import Device, UnsupportedOption, configured_device
from vauth.presence import AutoPresence, DenyPresence, PromptPresence
from vauth.vault import (
    ExportDecryptionError,
    Vault,
    VaultError,
    VaultLockedError,
    WrongPassphraseError,
)
from vauth.vault.store import TRASH_DAYS, VaultStore, acting_as
from vauth.webauthn import base64url
from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.origin import parse_origin, resolve_rp_id

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


def adjusted_timeout(options: object) -> float:
    """The ceremony's lifetime in seconds: the relying party's ``timeout`` (ms) clamped as
    Chromium clamps it, or Chromium's default when there is none (or it is malformed: the
    WebAuthn client rejects that before any prompt)."""
    timeout = options.get("timeout") if isinstance(options, dict) else None
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
    ErrorCode.INTERNAL: 500,
    ErrorCode.SECURITY_ERROR: 403,
    ErrorCode.NOT_ALLOWED_ERROR: 403,
    ErrorCode.INVALID_STATE_ERROR: 409,
}


class ServiceError(Exception):
    """A failure a front end can act on (``code``) with a sentence a person can read;
    ``status``: for HTTP, the code's unless given."""

    def __init__(self, code: ErrorCode, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = code.http_status if status is None else status


@contextlib.contextmanager
def _mapped() -> Any:
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
            "accounts": [{"userName": n, "userDisplayName": d} for n, d in r.accounts],
            "ceremony": r.ceremony.value,
            "rpId": r.rp_id,
            "userName": r.user_name,
            "userDisplayName": r.user_display_name,
            "discoverable": r.discoverable,
            "attestation": r.attestation,
            "userVerification": r.user_verification,
            "credentialCount": r.credential_count,
            "excluded": r.excluded,
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
        self, prompt_id: str, approve: bool, verified: bool, selected: int | None = None
    ) -> None:
        prompt = self.pending.get(prompt_id)
        logger.debug("prompt %s answered: approve=%s selected=%s", prompt_id, approve, selected)
        if prompt is None:
            raise ServiceError(ErrorCode.NO_SUCH_PROMPT, f"no pending prompt {prompt_id}", 404)
        if not prompt.answer.done():
            prompt.answer.set_result(
                PresenceResponse(present=approve, verified=approve and verified, selected=selected)
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


def _b64decode(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ServiceError(ErrorCode.INVALID_ARGUMENT, f"{what} must be a base64 string")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ServiceError(ErrorCode.INVALID_ARGUMENT, f"{what} is not base64") from None


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
        self.prompts = prompts
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- bookkeeping for graceful shutdown ---------------------------------------------------

    @contextlib.asynccontextmanager
    async def operation(self) -> AsyncIterator[None]:
        self.in_flight += 1
        self._idle.clear()
        try:
            with _mapped():
                yield
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

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

    async def add_authenticator(self, config: dict[str, Any]) -> dict[str, str]:
        """WebDriver "Add Virtual Authenticator": ``config`` has been checked at the edge against
        the one declared configuration (vauth.device.CONFIGURATION)."""
        if config.get("protocol") == "ctap1/u2f":
            raise ServiceError(
                ErrorCode.UNSUPPORTED_OPERATION, "ctap1/u2f authenticators are not offered"
            )
        with _mapped():
            device = configured_device(config)
        authenticator_id = secrets.token_hex(8)
        self.authenticators[authenticator_id] = device
        return {"authenticatorId": authenticator_id}

    async def remove_authenticator(self, authenticator_id: str) -> None:
        if authenticator_id == VAULT_ID:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "the vault authenticator cannot be removed"
            )
        self.device(authenticator_id).close()
        del self.authenticators[authenticator_id]

    async def add_credential(self, authenticator_id: str, params: dict[str, Any]) -> None:
        async with self.operation():
            await self.device(authenticator_id).add_credential(params)

    async def get_credentials(self, authenticator_id: str) -> list[dict[str, Any]]:
        async with self.operation():
            return await self.device(authenticator_id).credentials()

    async def remove_credential(self, authenticator_id: str, credential_id: str) -> None:
        async with self.operation():
            with acting_as(HTTP_API):
                await self.device(authenticator_id).remove_credential(credential_id)

    async def remove_all_credentials(self, authenticator_id: str) -> None:
        async with self.operation():
            with acting_as(HTTP_API):
                await self.device(authenticator_id).remove_all_credentials()

    async def set_user_verified(self, authenticator_id: str, value: object) -> None:
        if not isinstance(value, bool):
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "isUserVerified must be a boolean")
        device = self.device(authenticator_id)
        with _mapped():
            device.set_user_verified(value)

    # -- ceremonies --------------------------------------------------------------------------

    async def ctap(self, authenticator_id: str, message: bytes) -> bytes:
        async with self.operation():
            return await self.device(authenticator_id).process(message)

    async def create(
        self,
        authenticator_id: str,
        origin: object,
        options: object,
        top_origin: object = None,
        ceremony_id: object = None,
    ) -> dict[str, Any]:
        return await self._ceremony(
            Device.create, authenticator_id, origin, options, top_origin, ceremony_id
        )

    async def get(
        self,
        authenticator_id: str,
        origin: object,
        options: object,
        top_origin: object = None,
        ceremony_id: object = None,
    ) -> dict[str, Any]:
        return await self._ceremony(
            Device.get, authenticator_id, origin, options, top_origin, ceremony_id
        )

    async def _ceremony(
        self,
        run: Ceremony,
        authenticator_id: str,
        origin: object,
        options: object,
        top_origin: object,
        ceremony_id: object,
    ) -> dict[str, Any]:
        page_origin, opts, top = _ceremony_arguments(origin, options, top_origin)
        CEREMONY.set(ceremony_id if isinstance(ceremony_id, str) else None)
        DEADLINE.set(asyncio.get_running_loop().time() + adjusted_timeout(opts))
        async with self.operation():
            with acting_as(f"the site {page_origin}"):  # e.g. a new passkey replacing one
                return await run(self.device(authenticator_id), opts, page_origin, top)


def _ceremony_arguments(
    origin: object, options: object, top_origin: object = None
) -> tuple[str, dict[str, Any], str | None]:
    if not isinstance(origin, str):
        raise ServiceError(ErrorCode.TYPE_ERROR, "origin must be a string")
    if not isinstance(options, dict):
        raise ServiceError(ErrorCode.TYPE_ERROR, "options must be an object")
    if top_origin is not None and not isinstance(top_origin, str):
        raise ServiceError(ErrorCode.TYPE_ERROR, "topOrigin must be a string")
    return origin, options, None if top_origin == origin else top_origin


def site_rp_id(origin: object, rp_id: object = None) -> str:
    """The rpId a page at ``origin`` names (its host when ``rp_id`` is None), in host form, if
    the origin may claim it: WebAuthn L3 5.1.3 step 7 and 5.1.4.1 step 7 ("is a registrable
    domain suffix of or is equal to", with the Public Suffix List), the very rule a ceremony
    applies. SecurityError otherwise. Every request a page starts is judged by it before anything
    looks at the vault, so a refusal says nothing about the passkeys held."""
    if not isinstance(origin, str):
        raise ServiceError(ErrorCode.TYPE_ERROR, "origin must be a string")
    if rp_id is not None and not isinstance(rp_id, str):
        raise ServiceError(ErrorCode.TYPE_ERROR, "rpId must be a string")
    with _mapped():
        return resolve_rp_id(rp_id, parse_origin(origin))


def presence_for(policy: str, prompts: Prompts) -> AutoPresence | DenyPresence | PromptPresence:
    if policy == "auto":
        return AutoPresence()
    if policy == "deny":
        return DenyPresence()
    if policy == "prompt":
        return PromptPresence(prompts.ask)
    raise ValueError(f"presence must be auto, prompt or deny, not {policy!r}")


def actor(via: object) -> str:
    """Who sent a socket request, for the audit log (``via``: "cli", "options", "popup")."""
    if via is None:
        return LOCAL_PROGRAM
    if not isinstance(via, str) or via not in VIA:
        raise ServiceError(
            ErrorCode.INVALID_ARGUMENT, f"via must be one of {', '.join(sorted(VIA))}"
        )
    return VIA[via]


def credential_summary(credential: Credential) -> dict[str, Any]:
    """What a person sees of a stored passkey: never its private key. ``kind`` is
    "discoverable" or "non-discoverable"; ``sealed``: its key is sealed in its ID, not kept
    in the vault."""
    return {
        "credentialId": base64url.encode(credential.credential_id),
        "rpId": credential.rp_id,
        "userName": credential.user_name,
        "userDisplayName": credential.user_display_name,
        "nickname": credential.nickname,
        "kind": "discoverable" if credential.discoverable else "non-discoverable",
        "sealed": credential.sealed,
        "discoverable": credential.discoverable,
        "algorithm": credential.algorithm,
        "created": credential.created,
        "lastUsed": credential.last_used,
        "signCount": credential.sign_count,
        "backupEligibility": credential.backup_eligible,
        "backupState": credential.backup_state,
        "credProtect": credential.cred_protect,
    }


class VaultOperations:
    """What the CLI and the extension do with the vault itself."""

    def __init__(self, service: Service) -> None:
        self._service = service

    @property
    def _device(self) -> Device:
        """The vault's device; ServiceError(ErrorCode.NO_VAULT) when the daemon has none."""
        return self._service.vault_device()[0]

    def _store(self) -> VaultStore:
        return self._service.vault.store

    async def status(self) -> dict[str, Any]:
        device = self._service.authenticators.get(VAULT_ID)
        vault = device.vault if device is not None else None
        return {
            "vault": None if vault is None else {"path": str(vault.path), "locked": vault.locked},
            "displayName": None if device is None else device.display_name,
            "authenticators": sorted(self._service.authenticators),
            "pendingPrompts": len(self._service.prompts.pending),
            "presence": self._service.presence_policy,
        }

    async def unlock(self, passphrase: object) -> None:
        if not isinstance(passphrase, str):
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "passphrase must be a string")
        vault = self._service.vault
        with _mapped():
            await asyncio.to_thread(vault.unlock, passphrase)

    async def lock(self) -> None:
        vault = self._service.vault
        with _mapped():
            await asyncio.to_thread(vault.lock)
        self._device.forget_secrets()

    async def list_credentials(
        self, rp_id: object = None, origin: object = None
    ) -> list[dict[str, Any]]:
        """Every passkey, or one site's (an rpId that is not a string matches none), oldest
        first: the store's rpId index orders by creation, so all of them are put in that order.
        With ``origin`` (a page's request), the rpId is first checked against it."""
        if origin is not None:
            rp_id = site_rp_id(origin, rp_id)
        async with self._service.operation():
            if rp_id is None:
                credentials = sorted(await self._store().all(), key=lambda c: c.created)
            elif isinstance(rp_id, str):
                # surrogatepass: an rpId that is not UTF-8 matches nothing, as before the index
                rp_id_hash = hashlib.sha256(rp_id.encode("utf-8", "surrogatepass")).digest()
                credentials = list(await self._store().find(rp_id_hash))
            else:
                credentials = []
        return [credential_summary(c) for c in credentials]

    async def _credential(self, credential_id: object) -> Credential:
        raw = _b64decode(credential_id, "credentialId")
        credential = await self._store().get(raw)
        if credential is None:
            raise ServiceError(
                ErrorCode.NO_SUCH_CREDENTIAL, f"no passkey with id {credential_id}", 404
            )
        return credential

    async def show(self, credential_id: object) -> dict[str, Any]:
        async with self._service.operation():
            credential = await self._credential(credential_id)
            audit = await self._store().audit(credential.credential_id, limit=50)
        return {**credential_summary(credential), "uses": [_audit_json(e) for e in audit]}

    async def rename(self, credential_id: object, nickname: object, via: object = None) -> None:
        if not isinstance(nickname, str) or len(nickname) > 200:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "nickname must be a string of 200 at most"
            )
        async with self._service.operation():
            credential = await self._credential(credential_id)
            credential.nickname = nickname or None
            with acting_as(actor(via)):
                await self._store().update(credential)

    async def delete(self, credential_id: object, via: object = None) -> dict[str, Any]:
        """Move a passkey to the trash: it stops working at once, and can be restored for
        TRASH_DAYS days."""
        async with self._service.operation():
            credential = await self._credential(credential_id)
            with acting_as(actor(via)):
                await self._store().delete(credential.credential_id)
        return {"trashed": credential_summary(credential), "restorableDays": TRASH_DAYS}

    # -- the trash ----------------------------------------------------------------------------

    async def trash(self) -> list[dict[str, Any]]:
        """What is in the trash, most recently deleted first."""
        async with self._service.operation():
            trashed = await self._store().trash()
        return [
            {
                **credential_summary(t.credential),
                "deletedAt": t.deleted_at,
                "deletedBy": t.deleted_by,
                "purgeAt": t.purge_at,
            }
            for t in trashed
        ]

    async def restore(self, credential_id: object, via: object = None) -> dict[str, Any]:
        raw = _b64decode(credential_id, "credentialId")
        async with self._service.operation():
            with acting_as(actor(via)):
                credential = await self._store().restore(raw)
        if credential is None:
            raise ServiceError(
                ErrorCode.NO_SUCH_CREDENTIAL,
                f"no passkey with id {credential_id} is in the trash",
                404,
            )
        return credential_summary(credential)

    async def empty_trash(self, via: object = None) -> dict[str, int]:
        async with self._service.operation():
            with acting_as(actor(via)):
                return {"deleted": await self._store().empty_trash()}

    async def name(self, display_name: object) -> None:
        if not isinstance(display_name, str) or len(display_name) > 64:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "the name must be a string of 64 at most"
            )
        async with self._service.operation():
            await self._device.set_display_name(display_name)

    async def audit(
        self, credential_id: object = None, limit: object = 100
    ) -> list[dict[str, Any]]:
        if not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "limit must be between 1 and 100000")
        raw = None if credential_id is None else _b64decode(credential_id, "credentialId")
        async with self._service.operation():
            entries = await self._store().audit(raw, limit=limit)
        return [_audit_json(e) for e in entries]

    # -- the WebAuthn Signal API (L3 5.1.10): relying parties correct stale passkeys ----------
    # ``origin`` is the calling page's (from the browser); the rpId must be one it may claim.

    async def signal_unknown_credential(
        self, origin: object, rp_id: object, credential_id: object
    ) -> dict[str, Any]:
        """The RP no longer knows this credential: remove it (the user is told)."""
        if not isinstance(rp_id, str):
            raise ServiceError(ErrorCode.TYPE_ERROR, "rpId must be a string")
        rp_id = site_rp_id(origin, rp_id)
        raw = _b64decode(credential_id, "credentialId")
        async with self._service.operation():
            credential = await self._store().get(raw)
            if credential is None or credential.rp_id != rp_id:
                return {"removed": []}
            with acting_as(_signal_actor(rp_id, "signalUnknownCredential")):
                await self._store().delete(raw)
        return {"removed": [credential_summary(credential)]}

    async def signal_all_accepted_credentials(
        self, origin: object, rp_id: object, user_id: object, accepted: object
    ) -> dict[str, Any]:
        """Of this user's passkeys at this RP, remove those the RP no longer accepts."""
        if not isinstance(rp_id, str) or not isinstance(accepted, list):
            raise ServiceError(ErrorCode.TYPE_ERROR, "rpId and allAcceptedCredentialIds are needed")
        rp_id = site_rp_id(origin, rp_id)
        user = _b64decode(user_id, "userId")
        keep = {_b64decode(i, "allAcceptedCredentialIds[]") for i in accepted}
        removed = []
        async with self._service.operation():
            rp_hash = hashlib.sha256(rp_id.encode()).digest()
            with acting_as(_signal_actor(rp_id, "signalAllAcceptedCredentials")):
                for credential in await self._store().find(rp_hash):
                    if credential.user_handle == user and credential.credential_id not in keep:
                        await self._store().delete(credential.credential_id)
                        removed.append(credential_summary(credential))
        return {"removed": removed}

    async def signal_current_user_details(
        self, origin: object, rp_id: object, user_id: object, name: object, display_name: object
    ) -> dict[str, Any]:
        """The RP's current name for this user: update every passkey of theirs there."""
        if (
            not isinstance(rp_id, str)
            or not isinstance(name, str)
            or not isinstance(display_name, str)
        ):
            raise ServiceError(ErrorCode.TYPE_ERROR, "rpId, name and displayName must be strings")
        rp_id = site_rp_id(origin, rp_id)
        user = _b64decode(user_id, "userId")
        updated = []
        async with self._service.operation():
            rp_hash = hashlib.sha256(rp_id.encode()).digest()
            with acting_as(_signal_actor(rp_id, "signalCurrentUserDetails")):
                for credential in await self._store().find(rp_hash):
                    if credential.user_handle == user and (
                        credential.user_name != name or credential.user_display_name != display_name
                    ):
                        credential.user_name, credential.user_display_name = name, display_name
                        await self._store().update(credential)
                        updated.append(credential_summary(credential))
        return {"updated": updated}

    async def backup(self, destination: object) -> dict[str, str]:
        """A consistent encrypted copy of the vault while it serves."""
        if not isinstance(destination, str) or not destination:
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "destination must be a path")
        if not os.path.isabs(destination):  # the daemon's working directory is not the caller's
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT,
                f"destination must be an absolute path, not {destination!r}",
            )
        vault = self._service.vault
        with _mapped():
            path = await asyncio.to_thread(vault.backup, destination)
        return {"backup": str(path)}

    async def passphrase(self, old: object, new: object) -> None:
        if not isinstance(old, str) or not isinstance(new, str) or not new:
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "old and new passphrases are needed")
        vault = self._service.vault
        with _mapped():
            await asyncio.to_thread(vault.change_passphrase, old, new)

    async def recover(self, recovery_key: object, new: object) -> None:
        """A new passphrase from the recovery key (the old passphrase is lost); unlocks."""
        if not isinstance(recovery_key, str) or not isinstance(new, str) or not new:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "the recovery key and a new passphrase are needed"
            )
        vault = self._service.vault
        with _mapped():
            await asyncio.to_thread(vault.reset_passphrase, recovery_key, new)

    async def new_recovery_key(self, passphrase: object) -> dict[str, str]:
        """Replace the recovery key (the old one stops working); the new one is shown once."""
        if not isinstance(passphrase, str):
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "passphrase must be a string")
        vault = self._service.vault
        with _mapped():
            return {"recoveryKey": await asyncio.to_thread(vault.new_recovery_key, passphrase)}

    async def export(
        self,
        format: object = "cxf",
        passphrase: object = None,
        plaintext: object = False,
        vault_passphrase: object = None,
    ) -> dict[str, Any]:
        """Every passkey with its private key: only for whoever knows the vault passphrase
        (``vault_passphrase``, checked as unlocking does), whatever the presence policy.
        ``passphrase`` encrypts the export."""
        if not isinstance(format, str) or not isinstance(plaintext, bool):
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "format must be a string, plaintext a boolean"
            )
        if passphrase is not None and not isinstance(passphrase, str):
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "passphrase must be a string")
        if not isinstance(vault_passphrase, str) or not vault_passphrase:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT,
                "vaultPassphrase is needed: an export carries every private key, so it takes "
                "the vault passphrase",
            )
        vault = self._service.vault
        try:
            await asyncio.to_thread(vault.check_passphrase, vault_passphrase)
        except WrongPassphraseError:
            raise ServiceError(
                ErrorCode.WRONG_PASSPHRASE, "wrong vault passphrase: nothing was exported", 403
            ) from None
        async with self._service.operation():
            data = await self._device.export_credentials(
                format, passphrase=passphrase, plaintext=plaintext
            )
        return {
            "data": base64.b64encode(data).decode("ascii"),
            "format": format,
            "encrypted": not plaintext,
        }

    async def export_notice(self, format: object = "cxf") -> dict[str, Any]:
        """What an export in ``format`` would hold, and what cannot travel in it (sentences a
        front end shows before the person confirms)."""
        if not isinstance(format, str):
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "format must be a string")
        from vauth.vault.exchange import export_notice

        async with self._service.operation():
            return await export_notice(self._store(), format)

    async def import_(
        self,
        data: object,
        passphrase: object = None,
        progress: Callable[[int, int], None] | None = None,
        via: object = None,
    ) -> dict[str, Any]:
        if not isinstance(data, str):
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "data must be base64 text")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "data is not base64") from None
        if passphrase is not None and not isinstance(passphrase, str):
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "passphrase must be a string")
        async with self._service.operation():
            with acting_as(actor(via)):
                report = await self._device.import_credentials(
                    raw, passphrase=passphrase, progress=progress
                )
        return {
            "imported": report.imported,
            "skipped": [
                {
                    "index": s.index,
                    "credentialId": s.credential_id,
                    "rpId": s.rp_id,
                    "userName": s.user_name,
                    "reason": s.reason,
                    "sentence": s.sentence(),
                }
                for s in report.skipped
            ],
            "warnings": report.warnings,
        }


# What each Signal API call says, as the audit log tells it (the call's name stays, last).
_SIGNALS = {
    "signalUnknownCredential": "which said it no longer knows this passkey",
    "signalAllAcceptedCredentials": "which listed the passkeys it still accepts",
    "signalCurrentUserDetails": "which sent your current account name",
}


def _signal_actor(rp_id: str, call: str) -> str:
    return f"the site {rp_id}, {_SIGNALS[call]} ({call})"


def _audit_json(entry: Any) -> dict[str, Any]:
    return {
        "actor": entry.actor,
        "detail": entry.detail,
        "at": entry.at,
        "ceremony": entry.ceremony,
        "rpId": entry.rp_id,
        "credentialId": None
        if entry.credential_id is None
        else base64url.encode(entry.credential_id),
        "outcome": entry.outcome,
    }
