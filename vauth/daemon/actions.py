"""The daemon socket's actions: one routing table from action name to Service operation.

Request:  {"id": any, "action": "<name>", "params": {...}}
Reply:    {"id": same, "ok": true, "result": ...} or
          {"id": same, "ok": false, "error": {"code": "<code>", "message": "<sentence>"}}
native_host/PROTOCOL.md documents every action; extension/shared/protocol.js mirrors the names.
"""

from __future__ import annotations

import asyncio
import binascii
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from vauth.app.operations import Operations
from vauth.app.service import (
    VAULT_ID,
    VIA,
    ErrorCode,
    Service,
    ServiceError,
    site_rp_id,
)
from vauth.inputs import (
    B64URL,
    B64URLS,
    BASE64,
    BOOLEAN,
    INTEGER,
    NUMBER,
    OBJECT,
    STRING,
    Field,
    InvalidInput,
    param,
    parameters,
    parse,
    schema,
    secrets_of,
)
from vauth.secret import wipe
from vauth.transport.framing import Dispatch, Notify, error_reply

logger = logging.getLogger(__name__)

P = TypeVar("P")
# Where a request's progress notes go while it runs (on a connection that takes notes).
PROGRESS: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar(
    "progress", default=None
)


@dataclass(frozen=True, slots=True)
class Call:
    """A request parsed for its action: what runs, and the secrets to wipe once it has."""

    run: Callable[[Service, Operations], Awaitable[object]]
    secrets: list[object]


class Action:
    """An action's parameters class (the one declaration of its params, checked and built at
    the edge) and what it does with an instance of it; mypy checks ``run`` against the class."""

    __slots__ = ("params", "prepare")

    def __init__(
        self, params: type[P], run: Callable[[Service, Operations, P], Awaitable[object]]
    ) -> None:
        self.params: type[object] = params

        def prepare(members: Mapping[str, Any]) -> Call:
            parsed = parse(params, members)
            return Call(lambda s, o: run(s, o, parsed), secrets_of(parsed))

        self.prepare = prepare

    @property
    def fields(self) -> tuple[Field, ...]:
        return schema(self.params)


MAX_WAIT_S = 600.0
_VIA_CHOICES = tuple(VIA)  # who asks, for the audit log


@parameters
class NoParams:
    """An action that takes no params (any it is given are ignored)."""


@parameters
class Passphrase:  # unlock, recoveryKey.new
    passphrase: str = param("passphrase", STRING, secret=True)


@parameters
class Ceremony:  # create, get; without an authenticatorId: the page's authenticators
    authenticator_id: str | None = param("authenticatorId", STRING, default=None)
    origin: str = param("origin", STRING)
    options: dict[str, Any] = param("options", OBJECT)
    top_origin: str | None = param("topOrigin", STRING, nullable=True, default=None)
    ceremony_id: str | None = param("ceremonyId", STRING, nullable=True, default=None)


@parameters
class CeremonyId:  # cancel: the page aborted or went away
    ceremony_id: str = param("ceremonyId", STRING)


@parameters
class Ctap:
    authenticator_id: str = param("authenticatorId", STRING, default=VAULT_ID)
    message: bytes = param("message", BASE64)


@parameters
class OnAuthenticator:  # attestation.ca
    authenticator_id: str = param("authenticatorId", STRING, default=VAULT_ID)


@parameters
class Wait:  # prompts.wait
    timeout: float = param("timeout", NUMBER, default=25.0, minimum=0, maximum=MAX_WAIT_S)


@parameters
class Answer:  # prompts.answer
    id: str = param("id", STRING)
    approve: bool = param("approve", BOOLEAN)
    verified: bool | None = param("verified", BOOLEAN, default=None)  # None: as approve
    selected: int | None = param("selected", INTEGER, nullable=True, minimum=0, default=None)
    # makeCredential: synced or this device
    synced: bool | None = param("synced", BOOLEAN, nullable=True, default=None)


@parameters
class Site:  # rpId.check, credentials.list; origin: the page's, from the browser's `sender`
    origin: str | None = param("origin", STRING, nullable=True, default=None)
    rp_id: str | None = param("rpId", STRING, nullable=True, default=None)


@parameters
class OneCredential:  # credentials.show
    credential_id: bytes = param("credentialId", B64URL)


@parameters
class CredentialBy:  # credentials.delete, trash.restore
    credential_id: bytes = param("credentialId", B64URL)
    via: str | None = param("via", STRING, nullable=True, choices=_VIA_CHOICES, default=None)


@parameters
class Rename:  # credentials.rename
    credential_id: bytes = param("credentialId", B64URL)
    nickname: str = param("nickname", STRING)
    via: str | None = param("via", STRING, nullable=True, choices=_VIA_CHOICES, default=None)


@parameters
class By:  # trash.empty
    via: str | None = param("via", STRING, nullable=True, choices=_VIA_CHOICES, default=None)


@parameters
class DisplayName:  # authenticator.name
    display_name: str = param("displayName", STRING)


@parameters
class Audit:
    credential_id: bytes | None = param("credentialId", B64URL, nullable=True, default=None)
    limit: int = param("limit", INTEGER, minimum=1, maximum=100_000, default=100)


@parameters
class Export:
    vault_passphrase: str | None = param(
        "vaultPassphrase", STRING, nullable=True, default=None, secret=True
    )
    format: str = param("format", STRING, default="cxf")
    passphrase: str | None = param("passphrase", STRING, nullable=True, default=None, secret=True)
    plaintext: bool = param("plaintext", BOOLEAN, default=False)


@parameters
class ExportNotice:
    format: str = param("format", STRING, default="cxf")


@parameters
class Import:
    data: bytes = param("data", BASE64)
    passphrase: str | None = param("passphrase", STRING, nullable=True, default=None, secret=True)
    progress: bool = param("progress", BOOLEAN, default=False)  # progress notes on the socket
    via: str | None = param("via", STRING, nullable=True, choices=_VIA_CHOICES, default=None)


@parameters
class NewPassphrase:  # passphrase
    old: str = param("old", STRING, secret=True)
    new: str = param("new", STRING, secret=True)


@parameters
class Recover:
    recovery_key: str = param("recoveryKey", STRING, secret=True)
    new: str = param("new", STRING, secret=True)


@parameters
class Backup:
    destination: str = param("destination", STRING)


@parameters
class SyncSetup:  # sync.init, sync.join
    folder: str = param("folder", STRING)
    device_name: str = param("deviceName", STRING)


@parameters
class Approve:  # sync.approve
    device_id: str = param("deviceId", STRING)
    fingerprint: str = param("fingerprint", STRING)


@parameters
class SyncDevice:  # sync.remove
    device_id: str = param("deviceId", STRING)


@parameters
class SyncDefault:
    default: str | None = param(
        "default", STRING, nullable=True, choices=("synced", "device"), default=None
    )


@parameters
class UnknownCredential:  # signal.unknownCredential
    origin: str | None = param("origin", STRING, nullable=True, default=None)
    rp_id: str = param("rpId", STRING)
    credential_id: bytes = param("credentialId", B64URL)


@parameters
class AllAcceptedCredentials:  # signal.allAcceptedCredentials
    origin: str | None = param("origin", STRING, nullable=True, default=None)
    rp_id: str = param("rpId", STRING)
    user_id: bytes = param("userId", B64URL)
    accepted: tuple[bytes, ...] = param("allAcceptedCredentialIds", B64URLS)


@parameters
class CurrentUserDetails:  # signal.currentUserDetails
    origin: str | None = param("origin", STRING, nullable=True, default=None)
    rp_id: str = param("rpId", STRING)
    user_id: bytes = param("userId", B64URL)
    name: str = param("name", STRING)
    display_name: str = param("displayName", STRING)


async def _ctap(service: Service, _o: Operations, p: Ctap) -> dict[str, str]:
    response = await service.ctap(p.authenticator_id, p.message)
    return {"response": binascii.b2a_base64(response, newline=False).decode("ascii")}


async def _attestation_ca(service: Service, _o: Operations, p: OnAuthenticator) -> dict[str, str]:
    return {"certificate": await service.attestation_ca(p.authenticator_id)}


async def _answer(service: Service, _o: Operations, p: Answer) -> None:
    verified = p.approve if p.verified is None else p.verified
    service.prompts.answer(p.id, p.approve, verified, p.selected, p.synced)


async def _rp_id_check(_s: Service, _o: Operations, p: Site) -> dict[str, str]:
    """A page's rpId judged against its origin, before the extension does anything else."""
    return {"rpId": site_rp_id(p.origin, p.rp_id)}


async def _import(_s: Service, o: Operations, p: Import) -> dict[str, Any]:
    progress = PROGRESS.get() if p.progress else None
    return await o.passkeys.import_(p.data, p.passphrase, progress, p.via)


ACTIONS: dict[str, Action] = {
    "status": Action(NoParams, lambda s, o, p: o.vault.status()),
    "unlock": Action(Passphrase, lambda s, o, p: o.vault.unlock(p.passphrase)),
    "lock": Action(NoParams, lambda s, o, p: o.vault.lock()),
    "create": Action(
        Ceremony,
        lambda s, o, p: s.create(
            p.authenticator_id, p.origin, p.options, p.top_origin, p.ceremony_id
        ),
    ),
    "get": Action(
        Ceremony,
        lambda s, o, p: s.get(p.authenticator_id, p.origin, p.options, p.top_origin, p.ceremony_id),
    ),
    "ctap": Action(Ctap, _ctap),
    "cancel": Action(CeremonyId, lambda s, o, p: s.cancel(p.ceremony_id)),
    "attestation.ca": Action(OnAuthenticator, _attestation_ca),
    "prompts.wait": Action(Wait, lambda s, o, p: s.prompts.wait(p.timeout)),
    "prompts.answer": Action(Answer, _answer),
    "rpId.check": Action(Site, _rp_id_check),
    "credentials.list": Action(
        Site, lambda s, o, p: o.passkeys.list_credentials(p.rp_id, p.origin)
    ),
    "credentials.show": Action(OneCredential, lambda s, o, p: o.passkeys.show(p.credential_id)),
    "credentials.rename": Action(
        Rename, lambda s, o, p: o.passkeys.rename(p.credential_id, p.nickname, p.via)
    ),
    "credentials.delete": Action(
        CredentialBy, lambda s, o, p: o.passkeys.delete(p.credential_id, p.via)
    ),
    "trash.list": Action(NoParams, lambda s, o, p: o.passkeys.trash()),
    "trash.restore": Action(
        CredentialBy, lambda s, o, p: o.passkeys.restore(p.credential_id, p.via)
    ),
    "trash.empty": Action(By, lambda s, o, p: o.passkeys.empty_trash(p.via)),
    "authenticator.name": Action(DisplayName, lambda s, o, p: o.vault.name(p.display_name)),
    "audit": Action(Audit, lambda s, o, p: o.audit.audit(p.credential_id, p.limit)),
    "export": Action(
        Export,
        lambda s, o, p: o.passkeys.export(p.format, p.passphrase, p.plaintext, p.vault_passphrase),
    ),
    "export.notice": Action(ExportNotice, lambda s, o, p: o.passkeys.export_notice(p.format)),
    "import": Action(Import, _import),
    "passphrase": Action(NewPassphrase, lambda s, o, p: o.vault.passphrase(p.old, p.new)),
    "recover": Action(Recover, lambda s, o, p: o.vault.recover(p.recovery_key, p.new)),
    "recoveryKey.new": Action(Passphrase, lambda s, o, p: o.vault.new_recovery_key(p.passphrase)),
    "backup": Action(Backup, lambda s, o, p: o.vault.backup(p.destination)),
    "sync.status": Action(NoParams, lambda s, o, p: o.sync.status()),
    "sync.init": Action(SyncSetup, lambda s, o, p: o.sync.init(p.folder, p.device_name)),
    "sync.join": Action(SyncSetup, lambda s, o, p: o.sync.join(p.folder, p.device_name)),
    "sync.pending": Action(NoParams, lambda s, o, p: o.sync.pending()),
    "sync.approve": Action(Approve, lambda s, o, p: o.sync.approve(p.device_id, p.fingerprint)),
    "sync.devices": Action(NoParams, lambda s, o, p: o.sync.devices()),
    "sync.remove": Action(SyncDevice, lambda s, o, p: o.sync.remove(p.device_id)),
    "sync.leave": Action(NoParams, lambda s, o, p: o.sync.leave()),
    "sync.default": Action(SyncDefault, lambda s, o, p: o.sync.default(p.default)),
    "signal.unknownCredential": Action(
        UnknownCredential,
        lambda s, o, p: o.signals.signal_unknown_credential(p.origin, p.rp_id, p.credential_id),
    ),
    "signal.allAcceptedCredentials": Action(
        AllAcceptedCredentials,
        lambda s, o, p: o.signals.signal_all_accepted_credentials(
            p.origin, p.rp_id, p.user_id, p.accepted
        ),
    ),
    "signal.currentUserDetails": Action(
        CurrentUserDetails,
        lambda s, o, p: o.signals.signal_current_user_details(
            p.origin, p.rp_id, p.user_id, p.name, p.display_name
        ),
    ),
}


def dispatcher(service: Service) -> Dispatch:
    operations = Operations.of(service)

    async def dispatch(request: dict[str, Any], notify: Notify | None = None) -> dict[str, Any]:
        request_id = request.get("id")
        action, params = request.get("action"), request.get("params", {})
        handler = ACTIONS.get(action) if isinstance(action, str) else None
        if handler is None:
            return error_reply(request_id, ErrorCode.UNKNOWN_ACTION, f"no action {action!r}")
        if not isinstance(params, dict):
            return error_reply(request_id, ErrorCode.INVALID_ARGUMENT, "params must be an object")
        try:
            call = handler.prepare(params)
        except InvalidInput as exc:
            return error_reply(request_id, ErrorCode.INVALID_ARGUMENT, exc.message)
        reporting = None
        if notify is not None:
            loop = asyncio.get_running_loop()

            def progress(done: int, total: int) -> None:
                message = {"id": request_id, "progress": {"done": done, "total": total}}
                loop.call_soon_threadsafe(lambda: asyncio.ensure_future(notify(message)))

            reporting = PROGRESS.set(progress)
        logger.debug("action %s", action)
        try:
            result = await call.run(service, operations)
        except ServiceError as exc:
            return error_reply(request_id, exc.code, exc.message)
        except Exception:
            logger.exception("action %s failed", action)
            return error_reply(request_id, ErrorCode.INTERNAL, "the daemon failed; see its log")
        finally:
            wipe(*call.secrets)
            if reporting is not None:
                PROGRESS.reset(reporting)
        return {"id": request_id, "ok": True, "result": result}

    return dispatch
