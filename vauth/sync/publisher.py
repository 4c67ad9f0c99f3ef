"""Publishing this device's changes as journal segments and snapshots, and healing what it
wrote (issue 19, finding 5; house style rule 20).

A replication engine carries damage as faithfully as data: a byte flipped in one computer's
copy of a segment reaches every copy, the writer's own included, and the others then wait for
that segment for ever. So a device keeps every file it writes to the folder in its vault
(recorded before the file is written) and, at every merge, finds each one as it wrote it or
writes it again. A file someone else put at the place of this device's next segment is taken
away, never followed: it can delay publishing by one merge at most, never stop it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import cbor2

from vauth.sync import envelope, reader, snapshot
from vauth.sync.envelope import GENESIS, Header, Malformed
from vauth.sync.group import Group, keep, settle, write_all
from vauth.sync.journal import SNAPSHOT, Folder
from vauth.sync.types import SyncError
from vauth.vault import outbox
from vauth.vault.replica import OutboxRow, ReplicaTx

logger = logging.getLogger(__name__)
# Entries per segment, at most: what a merge holds in memory at once (issue 13: under 100 MiB);
# and at most SEGMENT_PLAIN bytes of them, so a segment stays well under the size readers take.
SEGMENT_ENTRIES = 1000
_CAPS = {".vseg": reader.SEGMENT, ".vsnap": reader.SNAPSHOT, ".vkey": reader.ENVELOPE}


class Publisher:
    def __init__(self, group: Group) -> None:
        self.group = group

    # -- publishing --------------------------------------------------------------------------

    def publish(self) -> int:
        """Write this device's unpublished changes as new complete segments (one, unless
        there are more than a segment holds); how many entries."""
        self.group.need()
        self.group.rekey_if_needed()
        written = 0
        while True:
            count, more = self._publish_one()
            written += count
            if not more:
                return written

    def _publish_one(self) -> tuple[int, bool]:
        state = self.group.need()
        files = self.group.files()
        identity = self.group.identity()
        me = identity.device_id
        self._claim_next(files)

        def read(tx: ReplicaTx) -> tuple[list[OutboxRow], Any, Any]:
            rows = tx.unpublished(SEGMENT_ENTRIES + 1)
            return rows, tx.members()[me], settle(tx)

        rows, member, epoch = self.group.replica.run(read)
        if member.removed:
            raise SyncError(
                "This device was removed from the sync group; its changes are no longer shared."
            )
        if not rows:
            return 0, False
        if epoch is None:
            raise SyncError(
                "This device holds no group key for the group as it stands; it makes one at "
                "the next sync."
            )
        entries, last_row, more = _batch(rows)
        header = Header(
            state["group"], me, member.last_seq + 1, epoch.number, member.last_hash or GENESIS,
            max((e["hlc"] for e in entries), default=0), last_row, epoch.author,
        )  # fmt: skip
        data = envelope.seal_segment(header, entries, epoch.key, identity.signing)
        path = files.segment(me, header.seq)
        digest, now = envelope.file_hash(data), self.group.ms()

        def record(tx: ReplicaTx) -> None:
            keep(tx, files, path, data)
            tx.mark_applied(me, header.seq, digest, now)
            tx.drop_published(last_row)

        self.group.replica.run(record)  # recorded first: if the write fails, heal() writes it
        write_all(files, [(path, data)])
        return len(entries), more

    def _claim_next(self, files: Folder) -> None:
        """Whatever is at the place of this device's next segment: its own segment, written
        but not recorded (the process stopped in between), is counted as published; anything
        else (a planted or damaged file, a link, a pipe) is taken away."""
        identity = self.group.identity()
        me = identity.device_id
        while True:
            member = self.group.replica.run(lambda tx: tx.members()[me])
            path = files.segment(me, member.last_seq + 1)
            if reader.version(path) is None:
                return
            try:
                data, _ = reader.read(files.path, path, reader.SEGMENT)
                envelope.check_signature(data, identity.sign_key)
                header = envelope.read_header(data)
            except (reader.Refused, Malformed) as exc:
                self._clear(files, path, f"it is not this device's ({exc})")
                return
            if header.seq != member.last_seq + 1 or header.device_id != me:
                self._clear(files, path, "it is another of this device's segments, replayed")
                return
            if header.prev != (member.last_hash or GENESIS):
                raise SyncError(
                    f"The sync folder holds a segment of this device that its vault does not "
                    f"know ({path}): this vault was restored from a backup, or runs on another "
                    "computer too. Leave the group here (`vauth sync leave`) and join it again."
                )
            self.group.replica.run(functools.partial(_adopt, files, path, data, header, me))

    def _clear(self, files: Folder, path: Any, why: str) -> None:
        found = reader.version(path)
        if found is not None and found.kind == stat.S_IFDIR:
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        note = f"took away {files.relative(path)}, at the place of its next segment: {why}"
        self.group.note(note)
        logger.warning("sync: %s", note)

    # -- snapshots ---------------------------------------------------------------------------

    def snapshot(self) -> Any:
        """Write this device's view of the group as its latest snapshot (after publishing
        what it has not); older snapshots of this device go."""
        state = self.group.need()
        self.publish()
        files = self.group.files()
        identity = self.group.identity()
        me = identity.device_id

        def take(tx: ReplicaTx) -> tuple[dict[str, Any], Any, Any]:
            return snapshot.take(tx), tx.members()[me], settle(tx)

        view, member, epoch = self.group.replica.run(take)
        if epoch is None:
            raise SyncError("This device holds no group key for the group as it stands.")
        header = Header(
            state["group"], me, member.last_seq, epoch.number, member.last_hash or GENESIS,
            0, 0, epoch.author,
        )  # fmt: skip
        data = envelope.seal_segment(
            header, [view], epoch.key, identity.signing, envelope.SNAPSHOT_MAGIC
        )
        path = files.snapshot(me, member.last_seq)
        older = files.snapshots(me)

        def record(tx: ReplicaTx) -> None:
            keep(tx, files, path, data)
            for relative in tx.written():
                name = relative.rsplit("/", 1)[-1]
                if SNAPSHOT.fullmatch(name) and relative != files.relative(path):
                    tx.forget_written(relative)

        self.group.replica.run(record)
        write_all(files, [(path, data)])
        for seq, old in older.items():
            if seq < member.last_seq:
                old.unlink(missing_ok=True)
        return path

    # -- healing -----------------------------------------------------------------------------

    def heal(self) -> int:
        """Find every file this device wrote as it wrote it, or write it again; how many were
        restored. A file is read only when its version changed since it was last found whole."""
        files = self.group.files()
        written = self.group.replica.run(lambda tx: tx.written())
        restored, intact = 0, {}
        try:
            for relative, (digest, seen) in written.items():
                path = files.absolute(relative)
                found = reader.version(path)
                if found is not None and _token(found) == seen:
                    continue
                if found is not None and self._intact(files, path, relative, digest):
                    intact[relative] = _token(found)
                    continue
                data = self.group.replica.run(functools.partial(_written_data, relative))
                if data is None:
                    continue
                write_all(files, [(path, data)])
                after = reader.version(path)
                if after is not None:
                    intact[relative] = _token(after)
                what = "missing" if found is None else "not what this device wrote"
                note = f"restored {relative}, which was {what}"
                self.group.note(note)
                logger.warning("sync: %s", note)
                restored += 1
        finally:  # one transaction for all it found whole (a journal may hold thousands)
            if intact:
                self.group.replica.run(functools.partial(_found_intact, intact))
        return restored

    def _intact(self, files: Folder, path: Any, relative: str, digest: bytes) -> bool:
        cap = next((c for s, c in _CAPS.items() if relative.endswith(s)), reader.DOCUMENT)
        try:
            data, _ = reader.read(files.path, path, cap)
        except reader.Refused:
            return False
        return hashlib.sha256(data).digest() == digest


def _adopt(files: Folder, path: Path, data: bytes, header: Header, me: str, tx: ReplicaTx) -> None:
    keep(tx, files, path, data)
    tx.mark_applied(me, header.seq, envelope.file_hash(data), int(time.time() * 1000))
    tx.drop_published(header.outbox)


def _found_intact(intact: dict[str, bytes], tx: ReplicaTx) -> None:
    for relative, token in intact.items():
        tx.found_intact(relative, token)


def _written_data(relative: str, tx: ReplicaTx) -> bytes | None:
    return tx.written_data(relative)


def _token(found: reader.Version) -> bytes:
    return cbor2.dumps([found.kind, found.size, found.mtime_ns, found.inode])


def _batch(rows: list[OutboxRow]) -> tuple[list[dict[str, Any]], int, bool]:
    """The entries of the next segment: at most SEGMENT_ENTRIES, and SEGMENT_PLAIN bytes
    (a single larger entry goes alone); the last outbox row it covers; whether more wait."""
    entries: list[dict[str, Any]] = []
    size, last_row, used = 0, rows[0].seq, 0
    for row in rows[:SEGMENT_ENTRIES]:
        entry = _entry(row)
        weight = len(cbor2.dumps(entry)) if entry is not None else 0
        if entries and size + weight > reader.SEGMENT_PLAIN:
            break
        if entry is not None:
            entries.append(entry)
        size += weight
        last_row, used = row.seq, used + 1
    return entries, last_row, used < len(rows)


def _entry(row: OutboxRow) -> dict[str, Any] | None:
    """One outbox row as a journal entry (None: its credential is gone for good)."""
    if row.kind == outbox.CREATE:
        if row.fields is None:
            return None
        return {"k": row.kind, "id": row.credential_id, "hlc": row.hlc, "f": row.fields}
    payload = cbor2.loads(row.data) if row.data is not None else {}
    if row.kind == outbox.MEMBER:
        return {"k": row.kind, "hlc": row.hlc, **payload}
    return {"k": row.kind, "id": row.credential_id, "hlc": row.hlc, "f": payload}
