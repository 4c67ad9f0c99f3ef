"""The vault as a replica of the sync group (issue 19): everything vauth/sync/ reads from and
writes to this vault, as typed calls inside one transaction on the vault's thread.

sync/ holds no SQL and no connection: :meth:`Replica.run` hands its work a :class:`ReplicaTx`,
and what a merge applies (a segment and its "applied up to" marker) or a publish reads (the
outbox and the credentials it names) is one transaction, all of it or none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import cbor2
import sqlcipher3

from vauth.ctap.credential import SignCountPolicy
from vauth.vault import outbox

if TYPE_CHECKING:
    from vauth.vault.database import Database
    from vauth.vault.vault import Vault

T = TypeVar("T")
MAX_REFUSALS = 100  # refused files remembered for `vauth sync status`; older ones make room

_MEMBER_COLUMNS = (
    "device_id, name, sign_key, box_key, this_device, removed_epoch, cutoff_seq, last_seq, "
    "last_hash, last_seen, removed_by, added"
)
_INSERT_CREDENTIAL = (
    f"INSERT OR IGNORE INTO credentials ({', '.join((*outbox.FIXED_FIELDS, *outbox.REGISTERS))}, "  # noqa: S608
    "deleted_by, sign_count_policy, backup_state, sign_count, backup_eligible, synced) "
    f"VALUES ({', '.join('?' for _ in (*outbox.FIXED_FIELDS, *outbox.REGISTERS))}, "
    "?, ?, ?, 0, 1, 1)"
)
_SYNCED_CREDENTIAL = (
    f"SELECT {', '.join(outbox.SYNCED_FIELDS)}, deleted_at FROM credentials "  # noqa: S608
    "WHERE credential_id = ? AND synced"
)
_SYNCED_FIXED = (
    f"SELECT {', '.join(outbox.FIXED_FIELDS)} FROM credentials WHERE synced "  # noqa: S608
    "ORDER BY credential_id"
)
_AUDIT = (
    "INSERT INTO audit (at, ceremony, rp_id, credential_id, outcome, actor, detail) "
    "VALUES (?, ?, ?, ?, 'ok', ?, ?)"
)
_BOOLEANS = ("discoverable", "sealed")


@dataclass(frozen=True)
class MemberRow:
    """A device of the group as this vault knows it, and how far its journal was applied."""

    device_id: str
    name: str
    sign_key: bytes
    box_key: bytes
    this_device: bool
    removed_epoch: int | None
    cutoff_seq: int | None
    last_seq: int
    last_hash: bytes | None
    last_seen: int | None
    removed_by: frozenset[str]
    added: int = 0  # the number of the epoch that added it (it holds every key before it)

    @property
    def removed(self) -> bool:
        return self.removed_epoch is not None


@dataclass(frozen=True)
class EpochRow:
    """A group key: its number, the device that made it, and the roster it was made for
    (None: kept from a vault older than that rule, never used to write)."""

    number: int
    author: str
    key: bytes
    members: frozenset[str] | None
    wrap_key: bytes | None = None  # what seals the IDs of synced non-discoverable passkeys


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    kind: str
    credential_id: bytes | None
    hlc: int
    data: bytes | None
    fields: dict[str, Any] | None  # a creation: the credential's synced fields (None: gone)


@dataclass(frozen=True)
class RefusalRow:
    path: str
    reason: str
    repair: str | None
    at: int


class ReplicaTx:
    """One transaction on the vault, in the terms sync uses."""

    def __init__(self, connection: sqlcipher3.Connection) -> None:
        self._c = connection

    # -- settings --------------------------------------------------------------------------

    def setting(self, name: str) -> bytes | None:
        row = self._c.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_setting(self, name: str, value: bytes) -> None:
        self._c.execute(
            "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value)
        )

    def drop_setting(self, name: str) -> None:
        self._c.execute("DELETE FROM settings WHERE name = ?", (name,))

    # -- members ---------------------------------------------------------------------------

    def members(self) -> dict[str, MemberRow]:
        found = self._c.execute(f"SELECT {_MEMBER_COLUMNS} FROM sync_devices ORDER BY device_id")  # noqa: S608
        return {row[0]: _member(row) for row in found.fetchall()}

    def add_member(
        self,
        device_id: str,
        name: str,
        sign_key: bytes,
        box_key: bytes,
        this_device: bool,
        added: int = 0,
    ) -> bool:
        """A new member (nothing if it is known already; the later of two numbers for the
        epoch that added it is kept); whether it was new."""
        new = self._c.execute(
            "INSERT OR IGNORE INTO sync_devices "
            "(device_id, name, sign_key, box_key, this_device, added) VALUES (?, ?, ?, ?, ?, ?)",
            (device_id, name, sign_key, box_key, this_device, added),
        ).rowcount
        if not new:
            self._c.execute(
                "UPDATE sync_devices SET added = ? WHERE device_id = ? AND added < ?",
                (added, device_id, added),
            )
        if new:
            self.refresh_backup_state()
        return bool(added)

    def mark_removed(self, device_id: str, number: int, cutoff: int, by: str) -> None:
        """Final: the earliest cutoff wins, and every device that removed it is remembered."""
        row = self._c.execute(
            "SELECT removed_epoch, cutoff_seq, removed_by FROM sync_devices WHERE device_id = ?",
            (device_id,),
        ).fetchone()
        if row is None:
            return
        removers = _removers(row[2]) | {by}
        self._c.execute(
            "UPDATE sync_devices SET removed_epoch = ?, cutoff_seq = ?, removed_by = ? "
            "WHERE device_id = ?",
            (
                number if row[0] is None else min(row[0], number),
                cutoff if row[1] is None else min(row[1], cutoff),
                ",".join(sorted(removers)),
                device_id,
            ),
        )
        self.refresh_backup_state()

    def mark_applied(self, device_id: str, seq: int, digest: bytes, seen: int) -> None:
        """Another device's segment ``seq`` was applied (or this device's was published)."""
        self._c.execute(
            "UPDATE sync_devices SET last_seq = ?, last_hash = ?, last_seen = ? "
            "WHERE device_id = ?",
            (seq, digest, seen, device_id),
        )

    def raise_marker(self, device_id: str, seq: int, digest: bytes) -> None:
        """A snapshot covers ``device_id``'s segments up to ``seq`` (never moves back)."""
        self._c.execute(
            "UPDATE sync_devices SET last_seq = ?, last_hash = ? WHERE device_id = ? "
            "AND last_seq < ?",
            (seq, digest, device_id, seq),
        )

    # -- group keys ------------------------------------------------------------------------

    def epochs(self) -> list[EpochRow]:
        rows = self._c.execute(
            "SELECT number, author, key, members, wrap_key FROM sync_epochs"
        ).fetchall()
        return [
            EpochRow(
                int(n),
                str(a),
                bytes(k),
                None if m is None else frozenset(cbor2.loads(bytes(m))),
                None if w is None else bytes(w),
            )
            for n, a, k, m, w in rows
        ]

    def add_epoch(self, epoch: EpochRow) -> bool:
        """Keep a group key (an epoch already kept stays as it is); whether it was new."""
        members = None if epoch.members is None else cbor2.dumps(sorted(epoch.members))
        return bool(
            self._c.execute(
                "INSERT OR IGNORE INTO sync_epochs (number, author, key, members, wrap_key) "
                "VALUES (?, ?, ?, ?, ?)",
                (epoch.number, epoch.author, epoch.key, members, epoch.wrap_key),
            ).rowcount
        )

    # -- what a publish reads --------------------------------------------------------------

    def unpublished(self, limit: int) -> list[OutboxRow]:
        """The first ``limit`` queued changes, in order; a creation with its credential."""
        rows = self._c.execute(
            "SELECT seq, kind, credential_id, hlc, data FROM sync_outbox ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        found = []
        for seq, kind, credential_id, hlc, data in rows:
            fields = None
            if kind == outbox.CREATE:
                fields = self._synced_fields(credential_id)
            found.append(
                OutboxRow(
                    int(seq),
                    str(kind),
                    None if credential_id is None else bytes(credential_id),
                    int(hlc),
                    None if data is None else bytes(data),
                    fields,
                )
            )
        return found

    def _synced_fields(self, credential_id: bytes) -> dict[str, Any] | None:
        row = self._c.execute(_SYNCED_CREDENTIAL, (credential_id,)).fetchone()
        if row is None:
            return None
        fields = dict(zip((*outbox.SYNCED_FIELDS, outbox.DELETED), row, strict=True))
        for name in _BOOLEANS:
            fields[name] = bool(fields[name])
        return fields

    def unpublished_count(self) -> int:
        return int(self._c.execute("SELECT count(*) FROM sync_outbox").fetchone()[0])

    def drop_published(self, up_to: int) -> None:
        self._c.execute("DELETE FROM sync_outbox WHERE seq <= ?", (up_to,))

    def queue_membership(self, now_ms: int, data: bytes) -> int:
        """A membership change made here, for this device's journal; its clock value."""
        return outbox.queue(self._c, outbox.MEMBER, now_ms, data=data)

    # -- files this device wrote to the folder ---------------------------------------------

    def keep_written(self, path: str, digest: bytes, data: bytes) -> None:
        self._c.execute(
            "INSERT OR REPLACE INTO sync_written (path, digest, data) VALUES (?, ?, ?)",
            (path, digest, data),
        )

    def forget_written(self, path: str) -> None:
        self._c.execute("DELETE FROM sync_written WHERE path = ?", (path,))

    def written(self) -> dict[str, tuple[bytes, bytes | None]]:
        """Every file this device wrote and keeps, by path: its SHA-256, and the version (an
        opaque token) at which it was last found intact in the folder."""
        rows = self._c.execute("SELECT path, digest, seen FROM sync_written").fetchall()
        return {
            str(path): (bytes(digest), None if seen is None else bytes(seen))
            for path, digest, seen in rows
        }

    def written_data(self, path: str) -> bytes | None:
        row = self._c.execute("SELECT data FROM sync_written WHERE path = ?", (path,)).fetchone()
        return None if row is None else bytes(row[0])

    def found_intact(self, path: str, seen: bytes) -> None:
        self._c.execute("UPDATE sync_written SET seen = ? WHERE path = ?", (seen, path))

    # -- refusals --------------------------------------------------------------------------

    def refusals(self) -> list[RefusalRow]:
        rows = self._c.execute(
            "SELECT path, reason, repair, at FROM sync_refused ORDER BY at, path"
        ).fetchall()
        return [
            RefusalRow(str(p), str(r), None if f is None else str(f), int(a)) for p, r, f, a in rows
        ]

    def refuse(self, refusals: Sequence[RefusalRow]) -> None:
        """Remember refusals (the most recent MAX_REFUSALS of all are kept)."""
        self._c.executemany(
            "INSERT OR REPLACE INTO sync_refused (path, reason, repair, at) VALUES (?, ?, ?, ?)",
            [(r.path, r.reason, r.repair, r.at) for r in refusals[-MAX_REFUSALS:]],
        )
        self._c.execute(
            "DELETE FROM sync_refused WHERE path NOT IN "
            "(SELECT path FROM sync_refused ORDER BY at DESC, path LIMIT ?)",
            (MAX_REFUSALS,),
        )

    def clear_refusals(self, paths: Iterable[str]) -> None:
        self._c.executemany("DELETE FROM sync_refused WHERE path = ?", [(p,) for p in paths])

    # -- what a merge applies --------------------------------------------------------------

    def credential_state(self, credential_id: bytes) -> tuple[str, bool] | None:
        """(rp_id, synced) of a credential this vault holds, in the trash or not."""
        row = self._c.execute(
            "SELECT rp_id, synced FROM credentials WHERE credential_id = ?", (credential_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), bool(row[1]))

    def clocks(self, key: bytes) -> dict[str, outbox.Clock]:
        return outbox.read_clocks(self._c, key)

    def set_clocks(self, key: bytes, clocks: Mapping[str, outbox.Clock]) -> None:
        outbox.write_clocks(self._c, key, clocks)

    def observe(self, hlc: int) -> None:
        outbox.observe(self._c, hlc)

    def insert_credential(
        self,
        fixed: Mapping[str, Any],
        registers: Mapping[str, Any],
        deleted_by: str | None,
        backed_up: bool,
    ) -> bool:
        """A synced credential another device made (nothing if its ID is held); whether new."""
        values = [fixed.get(name) for name in outbox.FIXED_FIELDS]
        values[outbox.FIXED_FIELDS.index("sealed")] = bool(fixed.get("sealed", False))
        return bool(
            self._c.execute(
                _INSERT_CREDENTIAL,
                (
                    *values,
                    *(registers.get(name) for name in outbox.REGISTERS),
                    deleted_by,
                    SignCountPolicy.ZERO.value,
                    backed_up,
                ),
            ).rowcount
        )

    def update_registers(
        self, credential_id: bytes, values: Mapping[str, Any], deleted_by: str | None
    ) -> None:
        """Write changed registers (deleted_by follows deleted_at when that one changes)."""
        names = [name for name in values if name in outbox.REGISTERS]
        assignments = [f"{name} = ?" for name in names]
        params = [values[name] for name in names]
        if outbox.DELETED in values:
            assignments.append("deleted_by = ?")
            params.append(deleted_by)
        if assignments:
            self._c.execute(
                f"UPDATE credentials SET {', '.join(assignments)} WHERE credential_id = ?",  # noqa: S608
                (*params, credential_id),
            )

    def audit(
        self, at: int, change: str, rp_id: str, credential_id: bytes, actor: str, detail: str
    ) -> None:
        self._c.execute(_AUDIT, (at, change, rp_id, credential_id, actor, detail))

    def backed_up(self) -> bool:
        """Whether synced credentials are held elsewhere too: a second member exists."""
        row = self._c.execute(
            "SELECT count(*) FROM sync_devices WHERE removed_epoch IS NULL"
        ).fetchone()
        return int(row[0]) >= 2

    def refresh_backup_state(self) -> None:
        """BS follows the group's size: 1 while another device holds the synced credentials."""
        self._c.execute("UPDATE credentials SET backup_state = ? WHERE synced", (self.backed_up(),))

    def synced_credentials(self) -> list[dict[str, Any]]:
        """The fixed fields of every synced credential (for a snapshot)."""
        found = []
        for row in self._c.execute(_SYNCED_FIXED).fetchall():
            fields = dict(zip(outbox.FIXED_FIELDS, row, strict=True))
            for name in _BOOLEANS:
                fields[name] = bool(fields[name])
            found.append(fields)
        return found

    # -- leaving ---------------------------------------------------------------------------

    def forget_group(self, state_settings: Sequence[str]) -> None:
        """Everything of the group; the passkeys stay (synced ones are no longer backed up)."""
        for table in (
            "sync_outbox",
            "sync_devices",
            "sync_epochs",
            "sync_clock",
            "sync_refused",
            "sync_written",
        ):
            self._c.execute(f"DELETE FROM {table}")  # noqa: S608
        for name in state_settings:
            self.drop_setting(name)
        self.refresh_backup_state()


class Replica:
    """This vault, as sync reads and writes it."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    @property
    def directory(self) -> Path:
        """The vault's own directory (files for the folder are written there first)."""
        return self._vault.path.parent

    def run(self, work: Callable[[ReplicaTx], T]) -> T:
        """``work`` in one transaction on the vault's thread: all of it or none."""

        def run(db: Database) -> T:
            with db.transaction() as connection:
                return work(ReplicaTx(connection))

        return self._vault.with_database_sync(run)

    def changed(self, credential_ids: Sequence[bytes] | None = None) -> None:
        """Sync changed these credentials (None: the group, so every synced one)."""
        self._vault.store.changed_elsewhere(credential_ids)


def _member(row: Sequence[Any]) -> MemberRow:
    return MemberRow(
        str(row[0]),
        str(row[1]),
        bytes(row[2]),
        bytes(row[3]),
        bool(row[4]),
        row[5],
        row[6],
        int(row[7]),
        None if row[8] is None else bytes(row[8]),
        row[9],
        _removers(row[10]),
        int(row[11] or 0),
    )


def _removers(value: object) -> frozenset[str]:
    return frozenset(str(value).split(",")) if value else frozenset()
