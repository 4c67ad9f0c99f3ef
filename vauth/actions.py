"""The daemon socket's actions: one routing table from action name to Service operation.

Request:  {"id": any, "action": "<name>", "params": {...}}
Reply:    {"id": same, "ok": true, "result": ...} or
          {"id": same, "ok": false, "error": {"code": "<code>", "message": "<sentence>"}}
native_host/PROTOCOL.md documents every action; extension/shared/protocol.js mirrors the names.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from vauth.inputs import (
    BOOLEAN,
    INTEGER,
    NUMBER,
    OBJECT,
    STRING,
    STRINGS,
    Field,
    InvalidInput,
    check,
)
from vauth.operations import Operations
from vauth.secret import wipe
from vauth.service import (
    VAULT_ID,
    VIA,
    ErrorCode,
    Service,
    ServiceError,
    site_rp_id,
)
from vauth.transport.framing import Dispatch, Notify, error_reply

logger = logging.getLogger(__name__)

Handler = Callable[[Service, Operations, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Action:
    """An action's declared params (checked before ``run`` sees them) and what it does."""

    fields: tuple[Field, ...]
    run: Handler


_AUTHENTICATOR = Field("authenticatorId", STRING)
_CEREMONY = (
    _AUTHENTICATOR,
    Field("origin", STRING, required=True),
    Field("options", OBJECT, required=True),
    Field("topOrigin", STRING, nullable=True),
    Field("ceremonyId", STRING, nullable=True),
)
_CREDENTIAL = Field("credentialId", STRING, required=True)
_RP_ID = Field("rpId", STRING, required=True)
_USER_ID = Field("userId", STRING, required=True)
_PASSPHRASE = Field("passphrase", STRING, nullable=True)
_VIA = Field("via", STRING, nullable=True, choices=tuple(VIA))  # who asks, for the audit log
_ORIGIN = Field("origin", STRING, nullable=True)  # the page's, from the browser's `sender`
MAX_WAIT_S = 600.0
_SYNC_SETUP = (Field("folder", STRING, required=True), Field("deviceName", STRING, required=True))
_DEVICE_ID = Field("deviceId", STRING, required=True)


def _id(params: dict[str, Any]) -> str:
    return str(params.get("authenticatorId", VAULT_ID))


def _ceremony(params: dict[str, Any]) -> tuple[object, ...]:
    """A ceremony's arguments after the authenticator's: Service.create's and Service.get's."""
    return tuple(params.get(k) for k in ("origin", "options", "topOrigin", "ceremonyId"))


async def _ctap(service: Service, _o: Operations, p: dict[str, Any]) -> dict[str, str]:
    try:
        message = base64.b64decode(p["message"], validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(ErrorCode.INVALID_ARGUMENT, "message must be base64") from None
    response = await service.ctap(_id(p), message)
    return {"response": base64.b64encode(response).decode("ascii")}


async def _attestation_ca(service: Service, authenticator_id: str) -> dict[str, str]:
    return {"certificate": await service.attestation_ca(authenticator_id)}


async def _answer(service: Service, _o: Operations, p: dict[str, Any]) -> None:
    approve = p["approve"]
    service.prompts.answer(
        p["id"], approve, p.get("verified", approve), p.get("selected"), p.get("synced")
    )


ACTIONS: dict[str, Action] = {
    "status": Action((), lambda s, o, p: o.vault.status()),
    "unlock": Action(
        (Field("passphrase", STRING, required=True),),
        lambda s, o, p: o.vault.unlock(p["passphrase"]),
    ),
    "lock": Action((), lambda s, o, p: o.vault.lock()),
    # without an authenticatorId: the page's authenticators (Service.page_devices)
    "create": Action(_CEREMONY, lambda s, o, p: s.create(p.get("authenticatorId"), *_ceremony(p))),
    "get": Action(_CEREMONY, lambda s, o, p: s.get(p.get("authenticatorId"), *_ceremony(p))),
    "ctap": Action((_AUTHENTICATOR, Field("message", STRING, required=True)), _ctap),
    "cancel": Action(
        (Field("ceremonyId", STRING, required=True),),
        lambda s, o, p: s.cancel(p["ceremonyId"]),
    ),
    "attestation.ca": Action((_AUTHENTICATOR,), lambda s, o, p: _attestation_ca(s, _id(p))),
    "prompts.wait": Action(
        (Field("timeout", NUMBER, minimum=0, maximum=MAX_WAIT_S),),
        lambda s, o, p: s.prompts.wait(float(p.get("timeout", 25))),
    ),
    "prompts.answer": Action(
        (
            Field("id", STRING, required=True),
            Field("approve", BOOLEAN, required=True),
            Field("verified", BOOLEAN),
            Field("selected", INTEGER, nullable=True, minimum=0),
            Field("synced", BOOLEAN, nullable=True),  # makeCredential: synced or this device
        ),
        _answer,
    ),
    "rpId.check": Action(
        (_ORIGIN, Field("rpId", STRING, nullable=True)),
        lambda s, o, p: _rp_id_check(p),
    ),
    "credentials.list": Action(
        (Field("rpId", STRING, nullable=True), _ORIGIN),
        lambda s, o, p: o.passkeys.list_credentials(p.get("rpId"), p.get("origin")),
    ),
    "credentials.show": Action((_CREDENTIAL,), lambda s, o, p: o.passkeys.show(p["credentialId"])),
    "credentials.rename": Action(
        (_CREDENTIAL, Field("nickname", STRING, required=True), _VIA),
        lambda s, o, p: o.passkeys.rename(p["credentialId"], p["nickname"], p.get("via")),
    ),
    "credentials.delete": Action(
        (_CREDENTIAL, _VIA), lambda s, o, p: o.passkeys.delete(p["credentialId"], p.get("via"))
    ),
    "trash.list": Action((), lambda s, o, p: o.passkeys.trash()),
    "trash.restore": Action(
        (_CREDENTIAL, _VIA), lambda s, o, p: o.passkeys.restore(p["credentialId"], p.get("via"))
    ),
    "trash.empty": Action((_VIA,), lambda s, o, p: o.passkeys.empty_trash(p.get("via"))),
    "authenticator.name": Action(
        (Field("displayName", STRING, required=True),),
        lambda s, o, p: o.vault.name(p["displayName"]),
    ),
    "audit": Action(
        (
            Field("credentialId", STRING, nullable=True),
            Field("limit", INTEGER, minimum=1, maximum=100_000),
        ),
        lambda s, o, p: o.audit.audit(p.get("credentialId"), p.get("limit", 100)),
    ),
    "export": Action(
        (
            Field("vaultPassphrase", STRING, nullable=True),
            Field("format", STRING),
            _PASSPHRASE,
            Field("plaintext", BOOLEAN),
        ),
        lambda s, o, p: o.passkeys.export(
            p.get("format", "cxf"),
            p.get("passphrase"),
            p.get("plaintext", False),
            p.get("vaultPassphrase"),
        ),
    ),
    "export.notice": Action(
        (Field("format", STRING),), lambda s, o, p: o.passkeys.export_notice(p.get("format", "cxf"))
    ),
    "import": Action(
        (Field("data", STRING, required=True), _PASSPHRASE, Field("progress", BOOLEAN), _VIA),
        lambda s, o, p: o.passkeys.import_(
            p["data"], p.get("passphrase"), p.get("_progress"), p.get("via")
        ),
    ),
    "passphrase": Action(
        (Field("old", STRING, required=True), Field("new", STRING, required=True)),
        lambda s, o, p: o.vault.passphrase(p["old"], p["new"]),
    ),
    "recover": Action(
        (Field("recoveryKey", STRING, required=True), Field("new", STRING, required=True)),
        lambda s, o, p: o.vault.recover(p["recoveryKey"], p["new"]),
    ),
    "recoveryKey.new": Action(
        (Field("passphrase", STRING, required=True),),
        lambda s, o, p: o.vault.new_recovery_key(p["passphrase"]),
    ),
    "backup": Action(
        (Field("destination", STRING, required=True),),
        lambda s, o, p: o.vault.backup(p["destination"]),
    ),
    "sync.status": Action((), lambda s, o, p: o.sync.status()),
    "sync.init": Action(_SYNC_SETUP, lambda s, o, p: o.sync.init(p["folder"], p["deviceName"])),
    "sync.join": Action(_SYNC_SETUP, lambda s, o, p: o.sync.join(p["folder"], p["deviceName"])),
    "sync.pending": Action((), lambda s, o, p: o.sync.pending()),
    "sync.approve": Action(
        (_DEVICE_ID, Field("fingerprint", STRING, required=True)),
        lambda s, o, p: o.sync.approve(p["deviceId"], p["fingerprint"]),
    ),
    "sync.devices": Action((), lambda s, o, p: o.sync.devices()),
    "sync.remove": Action((_DEVICE_ID,), lambda s, o, p: o.sync.remove(p["deviceId"])),
    "sync.leave": Action((), lambda s, o, p: o.sync.leave()),
    "sync.default": Action(
        (Field("default", STRING, nullable=True, choices=("synced", "device")),),
        lambda s, o, p: o.sync.default(p.get("default")),
    ),
    "signal.unknownCredential": Action(
        (_ORIGIN, _RP_ID, _CREDENTIAL),
        lambda s, o, p: o.signals.signal_unknown_credential(
            p.get("origin"), p["rpId"], p["credentialId"]
        ),
    ),
    "signal.allAcceptedCredentials": Action(
        (_ORIGIN, _RP_ID, _USER_ID, Field("allAcceptedCredentialIds", STRINGS, required=True)),
        lambda s, o, p: o.signals.signal_all_accepted_credentials(
            p.get("origin"), p["rpId"], p["userId"], p["allAcceptedCredentialIds"]
        ),
    ),
    "signal.currentUserDetails": Action(
        (
            _ORIGIN,
            _RP_ID,
            _USER_ID,
            Field("name", STRING, required=True),
            Field("displayName", STRING, required=True),
        ),
        lambda s, o, p: o.signals.signal_current_user_details(
            p.get("origin"), p["rpId"], p["userId"], p["name"], p["displayName"]
        ),
    ),
}


async def _rp_id_check(p: dict[str, Any]) -> dict[str, str]:
    """A page's rpId judged against its origin, before the extension does anything else."""
    return {"rpId": site_rp_id(p.get("origin"), p.get("rpId"))}


# Parameters that carry a passphrase: wiped from memory once the action has run.
SECRET_PARAMS: dict[str, tuple[str, ...]] = {
    "unlock": ("passphrase",),
    "passphrase": ("old", "new"),
    "export": ("passphrase", "vaultPassphrase"),
    "import": ("passphrase",),
    "recover": ("recoveryKey", "new"),
    "recoveryKey.new": ("passphrase",),
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
        params = {k: v for k, v in params.items() if not k.startswith("_")}
        try:
            check(params, handler.fields)
        except InvalidInput as exc:
            return error_reply(request_id, ErrorCode.INVALID_ARGUMENT, exc.message)
        if notify is not None and params.get("progress") is True:
            loop = asyncio.get_running_loop()

            def progress(done: int, total: int) -> None:
                message = {"id": request_id, "progress": {"done": done, "total": total}}
                loop.call_soon_threadsafe(lambda: asyncio.ensure_future(notify(message)))

            params["_progress"] = progress
        logger.debug("action %s", action)
        try:
            result = await handler.run(service, operations, params)
        except ServiceError as exc:
            return error_reply(request_id, exc.code, exc.message)
        except Exception:
            logger.exception("action %s failed", action)
            return error_reply(request_id, ErrorCode.INTERNAL, "the daemon failed; see its log")
        finally:
            wipe(*(params.get(name) for name in SECRET_PARAMS.get(str(action), ())))
        return {"id": request_id, "ok": True, "result": result}

    return dispatch
