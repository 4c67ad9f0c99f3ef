"""What the CLI and the extension do with the vault, over the daemon's socket: each class owns
one thing (the vault itself, its passkeys, its audit log, the Signal API's corrections).

Every operation takes the typed values the socket's parameters classes were built with
(vauth/daemon/actions.py: credential and user IDs already decoded into bytes) and answers
JSON-shaped results; failures are ``ServiceError``s."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from vauth import base64url
from vauth.app.device import Device
from vauth.app.service import (
    LOCAL_PROGRAM,
    VAULT_ID,
    VIA,
    ErrorCode,
    Service,
    ServiceError,
    mapped,
    site_rp_id,
)
from vauth.app.syncing import SyncBusy, SyncEngine, SyncRunner, is_sync_error
from vauth.ctap.credential import Credential
from vauth.vault import WrongPassphraseError
from vauth.vault.store import TRASH_DAYS, VaultStore, acting_as

T = TypeVar("T")


def actor(via: str | None) -> str:
    """Who sent a socket request, for the audit log (``via``: "cli", "options", "popup")."""
    if via is None:
        return LOCAL_PROGRAM
    if via not in VIA:
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


class _OnTheVault:
    """What every operation on the vault starts from: the daemon's service, whose vault device
    it finds for each call (ServiceError "no vault" without one)."""

    def __init__(self, service: Service) -> None:
        self._service = service

    @property
    def _device(self) -> Device:
        """The vault's device; ServiceError("no vault") when the daemon has none."""
        return self._service.vault_device()[0]

    def _store(self) -> VaultStore:
        return self._service.vault.store


class VaultAdmin(_OnTheVault):
    """The vault itself: its state, its lock, its passphrase and recovery key, its backups,
    and the name its user gave the authenticator on it."""

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

    async def unlock(self, passphrase: str) -> None:
        vault = self._service.vault
        with mapped():
            await asyncio.to_thread(vault.unlock, passphrase)
            await self._device.load_settings()  # a daemon started locked has not read them

    async def lock(self) -> None:
        vault = self._service.vault
        with mapped():
            await asyncio.to_thread(vault.lock)
        self._device.forget_secrets()

    async def name(self, display_name: str) -> None:
        if len(display_name) > 64:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "the name must be a string of 64 at most"
            )
        async with self._service.operation():
            await self._device.set_display_name(display_name)

    async def backup(self, destination: str) -> dict[str, str]:
        """A consistent encrypted copy of the vault while it serves."""
        if not destination:
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "destination must be a path")
        if not os.path.isabs(destination):  # the daemon's working directory is not the caller's
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT,
                f"destination must be an absolute path, not {destination!r}",
            )
        vault = self._service.vault
        with mapped():
            path = await asyncio.to_thread(vault.backup, destination)
        return {"backup": str(path)}

    async def passphrase(self, old: str, new: str) -> None:
        if not new:
            raise ServiceError(ErrorCode.INVALID_ARGUMENT, "old and new passphrases are needed")
        vault = self._service.vault
        with mapped():
            await asyncio.to_thread(vault.change_passphrase, old, new)

    async def recover(self, recovery_key: str, new: str) -> None:
        """A new passphrase from the recovery key (the old passphrase is lost); unlocks."""
        if not new:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "the recovery key and a new passphrase are needed"
            )
        vault = self._service.vault
        with mapped():
            await asyncio.to_thread(vault.reset_passphrase, recovery_key, new)
            await self._device.load_settings()

    async def new_recovery_key(self, passphrase: str) -> dict[str, str]:
        """Replace the recovery key (the old one stops working); the new one is shown once."""
        vault = self._service.vault
        with mapped():
            return {"recoveryKey": await asyncio.to_thread(vault.new_recovery_key, passphrase)}


class Passkeys(_OnTheVault):
    """The passkeys in the vault: listed, shown, renamed, deleted to the trash and restored,
    exported and imported."""

    async def list_credentials(
        self, rp_id: str | None = None, origin: str | None = None
    ) -> list[dict[str, Any]]:
        """Every passkey, or one site's, oldest
        first: the store's rpId index orders by creation, so all of them are put in that order.
        With ``origin`` (a page's request), the rpId is first checked against it."""
        if origin is not None:
            rp_id = site_rp_id(origin, rp_id)
        async with self._service.operation():
            if rp_id is None:
                credentials = sorted(await self._store().all(), key=lambda c: c.created)
            else:
                # surrogatepass: an rpId that is not UTF-8 matches nothing, as before the index
                rp_id_hash = hashlib.sha256(rp_id.encode("utf-8", "surrogatepass")).digest()
                credentials = list(await self._store().find(rp_id_hash))
        return [credential_summary(c) for c in credentials]

    async def _credential(self, credential_id: bytes) -> Credential:
        credential = await self._store().get(credential_id)
        if credential is None:
            raise ServiceError(
                ErrorCode.NO_SUCH_CREDENTIAL,
                f"no passkey with id {base64url.encode(credential_id)}",
                404,
            )
        return credential

    async def show(self, credential_id: bytes) -> dict[str, Any]:
        async with self._service.operation():
            credential = await self._credential(credential_id)
            audit = await self._store().audit(credential.credential_id, limit=50)
        return {**credential_summary(credential), "uses": [_audit_json(e) for e in audit]}

    async def rename(self, credential_id: bytes, nickname: str, via: str | None = None) -> None:
        if len(nickname) > 200:
            raise ServiceError(
                ErrorCode.INVALID_ARGUMENT, "nickname must be a string of 200 at most"
            )
        async with self._service.operation():
            credential = await self._credential(credential_id)
            credential.nickname = nickname or None
            with acting_as(actor(via)):
                await self._store().update(credential)

    async def delete(self, credential_id: bytes, via: str | None = None) -> dict[str, Any]:
        """Move a passkey to the trash: it stops working at once, and can be restored for
        TRASH_DAYS days."""
        async with self._service.operation():
            credential = await self._credential(credential_id)
            with acting_as(actor(via)):
                await self._store().delete(credential.credential_id)
        return {"trashed": credential_summary(credential), "restorableDays": TRASH_DAYS}

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

    async def restore(self, credential_id: bytes, via: str | None = None) -> dict[str, Any]:
        async with self._service.operation():
            with acting_as(actor(via)):
                credential = await self._store().restore(credential_id)
        if credential is None:
            raise ServiceError(
                ErrorCode.NO_SUCH_CREDENTIAL,
                f"no passkey with id {base64url.encode(credential_id)} is in the trash",
                404,
            )
        return credential_summary(credential)

    async def empty_trash(self, via: str | None = None) -> dict[str, int]:
        async with self._service.operation():
            with acting_as(actor(via)):
                return {"deleted": await self._store().empty_trash()}

    async def export(
        self,
        format: str = "cxf",
        passphrase: str | None = None,
        plaintext: bool = False,
        vault_passphrase: str | None = None,
    ) -> dict[str, Any]:
        """Every passkey with its private key: only for whoever knows the vault passphrase
        (``vault_passphrase``, checked as unlocking does), whatever the presence policy.
        ``passphrase`` encrypts the export."""
        if not vault_passphrase:
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

    async def export_notice(self, format: str = "cxf") -> dict[str, Any]:
        """What an export in ``format`` would hold, and what cannot travel in it (sentences a
        front end shows before the person confirms)."""
        from vauth.vault.exchange import export_notice

        async with self._service.operation():
            return await export_notice(self._store(), format)

    async def import_(
        self,
        data: bytes,
        passphrase: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        via: str | None = None,
    ) -> dict[str, Any]:
        async with self._service.operation():
            with acting_as(actor(via)):
                report = await self._device.import_credentials(
                    data, passphrase=passphrase, progress=progress
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


class AuditLog(_OnTheVault):
    """What was done with the vault, and by whom."""

    async def audit(
        self, credential_id: bytes | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        async with self._service.operation():
            entries = await self._store().audit(credential_id, limit=limit)
        return [_audit_json(e) for e in entries]

    # -- the WebAuthn Signal API (L3 5.1.10): relying parties correct stale passkeys ----------


class Signals(_OnTheVault):
    """The WebAuthn Signal API (L3 5.1.10): relying parties correct stale passkeys.
    ``origin`` is the calling page's (from the browser); the rpId must be one it may claim."""

    def _devices(self) -> list[Device]:
        """The authenticators the page reaches: the vault's, or on a tester daemon every tester
        authenticator, where the corrections also fire CDP's credentialDeleted /
        credentialUpdated events (as Chromium signals each of its virtual authenticators)."""
        return self._service.page_devices()

    async def signal_unknown_credential(
        self, origin: str | None, rp_id: str, credential_id: bytes
    ) -> dict[str, Any]:
        """The RP no longer knows this credential: remove it (the user is told)."""
        rp_id = site_rp_id(origin, rp_id)
        removed = []
        async with self._service.operation():
            with acting_as(_signal_actor(rp_id, "signalUnknownCredential")):
                for device in self._devices():
                    credential = await device.signal_unknown_credential(rp_id, credential_id)
                    removed += [] if credential is None else [credential]
        return {"removed": [credential_summary(c) for c in removed]}

    async def signal_all_accepted_credentials(
        self, origin: str | None, rp_id: str, user_id: bytes, accepted: tuple[bytes, ...]
    ) -> dict[str, Any]:
        """Of this user's passkeys at this RP, remove those the RP no longer accepts."""
        rp_id = site_rp_id(origin, rp_id)
        keep = set(accepted)
        removed = []
        async with self._service.operation():
            with acting_as(_signal_actor(rp_id, "signalAllAcceptedCredentials")):
                for device in self._devices():
                    removed += await device.signal_all_accepted_credentials(rp_id, user_id, keep)
        return {"removed": [credential_summary(c) for c in removed]}

    async def signal_current_user_details(
        self,
        origin: str | None,
        rp_id: str,
        user_id: bytes,
        name: str,
        display_name: str,
    ) -> dict[str, Any]:
        """The RP's current name for this user: update every passkey of theirs there."""
        rp_id = site_rp_id(origin, rp_id)
        updated = []
        async with self._service.operation():
            with acting_as(_signal_actor(rp_id, "signalCurrentUserDetails")):
                for device in self._devices():
                    updated += await device.signal_current_user_details(
                        rp_id, user_id, name, display_name
                    )
        return {"updated": [credential_summary(c) for c in updated]}


class SyncDevices(_OnTheVault):
    """This vault's sync group (issue 13): set up, joined, its devices approved and removed, its
    state shown. The library (vauth.sync) does the work in the daemon's SyncRunner."""

    def _runner(self) -> SyncRunner:
        self._service.vault_device()  # ServiceError "no vault" for an ephemeral daemon
        runner = self._service.sync
        if runner is None:
            raise ServiceError(ErrorCode.UNSUPPORTED_OPERATION, "this daemon does not sync")
        return runner

    async def _call(self, work: Callable[[SyncEngine], T], peek: bool = False) -> T:
        runner = self._runner()
        try:
            async with self._service.operation():
                return await (runner.peek(work) if peek else runner.call(work))
        except SyncBusy:
            raise ServiceError(
                ErrorCode.SYNC_ERROR,
                "sync has been busy with the sync folder for a while (a disk that does not "
                "answer?): try again in a moment",
            ) from None
        except ImportError:
            raise ServiceError(
                ErrorCode.UNSUPPORTED_OPERATION, "this vauth was built without sync"
            ) from None
        except Exception as exc:
            if is_sync_error(exc):
                raise ServiceError(ErrorCode.SYNC_ERROR, str(exc)) from None
            raise

    async def _configured(self) -> None:
        if not await self._call(lambda engine: engine.configured):
            raise ServiceError(
                ErrorCode.SYNC_ERROR,
                "sync is not set up on this computer: run `vauth sync init FOLDER` on the first "
                "one, or `vauth sync join FOLDER` to join the others",
            )

    async def init(self, folder: str, device_name: str) -> dict[str, Any]:
        path = _sync_folder(folder)
        return _object(await self._call(lambda e: e.init(path, device_name)))

    async def join(self, folder: str, device_name: str) -> dict[str, Any]:
        path = _sync_folder(folder)
        return _object(await self._call(lambda e: e.request_join(path, device_name)))

    async def pending(self) -> list[Any]:
        await self._configured()
        return list(as_json(await self._call(lambda e: e.pending())))

    async def approve(self, device_id: str, fingerprint: str) -> dict[str, Any]:
        await self._configured()
        return _object(await self._call(lambda e: e.approve(device_id, fingerprint)))

    async def devices(self) -> list[Any]:
        await self._configured()
        return list(as_json(await self._call(lambda e: e.devices())))

    async def remove(self, device_id: str) -> None:
        await self._configured()
        await self._call(lambda e: e.remove(device_id))

    async def leave(self) -> None:
        """Stop syncing on this computer: the others are told, its passkeys stay."""
        await self._configured()
        await self._call(lambda e: e.leave())

    async def default(self, value: str | None) -> dict[str, str]:
        """What new passkeys are unless the person chooses in the ceremony window ("synced" or
        "device"); with ``value``, set it first."""
        if value is not None:
            await self._call(lambda e: e.set_default(value))
        return {"default": await self._call(lambda e: e.default)}

    async def status(self) -> dict[str, Any]:
        """``{"configured": false}`` before init or join; else the library's SyncStatus, the
        last failure of the daemon's publish or merge (``lastError``, a sentence), and how many
        merges it ran and how long the last ten took. It never waits for a merge to end."""
        runner = self._runner()
        if not await self._call(lambda engine: engine.configured, peek=True):
            return {"configured": False}
        status = _object(await self._call(lambda e: e.status(), peek=True))
        return {
            "configured": True,
            **status,
            "lastError": runner.last_error,
            "merges": runner.merges,
            "recentMergeSeconds": list(runner.merge_s),
        }


def _sync_folder(folder: str) -> Path:
    if not os.path.isabs(folder):  # the daemon's working directory is not the caller's
        raise ServiceError(
            ErrorCode.INVALID_ARGUMENT, f"folder must be an absolute path, not {folder!r}"
        )
    path = Path(folder)
    if not path.is_dir():
        raise ServiceError(
            ErrorCode.INVALID_ARGUMENT,
            f"folder {folder} is not a directory: create it (or let Syncthing share it) first",
        )
    return path


def as_json(value: Any) -> Any:
    """The library's frozen dataclasses as JSON: camelCase keys, bytes as base64url."""
    if is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): as_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    if isinstance(value, bytes):
        return base64url.encode(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _object(value: Any) -> dict[str, Any]:
    converted = as_json(value)
    assert isinstance(converted, dict)
    return converted


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


@dataclass(frozen=True, slots=True)
class Operations:
    """The socket's operations on the vault, by what they own."""

    vault: VaultAdmin
    passkeys: Passkeys
    audit: AuditLog
    signals: Signals
    sync: SyncDevices

    @classmethod
    def of(cls, service: Service) -> Operations:
        return cls(
            VaultAdmin(service),
            Passkeys(service),
            AuditLog(service),
            Signals(service),
            SyncDevices(service),
        )


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
