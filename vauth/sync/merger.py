"""Merging the other devices' segments into this vault, and judging everything else the folder
holds (issue 19, findings 2-4).

Each member's next segment is looked at by name (nothing is listed that is not needed), read
through vauth/sync/reader.py, checked (signature, chain, group, clock, key), and applied with
its marker in one transaction by the rule in merge.py. Whatever is refused is judged once per
version of the file (and of what its judgement depends on: the members and keys this device
holds), remembered in bounded space, logged once, and shown in `vauth sync status` with what
repairs it.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vauth.sync import envelope, reader, snapshot
from vauth.sync.envelope import GENESIS, Malformed
from vauth.sync.group import NOT_OURS, Found, Group
from vauth.sync.inbox import Inbox
from vauth.sync.journal import DEVICE_ID, IGNORED, Folder
from vauth.sync.merge import BadEntry, decide_credential, decide_setting
from vauth.sync.publisher import Publisher
from vauth.sync.types import MergeReport, Refusal, SegmentRefused
from vauth.vault import outbox
from vauth.vault.replica import EpochRow, MemberRow, RefusalRow, ReplicaTx

logger = logging.getLogger(__name__)
ACTOR = "sync:{}"  # who the audit log says made a merged change
MAX_HLC = 1 << 62  # a clock value beyond this (year 2248 and more) is refused
LOGGED_PER_MERGE = 20  # refusals logged one by one in a merge; the rest are counted


class Merger:
    def __init__(self, group: Group, inbox: Inbox, publisher: Publisher) -> None:
        self.group = group
        self.inbox = inbox
        self.publisher = publisher
        self.judged: reader.Judged[Refusal] = reader.Judged()  # refused files, by version
        self.logged: reader.Judged[bool] = reader.Judged()  # refusals logged, by version
        self.refused_total = 0  # files refused at the last merge (only some are kept)

    def merge(self) -> MergeReport:
        """Restore this device's own files, take what other members left for it, and apply
        every other device's new segments."""
        state = self.group.need(joined=False)
        self.publisher.heal()
        if not state["joined"] and not self.inbox.complete_join():
            return MergeReport(0)
        files = self.group.files()
        applied, changed = self._start_from_snapshot(files), set[bytes]()
        findings: dict[str, Found] = {}
        progress = True
        while progress:  # a membership change may make another device's segments readable
            taken, waiting = self.inbox.take_envelopes()
            findings.update((f.refusal.path, f) for f in waiting)
            members, epochs = self.group.replica.run(lambda tx: (tx.members(), tx.epochs()))
            progress = taken
            for member in members.values():
                if member.this_device:
                    continue
                count, ids, found = self._merge_device(files, member, epochs)
                applied += count
                changed.update(ids)
                progress = progress or count > 0
                if found is not None:
                    findings[found.refusal.path] = found
        members = self.group.replica.run(lambda tx: tx.members())
        for found in self._strangers(files, members):
            findings[found.refusal.path] = found
        for found in self.inbox.scan_join_requests()[1]:
            findings[found.refusal.path] = found
        self.group.rekey_if_needed()
        refused = self._record(findings)
        self._take_away(files, findings)
        if changed or applied:  # entries may have changed the group's size (BS) too
            self.group.replica.changed(None)
        return MergeReport(applied, refused, sorted(changed))

    # -- other devices' journals -------------------------------------------------------------

    def _merge_device(
        self, files: Folder, member: MemberRow, epochs: list[EpochRow]
    ) -> tuple[int, set[bytes], Found | None]:
        applied, changed = 0, set[bytes]()
        while True:
            seq = member.last_seq + 1
            path = files.segment(member.device_id, seq)
            found = reader.version(path)
            if found is None:
                return applied, changed, None  # nothing new (or the next has not arrived yet)
            context = (found, member, tuple(sorted((e.number, e.author) for e in epochs)))
            judged = self.judged.get(str(path), context)
            if judged is not None:
                return applied, changed, Found(judged, found)
            try:
                count, ids = self._apply_segment(files, path, seq, member)
            except SegmentRefused as exc:
                refusal = Refusal(exc.path, exc.reason, int(self.group.now()), exc.repair)
                self.judged.put(str(path), context, refusal)
                return applied, changed, Found(refusal, found)
            applied += count
            changed.update(ids)
            device_id = member.device_id
            member, epochs = self.group.replica.run(
                lambda tx: (tx.members()[device_id], tx.epochs())  # noqa: B023 (run at once)
            )

    def _apply_segment(
        self, files: Folder, path: Path, seq: int, member: MemberRow
    ) -> tuple[int, set[bytes]]:
        state = self.group.need(joined=False)
        device_id = member.device_id
        restores = (
            f"vauth on {member.name} restores its own copy the next time it runs: nothing to "
            f"do here (if {member.name} is lost, remove it: `vauth sync remove {device_id}`)."
        )
        if member.removed and member.cutoff_seq is not None and seq > member.cutoff_seq:
            raise SegmentRefused(
                path,
                f"it comes from the device {member.name}, which was removed from the group",
                f"Nothing to do: {member.name} was removed from the group.",
            )
        try:
            data, _ = reader.read(files.path, path, reader.SEGMENT)
        except reader.Refused as exc:  # tried again when the file changes
            raise SegmentRefused(path, str(exc), restores) from None
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
        except Malformed as exc:
            raise SegmentRefused(path, str(exc), restores) from None
        epochs = self.group.replica.run(lambda tx: tx.epochs())
        key = _key(epochs, header.epoch, header.author)
        if key is None:
            raise SegmentRefused(
                path,
                "it is encrypted with a group key this device has not been given",
                "It is read as soon as that key reaches this device (the member that made it "
                "leaves it in the folder): nothing to do here.",
            )
        try:
            entries = envelope.open_entries(data, key)
        except Malformed as exc:
            raise SegmentRefused(path, str(exc), restores) from None
        actor = ACTOR.format(member.name)
        now = self.group.ms()

        def work(tx: ReplicaTx) -> set[bytes]:
            changed = set()
            backed_up = tx.backed_up()
            for entry in entries:
                kind = entry.get("k")
                if kind in (outbox.CREATE, outbox.UPDATE):
                    changed.add(_apply_credential(tx, entry, device_id, actor, now, backed_up))
                elif kind == outbox.SETTING:
                    _apply_setting(tx, entry, device_id)
                elif kind == outbox.MEMBER:
                    self.group.apply_journal_entry(tx, entry, device_id, seq)
                    backed_up = tx.backed_up()
                else:
                    raise BadEntry("an entry is of an unknown kind")
            tx.observe(header.hlc)
            tx.mark_applied(device_id, header.seq, envelope.file_hash(data), now)
            return changed

        try:
            return len(entries), self.group.replica.run(work)
        except BadEntry as exc:
            raise SegmentRefused(path, f"{exc} (the segment was not applied)", _NEWER) from None
        except (TypeError, ValueError, KeyError, OverflowError, AttributeError):
            # signed by a member, yet not what this vauth understands: refused, never half-applied
            raise SegmentRefused(
                path, "its entries are not in a form this version of vauth understands", _NEWER
            ) from None

    def _start_from_snapshot(self, files: Folder) -> int:
        """On a device that has applied nothing yet: the most complete snapshot a member left
        (checked like a segment), applied in one transaction; how many credentials it brought."""
        state = self.group.need()
        me = self.group.device_id
        members, epochs = self.group.replica.run(lambda tx: (tx.members(), tx.epochs()))
        if any(m.last_seq for m in members.values() if not m.this_device):
            return 0
        best: tuple[int, dict[str, Any], MemberRow] | None = None
        for member in members.values():
            if member.this_device or member.removed:
                continue
            found = files.snapshots(member.device_id)
            if not found:
                continue
            path = found[max(found)]
            try:
                data, _ = reader.read(files.path, path, reader.SNAPSHOT)
                header = envelope.read_header(data, envelope.SNAPSHOT_MAGIC)
                if header.group_id != state["group"] or header.device_id != member.device_id:
                    raise Malformed("it belongs to another group or device")
                envelope.check_signature(data, member.sign_key)
                key = _key(epochs, header.epoch, header.author)
                if key is None:
                    raise Malformed("it is encrypted with a group key this device lacks")
                [view] = envelope.open_entries(data, key)
            except (reader.Refused, Malformed, ValueError) as exc:
                logger.warning("sync: ignored the snapshot %s: %s", path, exc)
                continue
            covered = snapshot.covered(view)
            if best is None or covered > best[0]:
                best = (covered, view, member)
        if best is None:
            return 0
        _, view, member = best
        actor, now = ACTOR.format(member.name), self.group.ms()
        try:
            brought = self.group.replica.run(lambda tx: snapshot.apply(tx, view, me, actor, now))
        except (BadEntry, TypeError, ValueError, KeyError) as exc:
            logger.warning("sync: ignored the snapshot of %s: %s", member.name, exc)
            return 0
        return len(brought)

    # -- everything else in the folder -------------------------------------------------------

    def _strangers(self, files: Folder, members: Mapping[str, MemberRow]) -> list[Found]:
        """What devices/ holds that is no member's: judged by version, never read."""
        found = []
        now = int(self.group.now())
        devices = str(files.devices())
        for name, version in files.listing(files.devices()).items():
            if name in members or IGNORED.fullmatch(name):
                continue
            path = f"{devices}/{name}"
            if version.kind == stat.S_IFDIR and DEVICE_ID.fullmatch(name):
                reason = "it comes from a device that no member of this sync group has approved"
                repair = (
                    "Nothing to do: if it is one of your computers, it is read once a member "
                    "approves it (`vauth sync status` there shows its request)."
                )
            else:
                unlike = None if version.kind == stat.S_IFDIR else reader.unlike_a_file(version)
                reason, repair = unlike or "it is not a file vauth writes there", NOT_OURS
            found.append(Found(Refusal(path, reason, now, repair), version))
        return found

    def _take_away(self, files: Folder, findings: dict[str, Found]) -> None:
        """Links, pipes, sockets and devices found in the folder go (vauth writes none)."""
        for path, found in findings.items():
            version = found.version
            if isinstance(version, reader.Version) and files.take_away(Path(path), version):
                note = f"took away {files.relative(Path(path))}: {found.refusal.reason}"
                self.group.note(note)
                logger.info("sync: %s", note)

    def _record(self, findings: dict[str, Found]) -> list[Refusal]:
        """Keep what is refused now (some of it: MAX_REFUSALS), drop what no longer is, log
        each refusal once per version of its file; what `vauth sync status` shows."""
        fresh = []
        for path, found in findings.items():
            if self.logged.get(path, (found.version, found.refusal.reason)) is None:
                self.logged.put(path, (found.version, found.refusal.reason), True)
                fresh.append(found.refusal)
        for refusal in fresh[:LOGGED_PER_MERGE]:
            logger.warning("sync: refused %s: %s", refusal.path, refusal.reason)
        if len(fresh) > LOGGED_PER_MERGE:
            logger.warning(
                "sync: refused %d more files in the sync folder (`vauth sync status` lists them)",
                len(fresh) - LOGGED_PER_MERGE,
            )
        self.refused_total = len(findings)

        def work(tx: ReplicaTx) -> list[Refusal]:
            kept = tx.refusals()
            tx.clear_refusals(r.path for r in kept if r.path not in findings)
            known = {(r.path, r.reason) for r in kept}
            tx.refuse(
                [
                    RefusalRow(r.path, r.reason, r.repair, r.at)
                    for r in fresh
                    if (r.path, r.reason) not in known
                ]
            )
            return [Refusal(r.path, r.reason, r.at, r.repair or "") for r in tx.refusals()]

        return self.group.replica.run(work)


_NEWER = (
    "A newer vauth may have written it: update vauth on this computer. Otherwise nothing is "
    "lost: the segment stays refused, whole."
)


def _key(epochs: list[EpochRow], number: int, author: str) -> bytes | None:
    return next((e.key for e in epochs if e.number == number and e.author == author), None)


def _apply_credential(
    tx: ReplicaTx,
    entry: Mapping[str, Any],
    device_id: str,
    actor: str,
    now: int,
    backed_up: bool,
) -> bytes:
    credential_id = entry.get("id")
    if not isinstance(credential_id, bytes):
        raise BadEntry("an entry has no credential ID or clock value")
    existing = tx.credential_state(credential_id)
    decision = decide_credential(entry, device_id, existing, tx.clocks(credential_id))
    if decision.clocks is not None:
        tx.set_clocks(decision.credential_id, decision.clocks)
    deleted_by = None if decision.registers.get(outbox.DELETED) is None else actor
    if decision.insert is not None:
        tx.insert_credential(decision.insert, decision.registers, deleted_by, backed_up)
    elif decision.update:
        values = {name: decision.registers.get(name) for name in decision.update}
        tx.update_registers(decision.credential_id, values, deleted_by)
    if decision.audit is not None:
        change, detail = decision.audit
        tx.audit(now, change, decision.rp_id, decision.credential_id, actor, detail)
    return decision.credential_id


def _apply_setting(tx: ReplicaTx, entry: Mapping[str, Any], device_id: str) -> None:
    clocks = tx.clocks(outbox.SETTINGS_ID)
    won = decide_setting(entry, device_id, clocks)
    if won:
        tx.set_clocks(outbox.SETTINGS_ID, clocks)
        for name, value in won.items():
            tx.set_setting(name, value)
