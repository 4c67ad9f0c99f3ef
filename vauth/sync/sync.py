"""Sync: the facade the daemon and the CLI use (blocking: run it off the event loop).

It holds one lock over the parts it stands for: the group (membership and keys, group.py,
with inbox.py for what other members leave for this device), the publisher (this device's
journal and the files it heals, publisher.py) and the merger (everything else the folder holds,
merger.py). `status` takes no lock: it answers while a merge runs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from vauth.sync.group import Group
from vauth.sync.inbox import Inbox
from vauth.sync.merger import Merger
from vauth.sync.publisher import Publisher
from vauth.sync.types import DeviceInfo, JoinRequest, MergeReport, Refusal, SyncError, SyncStatus
from vauth.vault.replica import Replica
from vauth.vault.vault import Vault

logger = logging.getLogger(__name__)


class Sync:
    """This device's side of a sync group, kept in ``vault``; "not set up" until :meth:`init`
    or :meth:`request_join`."""

    def __init__(self, vault: Vault, now: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self.group = Group(Replica(vault), now)
        self.inbox = Inbox(self.group)
        self.publisher = Publisher(self.group)
        self.merger = Merger(self.group, self.inbox, self.publisher)

    @property
    def configured(self) -> bool:
        return self.group.configured

    @property
    def folder(self) -> Path | None:
        return self.group.folder

    @property
    def default(self) -> str:
        return self.group.default

    def set_default(self, value: str) -> None:
        self.group.set_default(value)

    # -- membership --------------------------------------------------------------------------

    def init(self, folder: Path, device_name: str) -> DeviceInfo:
        """Make this device the first of a new group that syncs through ``folder``."""
        with self._lock:
            info = self.group.init(folder, device_name)
            self.publisher.publish()
            return info

    def request_join(self, folder: Path, device_name: str) -> JoinRequest:
        with self._lock:
            return self.group.request_join(folder, device_name)

    def pending(self) -> list[JoinRequest]:
        return self.inbox.pending()

    def approve(self, device_id: str, fingerprint: str) -> DeviceInfo:
        """Let ``device_id`` join, if ``fingerprint`` is the code it shows; it starts from
        this device's snapshot rather than from every segment."""
        with self._lock:
            info = self.group.approve(device_id, fingerprint)
            self.publisher.snapshot()  # publishes first
            return info

    def devices(self) -> list[DeviceInfo]:
        return self.group.devices()

    def remove(self, device_id: str) -> None:
        with self._lock:
            self.group.remove(device_id)
            self.publisher.publish()

    def leave(self) -> None:
        """Stop syncing on this device: the others are told (they remove it and give
        themselves a new group key), its passkeys stay, synced ones no longer backed up."""
        with self._lock:
            if self.group.leave():
                try:
                    self.publisher.publish()
                except SyncError as exc:
                    logger.warning("sync: could not tell the other devices: %s", exc)
            self.group.forget()

    def status(self) -> SyncStatus:
        state = self.group.need(joined=False)
        refused, unpublished = self.group.replica.run(
            lambda tx: (
                [Refusal(r.path, r.reason, r.at, r.repair or "") for r in tx.refusals()],
                tx.unpublished_count(),
            )
        )
        pending = []
        if state["joined"]:
            try:
                pending = self.pending()
            except SyncError:  # the folder is missing: publish and merge say so
                pending = []
        return SyncStatus(
            state["folder"],
            state["identity"]["device_id"],
            self.devices(),
            pending,
            refused,
            bool(state["joined"]),
            unpublished,
            max(self.merger.refused_total, len(refused)),
            self.group.notes,
        )

    # -- the journal -------------------------------------------------------------------------

    def publish(self) -> int:
        """Write this device's unpublished changes to the folder; how many entries."""
        with self._lock:
            return self.publisher.publish()

    def snapshot(self) -> Path:
        with self._lock:
            path: Path = self.publisher.snapshot()
            return path

    def merge(self) -> MergeReport:
        """Restore this device's own files, then apply every other device's new segments."""
        with self._lock:
            return self.merger.merge()
