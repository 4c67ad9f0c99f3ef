"""Sync: the facade the daemon and the CLI use (blocking: run it off the event loop)."""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import cbor2
import sqlcipher3

from vauth.sync import envelope, membership, merge, snapshot
from vauth.sync.envelope import GENESIS, Header, Malformed
from vauth.sync.identity import DeviceDoc, Identity, fingerprint, sign, verified
from vauth.sync.journal import SNAPSHOT, Folder, read_json
from vauth.sync.membership import Member
from vauth.sync.types import (
    DeviceInfo,
    JoinRequest,
    MergeReport,
    Refusal,
    SegmentRefused,
    SyncError,
    SyncStatus,
)
from vauth.vault import outbox
from vauth.vault.vault import Vault

logger = logging.getLogger(__name__)
T = TypeVar("T")
STATE = outbox.STATE_SETTING
ACTOR = "sync:{}"
MAX_HLC = 1 << 62  # a clock value beyond this (year 2248 and more) is refused
# Entries per segment, at most: what a merge holds in memory at once (issue 13: under 100 MiB).
SEGMENT_ENTRIES = 1000  # who the audit log says made a merged change


class Sync:
    """This device's side of a sync group, kept in ``vault``; "not set up" until :meth:`init`
    or :meth:`request_join`."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._lock = threading.RLock()
        self._state: dict[str, Any] | None = self._db(_read_state)
        self._now: Callable[[], float] = time.time

    # -- state -------------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return self._state is not None

    @property
    def folder(self) -> Path | None:
        return None if self._state is None else Path(self._state["folder"])

    @property
    def default(self) -> str:
        """What new passkeys are unless the person chooses: "synced" or "device" (the vault
        setting sync.default; "synced" when unset)."""
        found = self._db(
            lambda c: c.execute(
                "SELECT value FROM settings WHERE name = ?", (outbox.DEFAULT_SETTING,)
            ).fetchone()
        )
        return "device" if found is not None and bytes(found[0]) == b"device" else "synced"

    def set_default(self, value: str) -> None:
        if value not in ("synced", "device"):
            raise SyncError('The default for new passkeys must be "synced" or "device".')
        self._db(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
                (outbox.DEFAULT_SETTING, value.encode()),
            )
        )
        self._vault.store.changed_elsewhere(None)

    def _db(self, work: Callable[[sqlcipher3.Connection], T]) -> T:
        """``work`` in one transaction on the vault's thread: all of it or none."""

        def run(db: Any) -> T:
            with db.transaction() as connection:
                return work(connection)

        return self._vault.with_database_sync(run)

    def _need(self, joined: bool = True) -> dict[str, Any]:
        if self._state is None:
            raise SyncError(
                "Sync is not set up on this device: start with `vauth sync init` or "
                "`vauth sync join`."
            )
        if joined and not self._state["joined"]:
            raise SyncError(
                "This device has asked to join but is not approved yet: approve it on a device "
                "that is already in the group, then let the folder sync."
            )
        return self._state

    def _files(self) -> Folder:
        state = self._need(joined=False)
        folder = Path(state["folder"])
        if not folder.is_dir():  # unmounted, or moved: never write a new one in its place
            raise SyncError(
                f"The sync folder {folder} is missing: check that its disk is there and that "
                "the sync program still shares it."
            )
        return Folder(folder, self._vault.path.parent)

    def _identity(self) -> Identity:
        return Identity.from_secrets(self._need(joined=False)["identity"])

    def _save_state(self, connection: sqlcipher3.Connection, state: dict[str, Any]) -> None:
        connection.execute(
            "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
            (STATE, cbor2.dumps(state)),
        )

    # -- setting up --------------------------------------------------------------------------

    def init(self, folder: Path, device_name: str) -> DeviceInfo:
        """Make this device the first of a new group that syncs through ``folder``."""
        with self._lock:
            folder = self._new_folder(folder, device_name)
            files = Folder(folder, self._vault.path.parent)
            if files.group().exists():
                raise SyncError(
                    f"The folder {folder} already holds a vauth sync group: join it with "
                    "`vauth sync join` instead."
                )
            identity = Identity.new(device_name)
            group_id = os.urandom(16).hex()
            group = sign(
                identity.signing,
                {"type": "vauth-sync-group", "group": group_id, "founder": identity.sign_key.hex()},
            )
            files.write_json(files.group(), group, replace=False)
            files.write_json(files.device_doc(identity.device_id), identity.document(group_id))
            state = _new_state(folder, group_id, identity.sign_key, identity, joined=True)

            def work(connection: sqlcipher3.Connection) -> None:
                self._save_state(connection, state)
                membership.add(connection, _doc(identity, group_id), this_device=True)
                membership.add_keys(connection, {1: os.urandom(envelope.KEY_BYTES)})

            self._db(work)
            self._state = state
            self._vault.store.changed_elsewhere(None)  # new passkeys may sync from now on
            self.publish()
            return self._info(identity.device_id)

    def request_join(self, folder: Path, device_name: str) -> JoinRequest:
        """Ask to join the group that syncs through ``folder``; a member approves after both
        devices show the same fingerprint."""
        with self._lock:
            folder = self._new_folder(folder, device_name)
            files = Folder(folder, self._vault.path.parent)
            group = read_json(files.group())
            founder = _founder(group)
            if founder is None:
                raise SyncError(
                    f"The folder {folder} holds no vauth sync group yet: set one up with "
                    "`vauth sync init` on your first device, and wait for the folder to sync."
                )
            group_id = str(group["group"])
            identity = Identity.new(device_name)
            files.write_json(files.join_request(identity.device_id), identity.document(group_id))
            state = _new_state(folder, group_id, founder, identity, joined=False)

            def work(connection: sqlcipher3.Connection) -> None:
                self._save_state(connection, state)
                membership.add(connection, _doc(identity, group_id), this_device=True)

            self._db(work)
            self._state = state
            self._vault.store.changed_elsewhere(None)
            return JoinRequest(
                identity.device_id, device_name, self._fingerprint(_doc(identity, group_id))
            )

    def _new_folder(self, folder: Path, device_name: str) -> Path:
        if self._state is not None:
            raise SyncError(
                f"Sync is already set up on this device, with the folder {self._state['folder']}."
            )
        if not device_name.strip():
            raise SyncError(
                "The device needs a name, so that your other devices can tell it apart."
            )
        folder = Path(folder).expanduser().absolute()
        if not folder.is_dir():
            raise SyncError(f"The sync folder {folder} does not exist or is not a folder.")
        return folder

    def _fingerprint(self, doc: DeviceDoc) -> str:
        state = self._need(joined=False)
        return fingerprint(state["group"], state["founder"], doc.sign_key, doc.box_key)

    # -- membership --------------------------------------------------------------------------

    def pending(self) -> list[JoinRequest]:
        with self._lock:
            state = self._need(joined=False)
            files = self._files()
            known = self._db(membership.members)
            found = []
            for path in files.join_requests():
                doc = DeviceDoc.parse(read_json(path))
                if doc is None or doc.group_id != state["group"] or doc.device_id in known:
                    continue
                found.append(JoinRequest(doc.device_id, doc.name, self._fingerprint(doc)))
            return found

    def approve(self, device_id: str, fingerprint: str) -> DeviceInfo:
        """Let ``device_id`` join, if ``fingerprint`` is the code it shows."""
        with self._lock:
            state = self._need()
            files = self._files()
            raw = read_json(files.join_request(device_id))
            doc = DeviceDoc.parse(raw)
            if doc is None or doc.group_id != state["group"]:
                raise SyncError(f"No device with the ID {device_id} has asked to join this group.")
            if _digits(fingerprint) != _digits(self._fingerprint(doc)):
                raise SyncError(
                    "The code you typed does not match the code of the device asking to join: "
                    "do not approve it (someone else may be asking in its place)."
                )
            identity = self._identity()

            cert = membership.certify(identity.signing, identity.device_id, doc)

            def work(connection: sqlcipher3.Connection) -> tuple[dict[int, bytes], list[Any]]:
                membership.add(connection, doc)
                membership.keep_certificate(connection, doc.device_id, cert)
                outbox.queue(
                    connection,
                    outbox.MEMBER,
                    int(self._now() * 1000),
                    data=cbor2.dumps({"op": membership.ADD, "doc": raw, "cert": cert}),
                )
                return membership.keys(connection), membership.roster(connection, state["group"])

            keys, roster = self._db(work)
            self._vault.store.changed_elsewhere(None)  # BS of every synced passkey may change
            epoch = max(keys)
            sealed = envelope.seal_keys(
                state["group"], epoch, doc.device_id, doc.box_key, identity.device_id,
                identity.signing, {"keys": keys, "members": roster},
            )  # fmt: skip
            self.publish()
            self.snapshot()  # the new device starts from it rather than from every segment
            files.write_json(files.key_envelope(epoch, doc.device_id), sealed)
            return self._info(doc.device_id)

    def devices(self) -> list[DeviceInfo]:
        with self._lock:
            self._need(joined=False)
            return [self._device_info(m) for m in self._db(membership.members).values()]

    def _info(self, device_id: str) -> DeviceInfo:
        return self._device_info(self._db(membership.members)[device_id])

    def _device_info(self, member: Member) -> DeviceInfo:
        state = self._need(joined=False)
        doc = DeviceDoc(
            member.device_id, member.name, state["group"], member.sign_key, member.box_key
        )
        return DeviceInfo(
            member.device_id,
            member.name,
            self._fingerprint(doc),
            member.this_device,
            member.removed,
            member.last_seq,
            None if member.last_seen is None else member.last_seen // 1000,
        )

    def remove(self, device_id: str) -> None:
        """Remove a device from the group (a lost computer): the group key moves to a new
        epoch that only the remaining members receive."""
        with self._lock:
            state = self._need()
            files = self._files()
            identity = self._identity()
            now = int(self._now() * 1000)
            new_key = os.urandom(envelope.KEY_BYTES)

            def work(
                connection: sqlcipher3.Connection,
            ) -> tuple[int, dict[int, bytes], list[Any], list[Member]]:
                known = membership.members(connection)
                member = known.get(device_id)
                if member is None:
                    raise SyncError(f"No device with the ID {device_id} is in this sync group.")
                if member.this_device:
                    raise SyncError(
                        "This is the device you are using: remove it from another of your devices."
                    )
                if member.removed:
                    raise SyncError(f"The device {member.name} was removed already.")
                epoch = max(membership.keys(connection)) + 1
                membership.remove(connection, device_id, epoch, member.last_seq)
                membership.add_keys(connection, {epoch: new_key})
                entry = {
                    "op": membership.REMOVE,
                    "device": device_id,
                    "epoch": epoch,
                    "cutoff": member.last_seq,
                }
                outbox.queue(connection, outbox.MEMBER, now, data=cbor2.dumps(entry))
                remaining = [
                    m
                    for m in membership.members(connection).values()
                    if not m.removed and not m.this_device
                ]
                return (
                    epoch,
                    membership.keys(connection),
                    membership.roster(connection, state["group"]),
                    remaining,
                )

            epoch, keys, roster, remaining = self._db(work)
            self._vault.store.changed_elsewhere(None)
            for member in remaining:
                sealed = envelope.seal_keys(
                    state["group"], epoch, member.device_id, member.box_key, identity.device_id,
                    identity.signing, {"keys": keys, "members": roster},
                )  # fmt: skip
                files.write_json(files.key_envelope(epoch, member.device_id), sealed)
            self.publish()

    def leave(self) -> None:
        """Stop syncing on this device (its passkeys stay; synced ones are no longer backed up)."""
        with self._lock:
            self._need(joined=False)

            def work(connection: sqlcipher3.Connection) -> None:
                for table in (
                    "sync_outbox",
                    "sync_devices",
                    "sync_keys",
                    "sync_clock",
                    "sync_refused",
                ):
                    connection.execute(f"DELETE FROM {table}")  # noqa: S608
                connection.execute("DELETE FROM settings WHERE name = ?", (STATE,))
                merge.refresh_backup_state(connection)

            self._db(work)
            self._vault.store.changed_elsewhere(None)
            self._state = None

    def status(self) -> SyncStatus:
        with self._lock:
            state = self._need(joined=False)

            def work(connection: sqlcipher3.Connection) -> tuple[list[Refusal], int]:
                refused = connection.execute(
                    "SELECT path, reason, at FROM sync_refused ORDER BY at, path"
                )
                count = connection.execute("SELECT count(*) FROM sync_outbox").fetchone()[0]
                return [Refusal(p, r, a) for p, r, a in refused.fetchall()], int(count)

            refused, unpublished = self._db(work)
            return SyncStatus(
                state["folder"],
                state["identity"]["device_id"],
                self.devices(),
                self.pending() if state["joined"] else [],
                refused,
                bool(state["joined"]),
                unpublished,
            )

    # -- the journal -------------------------------------------------------------------------

    def publish(self) -> int:
        """Write this device's unpublished changes as new complete segments (one, unless
        there are more than SEGMENT_ENTRIES); how many entries."""
        with self._lock:
            written = 0
            while True:
                count, more = self._publish_one()
                written += count
                if not more:
                    return written

    def _publish_one(self) -> tuple[int, bool]:
        state = self._need()
        files = self._files()
        identity = self._identity()
        me = identity.device_id
        self._adopt_written(files, identity)

        def read(
            connection: sqlcipher3.Connection,
        ) -> tuple[list[dict[str, Any]], list[Any], Member, dict[int, bytes]]:
            rows = connection.execute(
                "SELECT seq, kind, credential_id, hlc, data FROM sync_outbox ORDER BY seq LIMIT ?",
                (SEGMENT_ENTRIES + 1,),
            ).fetchall()
            entries = [
                e for e in (_entry(connection, *row[1:]) for row in rows[:SEGMENT_ENTRIES]) if e
            ]
            member = membership.members(connection)[me]
            return entries, rows, member, membership.keys(connection)

        entries, rows, member, keys = self._db(read)
        if member.removed:
            raise SyncError(
                "This device was removed from the sync group; its changes are no longer shared."
            )
        if not rows:
            return 0, False
        last_row = rows[min(len(rows), SEGMENT_ENTRIES) - 1][0]
        epoch = max(keys)
        header = Header(
            state["group"], me, member.last_seq + 1, epoch, member.last_hash or GENESIS,
            max((e["hlc"] for e in entries), default=0), last_row,
        )  # fmt: skip
        data = envelope.seal_segment(header, entries, keys[epoch], identity.signing)
        try:
            files.write(files.segment(me, header.seq), data)
        except OSError as exc:
            raise SyncError(
                f"vauth could not write to the sync folder {files.path}: "
                f"{exc.strerror or exc}. Nothing was lost; it will try again."
            ) from None
        digest, now = envelope.file_hash(data), int(self._now() * 1000)
        self._db(lambda c: _published(c, me, header, digest, now))
        return len(entries), len(rows) > SEGMENT_ENTRIES

    def snapshot(self) -> Path:
        """Write this device's view of the group as its latest snapshot (after publishing
        what it has not); older snapshots of this device go."""
        with self._lock:
            state = self._need()
            self.publish()
            files = self._files()
            identity = self._identity()
            me = identity.device_id

            def take(connection: sqlcipher3.Connection) -> tuple[Any, Member, dict[int, bytes]]:
                view = snapshot.take(connection, state["group"])
                return view, membership.members(connection)[me], membership.keys(connection)

            view, member, keys = self._db(take)
            epoch = max(keys)
            header = Header(
                state["group"], me, member.last_seq, epoch, member.last_hash or GENESIS, 0, 0
            )
            data = envelope.seal_segment(
                header, [view], keys[epoch], identity.signing, envelope.SNAPSHOT_MAGIC
            )
            path = files.snapshot(me, member.last_seq)
            files.write(path, data, replace=True)
            for seq, old in files.segments(me, SNAPSHOT).items():
                if seq < member.last_seq:
                    old.unlink(missing_ok=True)
            return path

    def _start_from_snapshot(self) -> int:
        """On a device that has applied nothing yet: the most complete snapshot a member left
        (checked like a segment), applied in one transaction; how many credentials it brought."""
        state = self._need()
        files = self._files()
        me = state["identity"]["device_id"]
        members = self._db(membership.members)
        if any(m.last_seq for m in members.values() if not m.this_device):
            return 0
        keys = self._db(membership.keys)
        best: tuple[int, dict[str, Any], Member] | None = None
        for member in members.values():
            if member.this_device or member.removed:
                continue
            found = files.segments(member.device_id, SNAPSHOT)
            if not found:
                continue
            path = found[max(found)]
            try:
                data = path.read_bytes()
                header = envelope.read_header(data, envelope.SNAPSHOT_MAGIC)
                if header.group_id != state["group"] or header.device_id != member.device_id:
                    raise Malformed("it belongs to another group or device")
                envelope.check_signature(data, member.sign_key)
                key = keys.get(header.epoch)
                if key is None:
                    raise Malformed("it is encrypted with a group key this device lacks")
                [view] = envelope.open_entries(data, key)
            except (Malformed, ValueError, OSError) as exc:
                logger.warning("sync: ignored the snapshot %s: %s", path, exc)
                continue
            markers = view.get("markers")
            covered = sum(m[0] for m in markers.values()) if isinstance(markers, dict) else 0
            if best is None or covered > best[0]:
                best = (covered, view, member)
        if best is None:
            return 0
        _, view, member = best
        actor, now = ACTOR.format(member.name), int(self._now() * 1000)
        try:
            brought = self._db(lambda c: snapshot.apply(c, view, me, actor, now))
        except (merge.BadEntry, TypeError, ValueError, KeyError) as exc:
            logger.warning("sync: ignored the snapshot of %s: %s", member.name, exc)
            return 0
        return len(brought)

    def _adopt_written(self, files: Folder, identity: Identity) -> None:
        """A segment written but not recorded (the process stopped in between) is ours: count
        it as published rather than write its number again."""
        me = identity.device_id
        member = self._db(membership.members)[me]
        path = files.segment(me, member.last_seq + 1)
        if not path.exists():
            return
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SyncError(
                f"vauth could not read the sync folder's {path}: {exc.strerror or exc}. "
                "Nothing was lost; it will try again."
            ) from None
        try:
            envelope.check_signature(data, identity.sign_key)
            header = envelope.read_header(data)
        except Malformed as exc:
            raise SyncError(
                f"The sync folder holds a damaged segment of this device ({path}): {exc}."
            ) from None
        if header.prev != (member.last_hash or GENESIS):
            raise SyncError(
                f"The sync folder holds a segment of this device that it did not write ({path})."
            )
        now = int(self._now() * 1000)
        self._db(lambda c: _published(c, me, header, envelope.file_hash(data), now))

    def merge(self) -> MergeReport:
        """Apply every other device's new segments (after taking any key envelope for this
        device); each segment in one transaction with its "applied up to" marker."""
        with self._lock:
            state = self._need(joined=False)
            if not state["joined"] and not self._complete_join():
                return MergeReport(0)
            self._take_new_keys()
            applied, changed = self._start_from_snapshot(), set[bytes]()
            progress = True
            while progress:  # a membership entry may make another device's segments valid
                progress = False
                for device_id in self._files().device_ids():
                    if device_id == state["identity"]["device_id"]:
                        continue
                    count, ids = self._merge_device(device_id)
                    applied += count
                    changed.update(ids)
                    progress = progress or count > 0
            # What stays refused, from this merge or before it (each is tried again every time).
            refused = self.status().refused
            if changed or applied:  # entries may have changed the group's size (BS) too
                self._vault.store.changed_elsewhere(None)
            return MergeReport(applied, refused, sorted(changed))

    def _merge_device(self, device_id: str) -> tuple[int, set[bytes]]:
        files = self._files()
        segments = files.segments(device_id)
        applied, changed = 0, set[bytes]()
        while True:
            member = self._db(membership.members).get(device_id)
            seq = (member.last_seq if member else 0) + 1
            path = segments.get(seq)
            if path is None:
                return applied, changed  # nothing new (or the next has not arrived yet)
            try:
                count, ids = self._apply_segment(path, device_id, seq, member)
            except SegmentRefused as exc:
                refusal = Refusal(exc.path, exc.reason, int(self._now()))
                if self._db(functools.partial(_refuse, refusal=refusal)):
                    logger.warning("sync: refused %s: %s", refusal.path, refusal.reason)
                return applied, changed
            applied += count
            changed.update(ids)

    def _apply_segment(
        self, path: Path, device_id: str, seq: int, member: Member | None
    ) -> tuple[int, set[bytes]]:
        state = self._need(joined=False)
        if member is None:
            raise SegmentRefused(
                path, "it comes from a device that no member of this sync group has approved"
            )
        if member.removed and member.cutoff_seq is not None and seq > member.cutoff_seq:
            raise SegmentRefused(
                path, f"it comes from the device {member.name}, which was removed from the group"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:  # removed or unreadable meanwhile: refused, tried again next time
            raise SegmentRefused(path, f"it cannot be read ({exc.strerror or exc})") from None
        try:
            header = envelope.read_header(data)
            if header.group_id != state["group"]:
                raise Malformed("it belongs to another sync group")
            if header.device_id != device_id:
                raise Malformed(
                    "it was written by another device than the one whose folder holds it"
                )
            envelope.check_signature(data, member.sign_key)
            if header.seq != seq:
                raise Malformed(
                    "its number does not match its place in the journal "
                    "(a reordered or replayed segment)"
                )
            if header.prev != (member.last_hash or GENESIS):
                raise Malformed(
                    "it does not follow the previous segment of its device "
                    "(a replayed, reordered or altered segment)"
                )
            if not 0 <= header.hlc < MAX_HLC:
                raise Malformed("its clock is out of range")
            if member.removed_epoch is not None and header.epoch >= member.removed_epoch:
                raise Malformed(
                    f"it was written after the device {member.name} was removed from the group"
                )
            key = self._db(membership.keys).get(header.epoch)
            if key is None:
                raise Malformed("it is encrypted with a group key this device has not been given")
            entries = envelope.open_entries(data, key)
        except Malformed as exc:
            raise SegmentRefused(path, str(exc)) from None
        actor = ACTOR.format(member.name)
        now = int(self._now() * 1000)

        def work(connection: sqlcipher3.Connection) -> set[bytes]:
            changed = set()
            backed_up = merge.shared(connection)
            for entry in entries:
                kind = entry.get("k")
                if kind in (outbox.CREATE, outbox.UPDATE):
                    changed.add(
                        merge.apply_credential(connection, entry, device_id, actor, now, backed_up)
                    )
                elif kind == outbox.SETTING:
                    merge.apply_setting(connection, entry, device_id)
                elif kind == outbox.MEMBER:
                    membership.apply_entry(connection, entry)
                    backed_up = merge.shared(connection)
                    merge.refresh_backup_state(connection)
                else:
                    raise merge.BadEntry("an entry is of an unknown kind")
            outbox.observe(connection, header.hlc)
            _published(connection, device_id, header, envelope.file_hash(data), now)
            connection.execute("DELETE FROM sync_refused WHERE path = ?", (str(path),))
            return changed

        try:
            return len(entries), self._db(work)
        except merge.BadEntry as exc:
            raise SegmentRefused(path, f"{exc} (the segment was not applied)") from None
        except (TypeError, ValueError, KeyError, OverflowError, AttributeError):
            # signed by a member, yet not what this vauth understands: refused, never half-applied
            raise SegmentRefused(
                path, "its entries are not in a form this version of vauth understands"
            ) from None

    def _complete_join(self) -> bool:
        """On a device that asked to join: take the key envelope an approver left for it."""
        state = self._need(joined=False)
        files = self._files()
        identity = self._identity()
        for epoch in reversed(files.epochs()):
            raw = read_json(files.key_envelope(epoch, identity.device_id))
            if not isinstance(raw, dict):
                continue
            approver = DeviceDoc.parse(read_json(files.device_doc(str(raw.get("approver")))))
            if approver is None or approver.group_id != state["group"]:
                continue
            try:
                payload = envelope.open_keys(raw, approver.sign_key, identity.box)
                docs = membership.roster_docs(payload.get("members"))
                certs = membership.roster_certificates(payload.get("members"))
            except (Malformed, merge.BadEntry) as exc:
                logger.warning("sync: ignored a key envelope for this device: %s", exc)
                continue
            listed = docs.get(approver.device_id)
            if (
                listed is None
                or listed.sign_key != approver.sign_key
                or not membership.vouched(docs, certs, approver.device_id, state["founder"])
            ):
                logger.warning(
                    "sync: ignored a key envelope from %s: no chain of approvals leads from the "
                    "group's first device to it",
                    approver.name,
                )
                continue
            joined = {**state, "joined": True}
            self._db(functools.partial(self._take_envelope, payload=payload, state=joined))
            self._state = joined
            self._vault.store.changed_elsewhere(None)
            files.write_json(
                files.device_doc(identity.device_id), identity.document(state["group"])
            )
            return True
        return False

    def _take_envelope(
        self, connection: sqlcipher3.Connection, payload: dict[str, Any], state: dict[str, Any]
    ) -> None:
        membership.add_keys(connection, _keys(payload))
        me = state["identity"]["device_id"]
        membership.apply_roster(connection, payload.get("members"), me)
        self._save_state(connection, state)

    def _take_new_keys(self) -> None:
        """Group keys of epochs this device has not seen, sealed to it by a member."""
        files = self._files()
        identity = self._identity()
        known = self._db(membership.keys)
        members = self._db(membership.members)
        for epoch in files.epochs():
            if epoch in known:
                continue
            raw = read_json(files.key_envelope(epoch, identity.device_id))
            if not isinstance(raw, dict):
                continue
            approver = members.get(str(raw.get("approver")))
            if approver is None or approver.removed:
                continue
            try:
                payload = envelope.open_keys(raw, approver.sign_key, identity.box)
            except Malformed as exc:
                logger.warning("sync: ignored a key envelope for this device: %s", exc)
                continue
            self._db(functools.partial(membership.add_keys, new=_keys(payload)))


def _read_state(connection: sqlcipher3.Connection) -> dict[str, Any] | None:
    row = connection.execute("SELECT value FROM settings WHERE name = ?", (STATE,)).fetchone()
    return None if row is None else dict(cbor2.loads(bytes(row[0])))


def _new_state(
    folder: Path, group_id: str, founder: bytes, identity: Identity, joined: bool
) -> dict[str, Any]:
    return {
        "folder": str(folder),
        "group": group_id,
        "founder": founder,
        "identity": identity.secrets(),
        "joined": joined,
    }


def _doc(identity: Identity, group_id: str) -> DeviceDoc:
    return DeviceDoc(
        identity.device_id, identity.name, group_id, identity.sign_key, identity.box_key
    )


def _founder(group: object) -> bytes | None:
    if not isinstance(group, dict) or group.get("type") != "vauth-sync-group":
        return None
    try:
        founder = bytes.fromhex(group["founder"])
    except (KeyError, ValueError, TypeError):
        return None
    return founder if verified(group, founder) else None


def _refuse(connection: sqlcipher3.Connection, refusal: Refusal) -> bool:
    """Record a refusal; whether it is new (each is tried again at every merge)."""
    known = connection.execute(
        "SELECT 1 FROM sync_refused WHERE path = ? AND reason = ?", (refusal.path, refusal.reason)
    ).fetchone()
    if known is not None:
        return False
    connection.execute(
        "INSERT OR REPLACE INTO sync_refused (path, reason, at) VALUES (?, ?, ?)",
        (refusal.path, refusal.reason, refusal.at),
    )
    return True


def _digits(code: str) -> str:
    return re.sub(r"\D", "", code)


def _keys(payload: dict[str, Any]) -> dict[int, bytes]:
    keys = payload.get("keys")
    if not isinstance(keys, dict):
        return {}
    return {
        int(e): bytes(k)
        for e, k in keys.items()
        if isinstance(k, bytes) and len(k) == envelope.KEY_BYTES
    }


def _published(
    connection: sqlcipher3.Connection, device_id: str, header: Header, digest: bytes, now: int
) -> None:
    """Record a segment as applied (another device's) or published (ours: its outbox rows go)."""
    connection.execute(
        "UPDATE sync_devices SET last_seq = ?, last_hash = ?, last_seen = ? WHERE device_id = ?",
        (header.seq, digest, now, device_id),
    )
    if outbox.this_device(connection) == device_id:
        connection.execute("DELETE FROM sync_outbox WHERE seq <= ?", (header.outbox,))


_CREATE_SELECT = (
    f"SELECT {', '.join(outbox.SYNCED_FIELDS)}, deleted_at FROM credentials "  # noqa: S608
    "WHERE credential_id = ? AND synced"
)


def _entry(
    connection: sqlcipher3.Connection,
    kind: str,
    credential_id: bytes | None,
    hlc: int,
    data: bytes | None,
) -> dict[str, Any] | None:
    """One outbox row as a journal entry (None: its credential is gone for good)."""
    if kind == outbox.CREATE:
        row = connection.execute(_CREATE_SELECT, (credential_id,)).fetchone()
        if row is None:
            return None
        names = (*outbox.SYNCED_FIELDS, outbox.DELETED)
        fields = dict(zip(names, row, strict=True))
        fields["discoverable"] = bool(fields["discoverable"])
        return {"k": kind, "id": credential_id, "hlc": hlc, "f": fields}
    payload = cbor2.loads(data) if data is not None else {}
    if kind == outbox.MEMBER:
        return {"k": kind, "hlc": hlc, **payload}
    return {"k": kind, "id": credential_id, "hlc": hlc, "f": payload}
