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
from typing import Any

from vauth.secret import wipe
from vauth.service import VAULT_ID, Service, ServiceError, VaultOperations
from vauth.transport.framing import error_reply
from vauth.transport.unix_socket import Dispatch, Notify

logger = logging.getLogger(__name__)

Handler = Callable[[Service, VaultOperations, dict[str, Any]], Awaitable[Any]]


def _id(params: dict[str, Any]) -> str:
    value = params.get("authenticatorId", VAULT_ID)
    if not isinstance(value, str):
        raise ServiceError("invalid argument", "authenticatorId must be a string")
    return value


def _ceremony(params: dict[str, Any]) -> tuple[object, ...]:
    """A ceremony's arguments after the authenticator's: Service.create's and Service.get's."""
    return tuple(params.get(k) for k in ("origin", "options", "topOrigin", "ceremonyId"))


async def _ctap(service: Service, _v: VaultOperations, p: dict[str, Any]) -> dict[str, str]:
    try:
        message = base64.b64decode(str(p.get("message", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError("invalid argument", "message must be base64") from None
    response = await service.ctap(_id(p), message)
    return {"response": base64.b64encode(response).decode("ascii")}


ACTIONS: dict[str, Handler] = {
    "status": lambda s, v, p: v.status(),
    "unlock": lambda s, v, p: v.unlock(p.get("passphrase")),
    "lock": lambda s, v, p: v.lock(),
    "create": lambda s, v, p: s.create(_id(p), *_ceremony(p)),
    "get": lambda s, v, p: s.get(_id(p), *_ceremony(p)),
    "ctap": _ctap,
    "prompts.wait": lambda s, v, p: s.prompts.wait(float(p.get("timeout", 25))),
    "prompts.answer": lambda s, v, p: _answer(s, p),
    "credentials.list": lambda s, v, p: v.list_credentials(p.get("rpId")),
    "credentials.show": lambda s, v, p: v.show(p.get("credentialId")),
    "credentials.rename": lambda s, v, p: v.rename(p.get("credentialId"), p.get("nickname")),
    "credentials.delete": lambda s, v, p: v.delete(p.get("credentialId")),
    "authenticator.name": lambda s, v, p: v.name(p.get("displayName")),
    "audit": lambda s, v, p: v.audit(p.get("credentialId"), p.get("limit", 100)),
    "export": lambda s, v, p: v.export(
        p.get("format", "cxf"),
        p.get("passphrase"),
        p.get("plaintext", False),
        p.get("vaultPassphrase"),
    ),
    "import": lambda s, v, p: v.import_(p.get("data"), p.get("passphrase"), p.get("_progress")),
    "passphrase": lambda s, v, p: v.passphrase(p.get("old"), p.get("new")),
    "backup": lambda s, v, p: v.backup(p.get("destination")),
    "signal.unknownCredential": lambda s, v, p: v.signal_unknown_credential(
        p.get("rpId"), p.get("credentialId")
    ),
    "signal.allAcceptedCredentials": lambda s, v, p: v.signal_all_accepted_credentials(
        p.get("rpId"), p.get("userId"), p.get("allAcceptedCredentialIds")
    ),
    "signal.currentUserDetails": lambda s, v, p: v.signal_current_user_details(
        p.get("rpId"), p.get("userId"), p.get("name"), p.get("displayName")
    ),
}


# Parameters that carry a passphrase: wiped from memory once the action has run.
SECRET_PARAMS: dict[str, tuple[str, ...]] = {
    "unlock": ("passphrase",),
    "passphrase": ("old", "new"),
    "export": ("passphrase", "vaultPassphrase"),
    "import": ("passphrase",),
}


async def _answer(service: Service, p: dict[str, Any]) -> None:
    prompt_id, approve, selected = p.get("id"), p.get("approve"), p.get("selected")
    if not isinstance(prompt_id, str) or not isinstance(approve, bool):
        raise ServiceError("invalid argument", "id (string) and approve (boolean) are needed")
    if selected is not None and (not isinstance(selected, int) or isinstance(selected, bool)):
        raise ServiceError("invalid argument", "selected must be an account's index")
    service.prompts.answer(prompt_id, approve, bool(p.get("verified", approve)), selected)


def dispatcher(service: Service) -> Dispatch:
    vault = VaultOperations(service)

    async def dispatch(request: dict[str, Any], notify: Notify | None = None) -> dict[str, Any]:
        request_id = request.get("id")
        action, params = request.get("action"), request.get("params", {})
        handler = ACTIONS.get(action) if isinstance(action, str) else None
        if handler is None:
            return error_reply(request_id, "unknown_action", f"no action {action!r}")
        if not isinstance(params, dict):
            return error_reply(request_id, "invalid argument", "params must be an object")
        params = {k: v for k, v in params.items() if not k.startswith("_")}
        if notify is not None and params.get("progress") is True:
            loop = asyncio.get_running_loop()

            def progress(done: int, total: int) -> None:
                message = {"id": request_id, "progress": {"done": done, "total": total}}
                loop.call_soon_threadsafe(lambda: asyncio.ensure_future(notify(message)))

            params["_progress"] = progress
        logger.debug("action %s", action)
        try:
            result = await handler(service, vault, params)
        except ServiceError as exc:
            return error_reply(request_id, exc.code, exc.message)
        except Exception:
            logger.exception("action %s failed", action)
            return error_reply(request_id, "internal", "the daemon failed; see its log")
        finally:
            wipe(*(params.get(name) for name in SECRET_PARAMS.get(str(action), ())))
        return {"id": request_id, "ok": True, "result": result}

    return dispatch
