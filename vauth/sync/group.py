"""This device's side of the sync group: its identity and settings, setting up (init, join),
approving, removing and leaving, and taking the membership changes and group keys other members
leave for it, by vauth/sync/membership.py's rule. Blocking: the facade (sync.py) runs it under
its lock, off the event loop."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2

from vauth.sync import envelope, reader
from vauth.sync.identity import DeviceDoc, Identity, fingerprint, sign, verified
from vauth.sync.journal import Folder
from vauth.sync.membership import (
    ADD,
    CERTIFICATES,
    LEAVE,
    REKEY,
    REMOVE,
    Certificate,
    Change,
    Epoch,
    Verdict,
    certify,
    current,
    judge,
    next_number,
    roster,
    roster_entry,
    valid_certificate,
)
from vauth.sync.merge import BadEntry
from vauth.sync.types import DeviceInfo, JoinRequest, Refusal, SyncError
from vauth.vault import outbox
from vauth.vault.replica import EpochRow, MemberRow, Replica, ReplicaTx

logger = logging.getLogger(__name__)
STATE = outbox.STATE_SETTING
Write = tuple[Path, bytes]  # a file this device writes to the folder, once recorded
NOTHING_TO_DO = (
    "Nothing to do: vauth takes a group key only with a membership change of the group, "
    "made by one of its members."
)
NOT_OURS = "It is not a file vauth writes there: nothing to do (you may delete it)."


@dataclass(frozen=True)
class Found:
    """A refused file: where, why, what repairs it, and its version (it is judged once)."""

    refusal: Refusal
    version: object


class Group:
    """This device in its sync group; "not set up" until :meth:`init` or :meth:`request_join`."""

    def __init__(self, replica: Replica, now: Callable[[], float] = time.time) -> None:
        self.replica = replica
        self.now = now
        self.state: dict[str, Any] | None = replica.run(_read_state)
        self._notes: deque[str] = deque(maxlen=20)  # what this device repaired, for status
        self._notes_lock = threading.Lock()  # status reads them while a merge adds one

    def note(self, text: str) -> None:
        """Something this device repaired in the folder (a phrase after "This computer")."""
        with self._notes_lock:
            self._notes.append(text)

    @property
    def notes(self) -> list[str]:
        with self._notes_lock:
            return list(self._notes)

    # -- state -------------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return self.state is not None

    @property
    def folder(self) -> Path | None:
        return None if self.state is None else Path(self.state["folder"])

    @property
    def device_id(self) -> str:
        return str(self.need(joined=False)["identity"]["device_id"])

    def ms(self) -> int:
        return int(self.now() * 1000)

    def need(self, joined: bool = True) -> dict[str, Any]:
        if self.state is None:
            raise SyncError(
                "Sync is not set up on this device: start with `vauth sync init` or "
                "`vauth sync join`."
            )
        if joined and not self.state["joined"]:
            raise SyncError(
                "This device has asked to join but is not approved yet: approve it on a device "
                "that is already in the group, then let the folder sync."
            )
        return self.state

    def files(self) -> Folder:
        folder = Path(self.need(joined=False)["folder"])
        if not folder.is_dir():  # unmounted, or moved: never write a new one in its place
            raise SyncError(
                f"The sync folder {folder} is missing: check that its disk is there and that "
                "the sync program still shares it."
            )
        return Folder(folder, self.replica.directory)

    def identity(self) -> Identity:
        return Identity.from_secrets(self.need(joined=False)["identity"])

    def fingerprint(self, doc: DeviceDoc) -> str:
        state = self.need(joined=False)
        return fingerprint(state["group"], state["founder"], doc.sign_key, doc.box_key)

    @property
    def default(self) -> str:
        """What new passkeys are unless the person chooses: "synced" or "device" (the vault
        setting sync.default; "synced" when unset)."""
        found = self.replica.run(lambda tx: tx.setting(outbox.DEFAULT_SETTING))
        return "device" if found == b"device" else "synced"

    def set_default(self, value: str) -> None:
        if value not in ("synced", "device"):
            raise SyncError('The default for new passkeys must be "synced" or "device".')
        self.replica.run(lambda tx: tx.set_setting(outbox.DEFAULT_SETTING, value.encode()))
        self.replica.changed(None)

    # -- setting up --------------------------------------------------------------------------

    def init(self, folder: Path, device_name: str) -> DeviceInfo:
        """Make this device the first of a new group that syncs through ``folder``."""
        folder = self._new_folder(folder, device_name)
        files = Folder(folder, self.replica.directory)
        if reader.version(files.group()) is not None:
            raise SyncError(
                f"The folder {folder} already holds a vauth sync group: join it with "
                "`vauth sync join` instead."
            )
        identity = Identity.new(device_name)
        me = identity.device_id
        group_id = os.urandom(16).hex()
        group = sign(
            identity.signing,
            {"type": "vauth-sync-group", "group": group_id, "founder": identity.sign_key.hex()},
        )
        state = _new_state(folder, group_id, identity.sign_key, identity, joined=True)
        key = os.urandom(envelope.KEY_BYTES)

        def work(tx: ReplicaTx) -> list[Write]:
            save_state(tx, state)
            tx.add_member(me, identity.name, identity.sign_key, identity.box_key, True)
            tx.add_epoch(epoch_row(Epoch(1, me), key, frozenset({me})))  # the group's first key
            settle(tx)
            return [
                keep(tx, files, files.group(), json_bytes(group)),
                keep(tx, files, files.device_doc(me), json_bytes(identity.document(group_id))),
            ]

        writes = self.replica.run(work)
        self.state = state
        self.replica.changed(None)  # new passkeys may sync from now on
        write_all(files, writes)
        return self.info(me)

    def request_join(self, folder: Path, device_name: str) -> JoinRequest:
        """Ask to join the group that syncs through ``folder``; a member approves after both
        devices show the same fingerprint."""
        folder = self._new_folder(folder, device_name)
        files = Folder(folder, self.replica.directory)
        try:
            group, _ = reader.read_json(folder, files.group())
        except reader.Refused:
            group = None
        founder = _founder(group)
        if founder is None or not isinstance(group, dict):
            raise SyncError(
                f"The folder {folder} holds no vauth sync group yet: set one up with "
                "`vauth sync init` on your first device, and wait for the folder to sync."
            )
        group_id = str(group["group"])
        identity = Identity.new(device_name)
        me = identity.device_id
        state = _new_state(folder, group_id, founder, identity, joined=False)

        def work(tx: ReplicaTx) -> list[Write]:
            save_state(tx, state)
            tx.add_member(me, identity.name, identity.sign_key, identity.box_key, True)
            return [
                keep(tx, files, files.join_request(me), json_bytes(identity.document(group_id)))
            ]

        writes = self.replica.run(work)
        self.state = state
        self.replica.changed(None)
        write_all(files, writes)
        return JoinRequest(me, device_name, self.fingerprint(_doc(identity, group_id)))

    def _new_folder(self, folder: Path, device_name: str) -> Path:
        if self.state is not None:
            raise SyncError(
                f"Sync is already set up on this device, with the folder {self.state['folder']}."
            )
        if not device_name.strip():
            raise SyncError(
                "The device needs a name, so that your other devices can tell it apart."
            )
        folder = Path(folder).expanduser().absolute()
        if not folder.is_dir():
            raise SyncError(f"The sync folder {folder} does not exist or is not a folder.")
        return folder

    # -- the members -------------------------------------------------------------------------

    def approve(self, device_id: str, fingerprint: str) -> DeviceInfo:
        """Let ``device_id`` join, if ``fingerprint`` is the code it shows."""
        state = self.need()
        files = self.files()
        try:
            raw, _ = reader.read_json(files.path, files.join_request(device_id))
        except reader.Refused:
            raw = None
        doc = DeviceDoc.parse(raw)
        if doc is None or doc.group_id != state["group"] or not isinstance(raw, dict):
            raise SyncError(f"No device with the ID {device_id} has asked to join this group.")
        if _digits(fingerprint) != _digits(self.fingerprint(doc)):
            raise SyncError(
                "The code you typed does not match the code of the device asking to join: "
                "do not approve it (someone else may be asking in its place)."
            )
        identity = self.identity()
        cert = certify(identity.signing, identity.device_id, doc)
        self.change(ADD, target=doc.device_id, doc=raw, cert=cert)
        return self.info(doc.device_id)

    def remove(self, device_id: str) -> None:
        """Remove a device from the group (a lost computer): the group key moves to a new
        epoch that only the remaining members receive."""
        self.need()
        self.change(REMOVE, target=device_id)

    def rekey_if_needed(self) -> bool:
        """Make a group key for the roster as it is, when none was made for exactly it (two
        membership changes made at the same moment); whether one was made."""
        state = self.state
        if state is None or not state["joined"]:
            return False

        def needed(tx: ReplicaTx) -> bool:
            members = tx.members()
            me = members.get(self.device_id)
            return me is not None and not me.removed and current(tx.epochs(), members) is None

        if not self.replica.run(needed):
            return False
        self.change(REKEY)
        self.note("made a new group key: two changes to the group were made at the same moment")
        return True

    def change(
        self,
        op: str,
        target: str | None = None,
        doc: dict[str, Any] | None = None,
        cert: Certificate | None = None,
    ) -> None:
        """Make a membership change here: apply it, queue it for this device's journal, and
        leave its key sealed to each member of the roster it leaves."""
        state = self.need()
        files = self.files()
        identity = self.identity()
        me = identity.device_id
        key = os.urandom(envelope.KEY_BYTES)

        def work(tx: ReplicaTx) -> list[Write]:
            members = tx.members()
            now = roster(members)
            cutoff = None
            if op == ADD:
                assert target is not None
                after = now | {target}
            elif op == REMOVE:
                assert target is not None
                cutoff = _removable(members, target).last_seq
                after = now - {target}
            else:
                after = now
            number = next_number(tx.epochs())
            change = Change(
                op, me, Epoch(number, me), after, target, cutoff, doc, cert,
                envelope.commitment(key),
            )  # fmt: skip
            self.apply(tx, change, key)
            tx.queue_membership(self.ms(), cbor2.dumps(change.as_map()))
            return self._envelopes(tx, files, state, identity, change, key)

        writes = self.replica.run(work)
        self.replica.changed(None)  # the group's size (BS of every synced passkey) may change
        write_all(files, writes)

    def _envelopes(
        self,
        tx: ReplicaTx,
        files: Folder,
        state: dict[str, Any],
        identity: Identity,
        change: Change,
        key: bytes,
    ) -> list[Write]:
        assert change.epoch is not None
        members = tx.members()
        certs = certificates(tx)
        writes = []
        told = change.members | (
            {change.target} if change.op == REMOVE and change.target else set()
        )
        for device_id in sorted(told - {identity.device_id}):
            payload: dict[str, Any] = {"change": change.as_map(), "key": key}
            if device_id not in change.members:  # the device removed: told so, without the key
                del payload["key"]
            elif change.op == ADD and device_id == change.target:  # it starts from here
                payload["epochs"] = [
                    [e.number, e.author, e.key, None if e.members is None else sorted(e.members)]
                    for e in tx.epochs()
                ]
                payload["roster"] = [
                    roster_entry(m, state["group"], certs.get(m.device_id))
                    for m in members.values()
                ]
            sealed = envelope.seal_keys(
                state["group"], change.epoch.name, device_id, members[device_id].box_key,
                identity.device_id, identity.signing, payload,
            )  # fmt: skip
            path = files.key_envelope(change.epoch.name, device_id)
            writes.append(keep(tx, files, path, json_bytes(sealed)))
        return writes

    def leave(self) -> bool:
        """Stop syncing on this device (its passkeys stay; synced ones are no longer backed
        up). Whether a notice for the others was queued (the facade publishes it first)."""
        state = self.need(joined=False)
        me = state["identity"]["device_id"]

        def work(tx: ReplicaTx) -> bool:
            member = tx.members().get(me)
            if not state["joined"] or member is None or member.removed:
                return False
            notice = Change(LEAVE, me, None, frozenset(), me)
            tx.queue_membership(self.ms(), cbor2.dumps(notice.as_map()))
            return True

        return self.replica.run(work)

    def forget(self) -> None:
        self.replica.run(lambda tx: tx.forget_group((STATE, outbox.EPOCH_SETTING, CERTIFICATES)))
        self.replica.changed(None)
        self.state = None

    def devices(self) -> list[DeviceInfo]:
        self.need(joined=False)
        return [self._device_info(m) for m in self.replica.run(lambda tx: tx.members()).values()]

    def info(self, device_id: str) -> DeviceInfo:
        return self._device_info(self.replica.run(lambda tx: tx.members())[device_id])

    def _device_info(self, member: MemberRow) -> DeviceInfo:
        state = self.need(joined=False)
        doc = DeviceDoc(
            member.device_id, member.name, state["group"], member.sign_key, member.box_key
        )
        return DeviceInfo(
            member.device_id,
            member.name,
            self.fingerprint(doc),
            member.this_device,
            member.removed,
            member.last_seq,
            None if member.last_seen is None else member.last_seen // 1000,
        )

    # -- taking changes ----------------------------------------------------------------------

    def apply(
        self, tx: ReplicaTx, change: Change, key: bytes | None, seq: int | None = None
    ) -> bool:
        """Apply a change ``judge`` took (with its key, when an envelope brought it; ``seq``:
        the segment that carried a leaving notice); whether anything changed."""
        members = tx.members()
        changed = False
        if change.op == ADD:
            doc = DeviceDoc.parse(change.doc)
            assert doc is not None
            this = doc.device_id == self.device_id
            added = change.epoch.number if change.epoch else 0
            changed = tx.add_member(doc.device_id, doc.name, doc.sign_key, doc.box_key, this, added)
            if valid_certificate(change.cert):
                keep_certificate(tx, doc.device_id, change.cert)
        elif change.op in (REMOVE, LEAVE):
            target = change.target or change.author
            before = members.get(target)
            number = change.epoch.number if change.epoch else change.legacy_number or 0
            cutoff = change.cutoff if change.cutoff is not None else seq or 0
            tx.mark_removed(target, number, cutoff, change.author)
            after = tx.members().get(target)
            changed = before != after
        if key is not None and change.epoch is not None:
            changed = tx.add_epoch(epoch_row(change.epoch, key, change.members)) or changed
        settle(tx)
        return changed

    def apply_journal_entry(
        self, tx: ReplicaTx, entry: Mapping[str, Any], device_id: str, seq: int
    ) -> None:
        """A membership entry in ``device_id``'s journal (its key comes only by envelope)."""
        change = Change.parse(entry, journal_author=device_id)
        if change.author != device_id:
            raise BadEntry("a membership entry names another device as its maker")
        verdict, reason = judge(change, tx.members())
        if verdict is Verdict.REFUSED:
            raise BadEntry(reason)
        if verdict is Verdict.TAKEN:
            self.apply(tx, change, None, seq)


# -- helpers ---------------------------------------------------------------------------------


def settle(tx: ReplicaTx) -> EpochRow | None:
    """Record which group key this device writes under now (none: it must make one)."""
    chosen = current(tx.epochs(), tx.members())
    if chosen is None:
        tx.drop_setting(outbox.EPOCH_SETTING)
    else:
        tx.set_setting(outbox.EPOCH_SETTING, outbox.epoch_name(chosen.number, chosen.author))
    return chosen


def keep(tx: ReplicaTx, files: Folder, path: Path, data: bytes) -> Write:
    """Record a file this device writes (so that it can restore it); write it afterwards."""
    tx.keep_written(files.relative(path), hashlib.sha256(data).digest(), data)
    return path, data


def write_all(files: Folder, writes: list[Write]) -> None:
    try:
        for path, data in writes:
            files.write(path, data, replace=True)
    except OSError as exc:
        raise SyncError(
            f"vauth could not write to the sync folder {files.path}: {exc.strerror or exc}. "
            "Nothing was lost: it writes it again at the next sync."
        ) from None


def certificates(tx: ReplicaTx) -> dict[str, Certificate]:
    found = tx.setting(CERTIFICATES)
    return {} if found is None else dict(cbor2.loads(found))


def keep_certificate(tx: ReplicaTx, device_id: str, cert: Certificate | None) -> None:
    if not valid_certificate(cert):
        return
    known = certificates(tx)
    if device_id not in known:
        known[device_id] = cert  # type: ignore[assignment]
        tx.set_setting(CERTIFICATES, cbor2.dumps(known))


def epoch_row(epoch: Epoch, key: bytes, members: frozenset[str] | None) -> EpochRow:
    wrap = envelope.credential_id_key(key) if epoch.author else None
    return EpochRow(epoch.number, epoch.author, key, members, wrap)


def _removable(members: Mapping[str, MemberRow], device_id: str) -> MemberRow:
    member = members.get(device_id)
    if member is None:
        raise SyncError(f"No device with the ID {device_id} is in this sync group.")
    if member.this_device:
        raise SyncError(
            "This is the device you are using: remove it from another of your devices, or "
            "leave the group with `vauth sync leave`."
        )
    if member.removed:
        raise SyncError(f"The device {member.name} was removed already.")
    return member


def _read_state(tx: ReplicaTx) -> dict[str, Any] | None:
    found = tx.setting(STATE)
    return None if found is None else dict(cbor2.loads(found))


def save_state(tx: ReplicaTx, state: dict[str, Any]) -> None:
    tx.set_setting(STATE, cbor2.dumps(state))


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


def json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True).encode()


def _digits(code: str) -> str:
    return re.sub(r"\D", "", code)
