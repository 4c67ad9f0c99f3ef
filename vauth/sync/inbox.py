"""What other devices leave in the folder for this one: requests to join, and the key
envelopes that bring membership changes and group keys (the one that completes this device's
own join among them), each judged once per version, by vauth/sync/membership.py's rule."""

from __future__ import annotations

import logging
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vauth.sync import envelope, reader
from vauth.sync.envelope import Malformed
from vauth.sync.group import (
    NOT_OURS,
    NOTHING_TO_DO,
    Found,
    Group,
    Write,
    epoch_row,
    json_bytes,
    keep,
    keep_certificate,
    save_state,
    write_all,
)
from vauth.sync.identity import DeviceDoc, Identity
from vauth.sync.journal import EPOCH, IGNORED, JOIN, Folder
from vauth.sync.membership import (
    ADD,
    REMOVE,
    Change,
    Epoch,
    Verdict,
    judge,
    parse_epochs,
    parse_roster,
    vouched,
)
from vauth.sync.merge import BadEntry
from vauth.sync.types import JoinRequest, Refusal
from vauth.vault.replica import EpochRow, MemberRow, ReplicaTx

logger = logging.getLogger(__name__)


class Inbox:
    def __init__(self, group: Group) -> None:
        self.group = group
        self.judged: reader.Judged[Any] = reader.Judged()  # join requests and envelopes

    def pending(self) -> list[JoinRequest]:
        """Devices asking to join (their requests judged once per version)."""
        requests, _ = self.scan_join_requests()
        return requests

    def scan_join_requests(self) -> tuple[list[JoinRequest], list[Found]]:
        """The join requests in the folder, and what there is refused."""
        state = self.group.need(joined=False)
        files = self.group.files()
        known = self.group.replica.run(lambda tx: tx.members())
        found, refused = [], []
        join = files.join()
        for name, version in sorted(files.listing(join).items()):
            path = join / name
            match = JOIN.fullmatch(name)
            if match is None or version.kind != stat.S_IFREG:
                if not _ignored(name):
                    refused.append(self._junk(path, version, "it is not a request to join"))
                continue
            if match.group(1) in known:
                continue
            verdict = self.judged.get(str(path), version)
            if verdict is None:
                verdict = _join_request(files, path, state["group"], match.group(1))
                self.judged.put(str(path), version, verdict)
            if isinstance(verdict, DeviceDoc):
                found.append(
                    JoinRequest(verdict.device_id, verdict.name, self.group.fingerprint(verdict))
                )
            else:
                refused.append(
                    Found(Refusal(str(path), verdict, int(self.group.now()), NOT_OURS), version)
                )
        return found, refused

    def _junk(self, path: Path | str, version: reader.Version, reason: str) -> Found:
        if version.kind != stat.S_IFDIR:
            reason = reader.unlike_a_file(version) or reason
        return Found(Refusal(str(path), reason, int(self.group.now()), NOT_OURS), version)

    def take_envelopes(self) -> tuple[bool, list[Found]]:
        """The membership changes other members sealed to this device, with their keys:
        (whether one was taken, what is refused)."""
        state = self.group.need()
        files = self.group.files()
        identity = self.group.identity()
        me = identity.device_id
        members, epochs = self.group.replica.run(lambda tx: (tx.members(), tx.epochs()))
        held = {(e.number, e.author) for e in epochs}
        context = _context(members, epochs)
        taken, refused = False, []
        keys = files.keys()
        for name, version in sorted(files.listing(keys).items()):
            match = EPOCH.fullmatch(name)
            if match is None or version.kind != stat.S_IFDIR:
                if not _ignored(name):
                    found = self._junk(
                        f"{keys}/{name}",
                        version,
                        "it is not a group key of this vauth (a file of an older vauth, or "
                        "someone else's), and no membership change explains it",
                    )
                    refused.append(Found(_nothing_to_do(found.refusal), version))
                continue
            epoch = Epoch(int(match.group(1)), match.group(2))
            if (epoch.number, epoch.author) in held:
                continue
            path = files.key_envelope(epoch.name, me)
            found_version = reader.version(path)
            if found_version is None:
                continue
            cached = self.judged.get(str(path), (found_version, context))
            if cached is None:
                cached = self._take(files, path, state, identity, epoch, members)
                self.judged.put(str(path), (found_version, context), cached)
                if cached is Verdict.TAKEN:  # taken now (a notice of removal brings no key)
                    taken = True
                    members, epochs = self.group.replica.run(lambda tx: (tx.members(), tx.epochs()))
                    context = _context(members, epochs)
            if isinstance(cached, str):
                refusal = Refusal(str(path), cached, int(self.group.now()), NOTHING_TO_DO)
                refused.append(Found(refusal, found_version))
        return taken, refused

    def _take(
        self,
        files: Folder,
        path: Path,
        state: dict[str, Any],
        identity: Identity,
        epoch: Epoch,
        members: Mapping[str, MemberRow],
    ) -> Verdict | str:
        """TAKEN, WAITING (for a member this device does not know yet), or why not."""
        try:
            raw, _ = reader.read_json(files.path, path, reader.ENVELOPE)
            author = _envelope_author(raw, state["group"], identity.device_id, epoch)
            member = members.get(author)
            if member is None:
                return Verdict.WAITING
            payload = envelope.open_keys(raw, member.sign_key, identity.box)
            change, key = _change_and_key(payload, epoch, identity.device_id, notice=True)
        except (reader.Refused, Malformed, BadEntry) as exc:
            return str(exc)
        verdict, reason = judge(change, members)
        if verdict is Verdict.REFUSED:
            return reason
        if verdict is Verdict.TAKEN:
            self.group.replica.run(lambda tx: self.group.apply(tx, change, key))
            self.group.replica.changed(None)
        return verdict

    def complete_join(self) -> bool:
        """On a device that asked to join: take the envelope the approver left for it, with
        every group key and the roster, if a chain of approvals leads from the group's first
        device to the approver."""
        state = self.group.need(joined=False)
        files = self.group.files()
        identity = self.group.identity()
        me = identity.device_id
        for name, version in sorted(files.listing(files.keys()).items(), reverse=True):
            match = EPOCH.fullmatch(name)
            if match is None or version.kind != stat.S_IFDIR:
                continue
            epoch = Epoch(int(match.group(1)), match.group(2))
            path = files.key_envelope(epoch.name, me)
            found = reader.version(path)
            # judged again when it, or the identity of the device that made it, changes
            versions = (found, reader.version(files.device_doc(epoch.author)))
            if found is None or self.judged.get(str(path), versions) is not None:
                continue
            try:
                taken = self._join_from(files, path, state, identity, epoch)
            except (reader.Refused, Malformed, BadEntry) as exc:
                logger.warning("sync: ignored a key envelope for this device: %s", exc)
                self.judged.put(str(path), versions, str(exc))
                continue
            if not taken:
                self.judged.put(str(path), versions, "no chain of approvals leads to its maker")
                continue
            self._finish_join(files, identity, state)
            return True
        return False

    def _finish_join(self, files: Folder, identity: Identity, state: dict[str, Any]) -> None:
        joined = {**state, "joined": True}
        me = identity.device_id
        request = files.join_request(me)

        def finish(tx: ReplicaTx) -> list[Write]:
            save_state(tx, joined)
            tx.forget_written(files.relative(request))
            doc = json_bytes(identity.document(state["group"]))
            return [keep(tx, files, files.device_doc(me), doc)]

        writes = self.group.replica.run(finish)
        self.group.state = joined
        self.group.replica.changed(None)
        write_all(files, writes)
        if reader.version(request) is not None:
            request.unlink(missing_ok=True)  # it was this device's own file

    def _join_from(
        self, files: Folder, path: Path, state: dict[str, Any], identity: Identity, epoch: Epoch
    ) -> bool:
        raw, _ = reader.read_json(files.path, path, reader.ENVELOPE)
        author = _envelope_author(raw, state["group"], identity.device_id, epoch)
        approver_raw, _ = reader.read_json(files.path, files.device_doc(author))
        approver = DeviceDoc.parse(approver_raw)
        if approver is None or approver.group_id != state["group"]:
            raise Malformed("the device said to have made it is not of this group")
        payload = envelope.open_keys(raw, approver.sign_key, identity.box)
        change, key = _change_and_key(payload, epoch, identity.device_id)
        if change.op != ADD or change.target != identity.device_id or key is None:
            raise BadEntry("it does not approve this device")
        listed = parse_roster(payload.get("roster"))
        epochs = parse_epochs(payload.get("epochs"))
        docs = {i: m.doc for i, m in listed.items()}
        certs = {i: m.cert for i, m in listed.items() if m.cert is not None}
        if (
            author not in listed
            or listed[author].doc.sign_key != approver.sign_key
            or not vouched(docs, certs, author, state["founder"])
        ):
            logger.warning(
                "sync: ignored a key envelope from %s: no chain of approvals leads from the "
                "group's first device to it",
                approver.name,
            )
            return False

        def work(tx: ReplicaTx) -> None:
            for device_id, member in listed.items():
                doc = member.doc
                tx.add_member(
                    device_id,
                    doc.name,
                    doc.sign_key,
                    doc.box_key,
                    device_id == self.group.device_id,
                    member.added,
                )
                if member.cert is not None:
                    keep_certificate(tx, device_id, member.cert)
                if member.removed is not None:
                    number, cutoff, removers = member.removed
                    for remover in sorted(removers) or [""]:
                        tx.mark_removed(device_id, number, cutoff, remover)
            for row in epochs:
                tx.add_epoch(epoch_row(Epoch(row.number, row.author), row.key, row.members))
            self.group.apply(tx, change, key)

        self.group.replica.run(work)
        return True


def _context(members: Mapping[str, MemberRow], epochs: list[EpochRow]) -> tuple[Any, ...]:
    """What a waiting or refused envelope's judgement depends on, besides its own bytes."""
    return (
        tuple(sorted((i, m.removed, m.removed_by) for i, m in members.items())),
        len(epochs),
    )


def _envelope_author(raw: object, group_id: str, me: str, epoch: Epoch) -> str:
    if not isinstance(raw, dict) or raw.get("type") != "vauth-sync-keys":
        raise Malformed("it is not a group key envelope")
    if raw.get("version") != envelope.ENVELOPE_VERSION:
        raise Malformed("it is a key envelope of an older vauth, which no change explains")
    if (
        raw.get("group") != group_id
        or raw.get("device") != me
        or raw.get("epoch") != epoch.name
        or raw.get("approver") != epoch.author
    ):
        raise Malformed("it does not say what its place in the folder says")
    return epoch.author


def _change_and_key(
    payload: Mapping[str, Any], epoch: Epoch, me: str, notice: bool = False
) -> tuple[Change, bytes | None]:
    """The change an envelope carries, and its key; with ``notice``, the notice of this
    device's own removal (which carries no key) is taken too."""
    change = Change.parse(payload.get("change"))
    key = payload.get("key")
    if notice and key is None and change.op == REMOVE and change.target == me:
        if change.epoch != epoch:
            raise BadEntry("its change made another group key than the one its place names")
        return change, None
    if not isinstance(key, bytes) or len(key) != envelope.KEY_BYTES:
        raise BadEntry("it holds no group key")
    if change.epoch != epoch:
        raise BadEntry("its change made another group key than the one its place names")
    if change.commit != envelope.commitment(key):
        raise BadEntry("its key is not the one its change commits to")
    if me not in change.members:
        raise BadEntry("its change leaves this device out")
    return change, key


def _join_request(files: Folder, path: Path, group_id: str, device_id: str) -> DeviceDoc | str:
    try:
        raw, _ = reader.read_json(files.path, path)
    except reader.Refused as exc:
        return str(exc)
    doc = DeviceDoc.parse(raw)
    if doc is None or doc.device_id != device_id:
        return "it is not a request to join signed by the device it names"
    if doc.group_id != group_id:
        return "it asks to join another sync group"
    return doc


def _nothing_to_do(refusal: Refusal) -> Refusal:
    return Refusal(refusal.path, refusal.reason, refusal.at, NOTHING_TO_DO)


def _ignored(name: str) -> bool:
    return IGNORED.fullmatch(name) is not None
