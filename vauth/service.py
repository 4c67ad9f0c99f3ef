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
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from vauth.ctap.ports import PresenceRequest, PresenceResponse
from vauth.presence import AutoPresence, DenyPresence, PromptPresence
from vauth.vault import Vault, VaultError, VaultLockedError, WrongPassphraseError
from vauth.virtual import UnsupportedOption, VirtualAuthenticator
from vauth.webauthn import base64url
from vauth.webauthn.errors import WebAuthnError

logger = logging.getLogger(__name__)

VAULT_ID = "vault"
# Which front-end request a presence prompt belongs to (set around a ceremony).
CEREMONY: contextvars.ContextVar[str | None] = contextvars.ContextVar("ceremony", default=None)
PRESENCE_TIMEOUT_S = 120.0  # when the relying party gave none


class ServiceError(Exception):
    """``code``: a WebDriver-like error code or a DOMException name; ``status``: for HTTP."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _webauthn_status(name: str) -> int:
    return {
        "SecurityError": 403,
        "NotAllowedError": 403,
        "InvalidStateError": 409,
        "NotSupportedError": 400,
        "ConstraintError": 400,
    }.get(name, 400)


@contextlib.contextmanager
def _mapped() -> Any:
    """Turn the layers' own errors into ServiceErrors at this edge."""
    try:
        yield
    except ServiceError:
        raise
    except WebAuthnError as exc:
        raise ServiceError(exc.name, exc.message, _webauthn_status(exc.name)) from None
    except VaultLockedError as exc:
        raise ServiceError("vault_locked", str(exc), 423) from None
    except WrongPassphraseError as exc:
        raise ServiceError("wrong_passphrase", str(exc), 403) from None
    except VaultError as exc:
        raise ServiceError("vault_error", str(exc), 409) from None
    except UnsupportedOption as exc:
        raise ServiceError("unsupported operation", str(exc)) from None
    except KeyError as exc:
        raise ServiceError(
            "no such credential", str(exc.args[0] if exc.args else exc), 404
        ) from None
    except (ValueError, TypeError) as exc:
        raise ServiceError("invalid argument", str(exc), 400) from None


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

    async def ask(self, request: PresenceRequest) -> PresenceResponse:
        loop = asyncio.get_running_loop()
        prompt = PendingPrompt(
            secrets.token_urlsafe(9), request, loop.create_future(), CEREMONY.get()
        )
        self.pending[prompt.id] = prompt
        self.changed.set()
        try:
            return await asyncio.wait_for(asyncio.shield(prompt.answer), self.timeout_s)
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
            raise ServiceError("no such prompt", f"no pending prompt {prompt_id}", 404)
        if not prompt.answer.done():
            prompt.answer.set_result(
                PresenceResponse(present=approve, verified=approve and verified, selected=selected)
            )

    async def wait(self, timeout_s: float) -> list[dict[str, Any]]:
        """The pending prompts, after waiting (up to ``timeout_s``) for there to be one."""
        if not self.pending:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout_s)
        return [p.to_json() for p in self.pending.values()]


def _b64decode(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ServiceError("invalid argument", f"{what} must be a base64 string")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ServiceError("invalid argument", f"{what} is not base64") from None


# VirtualAuthenticator.acreate or .aget: (authenticator, options, origin, top origin) -> JSON
Ceremony = Callable[
    [VirtualAuthenticator, dict[str, Any], str, str | None], Awaitable[dict[str, Any]]
]

_CONFIG_KEYS = {
    "protocol": "protocol", "transport": "transport", "hasResidentKey": "has_resident_key",
    "hasUserVerification": "has_user_verification", "isUserConsenting": "is_user_consenting",
    "isUserVerified": "is_user_verified", "extensions": "extensions",
    "defaultBackupEligibility": "default_backup_eligibility",
    "defaultBackupState": "default_backup_state", "attestation": "attestation",
    "aaguid": "aaguid", "seed": "seed",
}  # fmt: skip


class Service:
    def __init__(
        self,
        vault_authenticator: VirtualAuthenticator | None,
        prompts: Prompts,
        presence_policy: str = "auto",
    ) -> None:
        self.presence_policy = presence_policy
        self.authenticators: dict[str, VirtualAuthenticator] = {}
        if vault_authenticator is not None:
            self.authenticators[VAULT_ID] = vault_authenticator
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

    def _authenticator(self, authenticator_id: str) -> VirtualAuthenticator:
        try:
            return self.authenticators[authenticator_id]
        except KeyError:
            raise ServiceError(
                "no such authenticator", f"no authenticator with id {authenticator_id}", 404
            ) from None

    @property
    def vault(self) -> Vault:
        authenticator = self.authenticators.get(VAULT_ID)
        if authenticator is None or authenticator.vault is None:
            raise ServiceError("no vault", "this daemon runs without a vault (--ephemeral)", 404)
        return authenticator.vault

    # -- WebDriver-shaped commands -----------------------------------------------------------

    async def add_authenticator(self, config: dict[str, Any]) -> dict[str, str]:
        if not isinstance(config, dict):
            raise ServiceError("invalid argument", "the configuration must be an object")
        unknown = set(config) - set(_CONFIG_KEYS)
        if unknown:
            raise ServiceError(
                "invalid argument", f"unknown settings: {', '.join(sorted(unknown))}"
            )
        if config.get("protocol") == "ctap1/u2f":
            raise ServiceError("unsupported operation", "ctap1/u2f authenticators are not offered")
        kwargs = {_CONFIG_KEYS[k]: v for k, v in config.items()}
        with _mapped():
            authenticator = VirtualAuthenticator(**kwargs)
        authenticator_id = secrets.token_hex(8)
        self.authenticators[authenticator_id] = authenticator
        return {"authenticatorId": authenticator_id}

    async def remove_authenticator(self, authenticator_id: str) -> None:
        if authenticator_id == VAULT_ID:
            raise ServiceError("invalid argument", "the vault authenticator cannot be removed")
        self._authenticator(authenticator_id).close()
        del self.authenticators[authenticator_id]

    async def add_credential(self, authenticator_id: str, params: dict[str, Any]) -> None:
        async with self.operation():
            await self._authenticator(authenticator_id).aadd_credential(params)

    async def get_credentials(self, authenticator_id: str) -> list[dict[str, Any]]:
        async with self.operation():
            return await self._authenticator(authenticator_id).aget_credentials()

    async def remove_credential(self, authenticator_id: str, credential_id: str) -> None:
        async with self.operation():
            await self._authenticator(authenticator_id).aremove_credential(credential_id)

    async def remove_all_credentials(self, authenticator_id: str) -> None:
        async with self.operation():
            await self._authenticator(authenticator_id).aremove_all_credentials()

    async def set_user_verified(self, authenticator_id: str, value: object) -> None:
        if not isinstance(value, bool):
            raise ServiceError("invalid argument", "isUserVerified must be a boolean")
        authenticator = self._authenticator(authenticator_id)
        with _mapped():
            authenticator.set_user_verified(value)

    # -- ceremonies --------------------------------------------------------------------------

    async def ctap(self, authenticator_id: str, message: bytes) -> bytes:
        async with self.operation():
            return await self._authenticator(authenticator_id).aprocess(message)

    async def create(
        self,
        authenticator_id: str,
        origin: object,
        options: object,
        top_origin: object = None,
        ceremony_id: object = None,
    ) -> dict[str, Any]:
        return await self._ceremony(
            VirtualAuthenticator.acreate, authenticator_id, origin, options, top_origin, ceremony_id
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
            VirtualAuthenticator.aget, authenticator_id, origin, options, top_origin, ceremony_id
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
        async with self.operation():
            return await run(self._authenticator(authenticator_id), opts, page_origin, top)


def _ceremony_arguments(
    origin: object, options: object, top_origin: object = None
) -> tuple[str, dict[str, Any], str | None]:
    if not isinstance(origin, str):
        raise ServiceError("TypeError", "origin must be a string")
    if not isinstance(options, dict):
        raise ServiceError("TypeError", "options must be an object")
    if top_origin is not None and not isinstance(top_origin, str):
        raise ServiceError("TypeError", "topOrigin must be a string")
    return origin, options, None if top_origin == origin else top_origin


def presence_for(policy: str, prompts: Prompts) -> AutoPresence | DenyPresence | PromptPresence:
    if policy == "auto":
        return AutoPresence()
    if policy == "deny":
        return DenyPresence()
    if policy == "prompt":
        return PromptPresence(prompts.ask)
    raise ValueError(f"presence must be auto, prompt or deny, not {policy!r}")


def credential_summary(credential: Any) -> dict[str, Any]:
    """What a person sees of a stored passkey: never its private key."""
    return {
        "credentialId": base64url.encode(credential.credential_id),
        "rpId": credential.rp_id,
        "userName": credential.user_name,
        "userDisplayName": credential.user_display_name,
        "nickname": credential.nickname,
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
    def _authenticator(self) -> VirtualAuthenticator:
        """The vault's authenticator; ServiceError("no vault") when the daemon has none."""
        self._service.vault  # noqa: B018 - raises when there is no vault
        return self._service._authenticator(VAULT_ID)

    def _store(self) -> Any:
        return self._authenticator.authenticator.env.store

    async def status(self) -> dict[str, Any]:
        authenticator = self._service.authenticators.get(VAULT_ID)
        vault = authenticator.vault if authenticator is not None else None
        return {
            "vault": None if vault is None else {"path": str(vault.path), "locked": vault.locked},
            "authenticators": sorted(self._service.authenticators),
            "pendingPrompts": len(self._service.prompts.pending),
            "presence": self._service.presence_policy,
        }

    async def unlock(self, passphrase: object) -> None:
        if not isinstance(passphrase, str):
            raise ServiceError("invalid argument", "passphrase must be a string")
        vault = self._service.vault
        with _mapped():
            await asyncio.to_thread(vault.unlock, passphrase)

    async def lock(self) -> None:
        vault = self._service.vault
        with _mapped():
            await asyncio.to_thread(vault.lock)
        self._authenticator.authenticator.forget_secrets()

    async def list_credentials(self, rp_id: object = None) -> list[dict[str, Any]]:
        """Every passkey, or one site's (an rpId that is not a string matches none), oldest
        first: the store's rpId index orders by creation, so all of them are put in that order."""
        async with self._service.operation():
            if rp_id is None:
                credentials = sorted(await self._store().all(), key=lambda c: c.created)
            elif isinstance(rp_id, str):
                # surrogatepass: an rpId that is not UTF-8 matches nothing, as before the index
                rp_id_hash = hashlib.sha256(rp_id.encode("utf-8", "surrogatepass")).digest()
                credentials = await self._store().find(rp_id_hash)
            else:
                credentials = []
        return [credential_summary(c) for c in credentials]

    async def _credential(self, credential_id: object) -> Any:
        raw = _b64decode(credential_id, "credentialId")
        credential = await self._store().get(raw)
        if credential is None:
            raise ServiceError("no such credential", f"no passkey with id {credential_id}", 404)
        return credential

    async def show(self, credential_id: object) -> dict[str, Any]:
        async with self._service.operation():
            credential = await self._credential(credential_id)
            audit = await self._store().audit(credential.credential_id, limit=50)
        return {**credential_summary(credential), "uses": [_audit_json(e) for e in audit]}

    async def rename(self, credential_id: object, nickname: object) -> None:
        if not isinstance(nickname, str) or len(nickname) > 200:
            raise ServiceError("invalid argument", "nickname must be a string of 200 at most")
        async with self._service.operation():
            credential = await self._credential(credential_id)
            credential.nickname = nickname or None
            await self._store().update(credential)

    async def delete(self, credential_id: object) -> None:
        async with self._service.operation():
            credential = await self._credential(credential_id)
            await self._store().delete(credential.credential_id)

    async def name(self, display_name: object) -> None:
        if not isinstance(display_name, str) or len(display_name) > 64:
            raise ServiceError("invalid argument", "the name must be a string of 64 at most")
        async with self._service.operation():
            await self._store().set_setting("display_name", display_name.encode())
        self._authenticator.client.display_name = display_name or None

    async def audit(
        self, credential_id: object = None, limit: object = 100
    ) -> list[dict[str, Any]]:
        if not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise ServiceError("invalid argument", "limit must be between 1 and 100000")
        raw = None if credential_id is None else _b64decode(credential_id, "credentialId")
        async with self._service.operation():
            entries = await self._store().audit(raw, limit=limit)
        return [_audit_json(e) for e in entries]

    # -- the WebAuthn Signal API (L3 5.1.10): relying parties correct stale passkeys ----------

    async def signal_unknown_credential(
        self, rp_id: object, credential_id: object
    ) -> dict[str, Any]:
        """The RP no longer knows this credential: remove it (the user is told)."""
        if not isinstance(rp_id, str):
            raise ServiceError("TypeError", "rpId must be a string")
        raw = _b64decode(credential_id, "credentialId")
        async with self._service.operation():
            credential = await self._store().get(raw)
            if credential is None or credential.rp_id != rp_id:
                return {"removed": []}
            await self._store().delete(raw)
        return {"removed": [credential_summary(credential)]}

    async def signal_all_accepted_credentials(
        self, rp_id: object, user_id: object, accepted: object
    ) -> dict[str, Any]:
        """Of this user's passkeys at this RP, remove those the RP no longer accepts."""
        if not isinstance(rp_id, str) or not isinstance(accepted, list):
            raise ServiceError("TypeError", "rpId and allAcceptedCredentialIds are needed")
        user = _b64decode(user_id, "userId")
        keep = {_b64decode(i, "allAcceptedCredentialIds[]") for i in accepted}
        removed = []
        async with self._service.operation():
            rp_hash = hashlib.sha256(rp_id.encode()).digest()
            for credential in await self._store().find(rp_hash):
                if credential.user_handle == user and credential.credential_id not in keep:
                    await self._store().delete(credential.credential_id)
                    removed.append(credential_summary(credential))
        return {"removed": removed}

    async def signal_current_user_details(
        self, rp_id: object, user_id: object, name: object, display_name: object
    ) -> dict[str, Any]:
        """The RP's current name for this user: update every passkey of theirs there."""
        if (
            not isinstance(rp_id, str)
            or not isinstance(name, str)
            or not isinstance(display_name, str)
        ):
            raise ServiceError("TypeError", "rpId, name and displayName must be strings")
        user = _b64decode(user_id, "userId")
        updated = []
        async with self._service.operation():
            rp_hash = hashlib.sha256(rp_id.encode()).digest()
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
            raise ServiceError("invalid argument", "destination must be a path")
        vault = self._service.vault
        with _mapped():
            path = await asyncio.to_thread(vault.backup, destination)
        return {"backup": str(path)}

    async def passphrase(self, old: object, new: object) -> None:
        if not isinstance(old, str) or not isinstance(new, str) or not new:
            raise ServiceError("invalid argument", "old and new passphrases are needed")
        vault = self._service.vault
        with _mapped():
            await asyncio.to_thread(vault.change_passphrase, old, new)

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
            raise ServiceError("invalid argument", "format must be a string, plaintext a boolean")
        if passphrase is not None and not isinstance(passphrase, str):
            raise ServiceError("invalid argument", "passphrase must be a string")
        if not isinstance(vault_passphrase, str) or not vault_passphrase:
            raise ServiceError(
                "invalid argument",
                "vaultPassphrase is needed: an export carries every private key, so it takes "
                "the vault passphrase",
            )
        vault = self._service.vault
        try:
            await asyncio.to_thread(vault.check_passphrase, vault_passphrase)
        except WrongPassphraseError:
            raise ServiceError(
                "wrong_passphrase", "wrong vault passphrase: nothing was exported", 403
            ) from None
        async with self._service.operation():
            data = await self._authenticator.aexport_credentials(
                format, passphrase=passphrase, plaintext=plaintext
            )
        return {
            "data": base64.b64encode(data).decode("ascii"),
            "format": format,
            "encrypted": not plaintext,
        }

    async def import_(
        self,
        data: object,
        passphrase: object = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        if not isinstance(data, str):
            raise ServiceError("invalid argument", "data must be base64 text")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ServiceError("invalid argument", "data is not base64") from None
        if passphrase is not None and not isinstance(passphrase, str):
            raise ServiceError("invalid argument", "passphrase must be a string")
        async with self._service.operation():
            report = await self._authenticator.aimport_credentials(
                raw, passphrase=passphrase, progress=progress
            )
        return {
            "imported": report.imported,
            "skipped": [
                {"index": s.index, "credentialId": s.credential_id, "reason": s.reason}
                for s in report.skipped
            ],
            "warnings": report.warnings,
        }


def _audit_json(entry: Any) -> dict[str, Any]:
    return {
        "at": entry.at,
        "ceremony": entry.ceremony,
        "rpId": entry.rp_id,
        "credentialId": None
        if entry.credential_id is None
        else base64url.encode(entry.credential_id),
        "outcome": entry.outcome,
    }
