"""VaultStore: the core's CredentialStore port over the SQLCipher vault.

Every database call runs on the vault's single worker thread, so the event loop never blocks
on SQLCipher and concurrent ceremonies are serialised: no lost or duplicated counter values.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import sqlcipher3

from vauth.ctap.credential import Credential
from vauth.ctap.ports import AuditRecord, GroupKeys, SyncOffer
from vauth.ctap.status import CtapError, CtapStatus
from vauth.vault import outbox, rows

if TYPE_CHECKING:
    from vauth.vault.database import Database
    from vauth.vault.vault import Vault

T = TypeVar("T")
logger = logging.getLogger(__name__)
GLOBAL_COUNTER = "global_sign_count"
AUDIT_SELECT = "SELECT at, ceremony, rp_id, credential_id, outcome, actor, detail FROM audit"
TRASH_DAYS = 30  # a deleted credential can be restored this long, unless the trash is emptied
TRASH_MS = TRASH_DAYS * 24 * 3600 * 1000

# Who is changing the vault, as the audit log says it to a person. The edges that take requests
# (the daemon's socket and HTTP API, its ceremonies) set it; what nobody named is a program
# that talks to vauth as a security key (CTAP over the socket, HTTP or USB).
ACTOR: contextvars.ContextVar[str] = contextvars.ContextVar(
    "actor", default="a program using vauth as a security key"
)
EXPIRED = f"vauth, after {TRASH_DAYS} days in the trash"


@contextlib.contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Changes made inside this block are recorded as made by ``actor``."""
    token = ACTOR.set(actor)
    try:
        yield
    finally:
        ACTOR.reset(token)


@dataclass(frozen=True, slots=True)
class Trashed:
    """A credential in the trash: when it was deleted, by whom, and when it goes for good."""

    credential: Credential
    deleted_at: int
    deleted_by: str | None

    @property
    def purge_at(self) -> int:
        return self.deleted_at + TRASH_MS


COUNTER_RESERVATION = 128  # signature counter values reserved on disk per write, at first
# A credential whose block lasted less than BUSY_BLOCK_S gets one twice as big next time (up to
# COUNTER_RESERVATION_MAX); one that lasted more than IDLE_BLOCK_S, one half as big. A daemon
# signing thousands of times a second then writes a block every second or so, and the block
# made ahead has time to reach the disk before the one in use runs out (a block is worth
# COUNTER_RESERVATION / 2 uses of slack at first: 13 ms at 5000 ceremonies a second, less
# than a durable commit may take). A crash skips at most the rest of one block.
COUNTER_RESERVATION_MAX = 8192
BUSY_BLOCK_S = 1.0
IDLE_BLOCK_S = 10.0
FLUSH_DELAY_S = 0.05  # bookkeeping waits this long to be written with what follows it
CACHE_SIZE = 4096  # credentials kept decoded in memory, most recently used first

# Bookkeeping statements (written lazily, in order, by the vault's thread).
TOUCH = "UPDATE credentials SET last_used = ? WHERE credential_id = ?"
RECORD = (
    "INSERT INTO audit (at, ceremony, rp_id, credential_id, outcome, actor, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
READ_SETTING = "SELECT value FROM settings WHERE name = ?"
WRITE_SETTING = "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)"


class VaultStore:
    """Reads and durable writes run on the vault's thread and are awaited. Two things are
    cheaper than that: signature counters are reserved on disk in blocks (a crash skips the
    rest of a block, never reuses a value), and bookkeeping (last use, the audit log) is queued
    and written by the vault's thread without the ceremony waiting for it."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._bookkeeping: deque[tuple[str, tuple[Any, ...]]] = deque()
        self._flush_scheduled = False
        self._reserving: dict[bytes | None, asyncio.Future[None]] = {}
        # credential ID (None: the authenticator-wide counter) -> [last value used, reserved]
        self._counters: dict[bytes | None, list[int]] = {}
        # credential ID -> (size of the block reserved last, when: time.monotonic())
        self._blocks: dict[bytes | None, tuple[int, float]] = {}
        self._ahead: set[asyncio.Task[None]] = set()  # reservations made ahead, running
        # Recently used credentials, so a ceremony need not wait for the database; bounded,
        # and dropped when the vault locks (it holds private keys).
        self._cache: OrderedDict[bytes, Credential] = OrderedDict()
        self._generation = 0  # moves on whenever the cache is dropped from (see _drop)
        self._offer: tuple[SyncOffer | None] | None = None  # the sync choice, once read
        self._group_keys: tuple[GroupKeys | None] | None = None  # likewise
        self.now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000  # tests move it
        self.monotonic: Callable[[], float] = time.monotonic  # for block sizes; tests move it

    async def _run(self, work: Callable[[Database], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._vault.executor, self._vault.with_database, lambda db: self._then(db, work)
            )
        except sqlcipher3.OperationalError as exc:
            # The transaction rolled back: nothing is half-written. Say what the matter is.
            text = str(exc)
            if "full" in text:
                logger.error("the disk holding the vault %s is full", self._vault.path)
                raise CtapError(CtapStatus.KEY_STORE_FULL, "the vault's disk is full") from None
            if "readonly" in text or "read-only" in text:
                logger.error("the vault %s is read-only", self._vault.path)
                raise CtapError(CtapStatus.OTHER, "the vault is read-only") from None
            raise

    def _then(self, db: Database, work: Callable[[Database], T]) -> T:
        self.flush(db)
        return work(db)

    def flush(self, db: Database) -> None:
        """Write the queued bookkeeping (on the vault's thread)."""
        self._flush_scheduled = False
        if not self._bookkeeping:
            return
        # Taken whole, then written as a few batches in one transaction: a busy daemon queues
        # thousands of statements a second, most of them touching the same few credentials.
        # Only the last use of each credential matters (nothing reads last_used in between);
        # the other statements (the audit log) keep their order.
        last_used: dict[bytes, tuple[Any, ...]] = {}
        batches: list[tuple[str, list[tuple[Any, ...]]]] = []
        while self._bookkeeping:
            sql, params = self._bookkeeping.popleft()
            if sql == TOUCH:
                last_used[params[1]] = params  # the latest use wins
            elif batches and batches[-1][0] == sql:
                batches[-1][1].append(params)
            else:
                batches.append((sql, [params]))
        with db.transaction(durable=False) as connection:
            if last_used:
                connection.executemany(TOUCH, list(last_used.values()))
            for sql, many in batches:
                connection.executemany(sql, many)

    def _queue(self, sql: str, params: tuple[Any, ...]) -> None:
        self._bookkeeping.append((sql, params))
        if self._flush_scheduled:  # the pending flush writes everything queued by then
            return
        self._flush_scheduled = True

        def submit() -> None:
            self._vault.executor.submit(self._vault.flush_quietly)

        try:  # gather a few milliseconds of ceremonies into one write
            asyncio.get_running_loop().call_later(FLUSH_DELAY_S, submit)
        except RuntimeError:
            submit()

    def forget(self) -> None:
        """Drop what is cached (counters, credentials) when the vault locks."""
        self._counters.clear()
        self._drop(None)

    def _drop(self, credential_id: bytes | None) -> None:
        """Uncache one credential (None: all of them) before it changes or goes. A read in
        flight meanwhile may have seen the old row: it does not cache it (see get)."""
        self._generation += 1
        if credential_id is None:
            self._cache.clear()
            self._offer = None
            self._group_keys = None
        else:
            self._cache.pop(credential_id, None)

    def _remember(self, credential: Credential) -> Credential:
        self._cache[credential.credential_id] = credential
        self._cache.move_to_end(credential.credential_id)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return credential

    def _current(self, credential: Credential) -> Credential:
        state = self._counters.get(credential.credential_id)
        if state is not None:
            credential.sign_count = state[0]
        return credential

    # -- credentials ------------------------------------------------------------------------

    async def get(self, credential_id: bytes) -> Credential | None:
        cached = self._cache.get(credential_id)
        if cached is not None:
            self._vault.ensure_open()
            self._cache.move_to_end(credential_id)
            return self._current(cached)

        def work(db: Database) -> Credential | None:
            found = db.query(f"{rows.SELECT} WHERE credential_id = ?", (credential_id,))
            return self._current(rows.from_row(found[0])) if found else None

        generation = self._generation
        credential = await self._run(work)
        if credential is None or generation != self._generation:
            return credential  # nothing, or a row that a write or the lock may have overtaken
        return self._remember(credential)

    async def find(self, rp_id_hash: bytes) -> Sequence[Credential]:
        def work(db: Database) -> list[Credential]:
            found = db.query(
                f"{rows.SELECT} WHERE rp_id_hash = ? ORDER BY created, rowid", (rp_id_hash,)
            )
            return [rows.from_row(row) for row in found]

        # A cached credential is current (every write drops it), and a ceremony may be using it.
        found = await self._run(work)
        return [self._current(self._cache.get(c.credential_id, c)) for c in found]

    async def put(self, credential: Credential) -> None:
        row = rows.to_row(credential)
        self._counters.pop(credential.credential_id, None)
        self._drop(credential.credential_id)
        at = self.now_ms()

        def work(db: Database) -> None:
            with db.transaction() as connection:
                connection.execute(rows.UPSERT, row)
                if credential.synced:  # the other devices get it with the next segment
                    _queue_creation(connection, at, credential)

        await self._run(work)

    async def put_many(
        self,
        credentials: Sequence[Credential],
        settings: Mapping[str, Callable[[bytes | None], bytes]] | None = None,
    ) -> list[bytes]:
        """Insert new credentials and rewrite settings (each from its value at that moment) in
        one transaction: all or nothing. A credential ID already stored fails the whole batch;
        nothing is replaced. For imports (vauth.vault.exchange). Returns the IDs of the passkeys
        that stay on this computer only although it syncs new ones (their counter has moved)."""
        updates = dict(settings or {})  # nothing cached changes: only new IDs are inserted
        at, actor = self.now_ms(), ACTOR.get()

        def work(db: Database) -> list[bytes]:
            with db.transaction() as connection:
                counted = _synced_on_import(connection, credentials)
                new_rows = [rows.to_row(credential) for credential in credentials]
                for credential, row in zip(credentials, new_rows, strict=True):
                    # an import brings back what it holds, in place of a copy in the trash
                    connection.execute(
                        "DELETE FROM credentials WHERE credential_id = ? "
                        "AND deleted_at IS NOT NULL",
                        (credential.credential_id,),
                    )
                    connection.execute(rows.INSERT, row)
                    if credential.synced:
                        _queue_creation(connection, at, credential)
                    _audit(connection, at, "import", credential, actor, "Imported from a file.")
                for name, update in updates.items():
                    _write_setting(connection, name, update(_read_setting(connection, name)))
                return counted

        return await self._run(work)

    async def update(self, credential: Credential) -> None:
        """Write back the mutable fields, and record in the audit log what changed and who
        changed it (in the same transaction)."""
        row = rows.update_row(credential)
        self._drop(credential.credential_id)
        at, actor = self.now_ms(), ACTOR.get()

        def work(db: Database) -> None:
            with db.transaction() as connection:
                old = connection.execute(
                    f"SELECT {', '.join(rows.UPDATED)}, synced FROM live_credentials "  # noqa: S608
                    "WHERE credential_id = ?",
                    (credential.credential_id,),
                ).fetchone()
                if old is None:
                    return
                connection.execute(rows.UPDATE, row)
                before = dict(zip(rows.UPDATED, old, strict=False))
                if old[-1]:  # synced: the other devices get what changed
                    _queue_changes(connection, at, before, credential)
                kind, detail = _changes(before, credential)
                if detail:
                    _audit(connection, at, kind, credential, actor, detail)

        await self._run(work)

    async def touch(self, credential_id: bytes, at: int) -> None:
        cached = self._cache.get(credential_id)
        if cached is not None:
            cached.last_used = at
        self._queue(TOUCH, (at, credential_id))

    async def delete(self, credential_id: bytes) -> bool:
        """Move a credential to the trash (restorable for TRASH_DAYS) and record who did."""
        self._counters.pop(credential_id, None)
        self._drop(credential_id)
        at, actor = self.now_ms(), ACTOR.get()

        def work(db: Database) -> bool:
            with db.transaction() as connection:
                found = connection.execute(
                    f"{rows.SELECT} WHERE credential_id = ?", (credential_id,)
                ).fetchone()
                if found is None:
                    return False
                connection.execute(
                    "UPDATE credentials SET deleted_at = ?, deleted_by = ? WHERE credential_id = ?",
                    (at, actor, credential_id),
                )
                credential = rows.from_row(found)
                if credential.synced:
                    outbox.queue(connection, outbox.UPDATE, at, credential_id, {outbox.DELETED: at})
                detail = f"Moved to the trash; it can be restored for {TRASH_DAYS} days."
                _audit(connection, at, "delete", credential, actor, detail)
                return True

        return await self._run(work)

    # -- the trash --------------------------------------------------------------------------

    async def trash(self) -> list[Trashed]:
        """What is in the trash, most recently deleted first (after purging the expired)."""

        def work(db: Database) -> list[Trashed]:
            self.purge(db)
            found = db.query(f"{rows.TRASH_SELECT} ORDER BY deleted_at DESC, rowid DESC")
            width = len(rows.COLUMNS)
            return [Trashed(rows.from_row(r[:width]), r[width], r[width + 1]) for r in found]

        return await self._run(work)

    async def restore(self, credential_id: bytes) -> Credential | None:
        """Take a credential out of the trash (None if it is not there)."""
        self._drop(credential_id)
        at, actor = self.now_ms(), ACTOR.get()

        def work(db: Database) -> Credential | None:
            self.purge(db)
            with db.transaction() as connection:
                found = connection.execute(
                    f"{rows.TRASH_SELECT} AND credential_id = ?", (credential_id,)
                ).fetchone()
                if found is None:
                    return None
                connection.execute(
                    "UPDATE credentials SET deleted_at = NULL, deleted_by = NULL "
                    "WHERE credential_id = ?",
                    (credential_id,),
                )
                credential = rows.from_row(found[: len(rows.COLUMNS)])
                if credential.synced:
                    outbox.queue(
                        connection, outbox.UPDATE, at, credential_id, {outbox.DELETED: None}
                    )
                _audit(connection, at, "restore", credential, actor, "Restored from the trash.")
                return credential

        return await self._run(work)

    async def empty_trash(self) -> int:
        """Delete for good everything in the trash; returns how many."""
        at, actor = self.now_ms(), ACTOR.get()
        return await self._run(lambda db: self._purge(db, None, at, actor))

    def purge(self, db: Database) -> int:
        """Delete for good what has been in the trash for TRASH_DAYS (on the vault's thread)."""
        at = self.now_ms()
        return self._purge(db, at - TRASH_MS, at, EXPIRED)

    @staticmethod
    def _purge(db: Database, before: int | None, at: int, actor: str) -> int:
        """Delete for good what went to the trash before ``before`` (None: all of it). An ID
        whose key is sealed in it stays revoked: the ID alone must never sign again."""
        condition = "" if before is None else " AND deleted_at < ?"
        params: tuple[Any, ...] = () if before is None else (before,)
        with db.transaction() as connection:
            found = connection.execute(rows.TRASH_SELECT + condition, params).fetchall()
            for row in found:
                credential = rows.from_row(row[: len(rows.COLUMNS)])
                if credential.sealed:
                    connection.execute(
                        "INSERT OR REPLACE INTO revoked (credential_id, at) VALUES (?, ?)",
                        (credential.credential_id, at),
                    )
                connection.execute(
                    "DELETE FROM credentials WHERE credential_id = ?", (credential.credential_id,)
                )
                _audit(connection, at, "purge", credential, actor, "Deleted for good.")
        return len(found)

    async def note_sealed(self, record: Credential) -> None:
        row = rows.to_row(record)
        at = self.now_ms()

        def work(db: Database) -> None:
            with db.transaction() as connection:
                kept = connection.execute(rows.KEEP, row).rowcount
                if kept and record.synced:  # its record travels; its key is in its ID
                    _queue_creation(connection, at, record)

        await self._run(work)

    async def revoked(self, credential_id: bytes) -> bool:
        def work(db: Database) -> bool:
            found = db.query(
                "SELECT 1 FROM credentials WHERE credential_id = ? AND deleted_at IS NOT NULL "
                "UNION ALL SELECT 1 FROM revoked WHERE credential_id = ?",
                (credential_id, credential_id),
            )
            return bool(found)

        return await self._run(work)

    async def all(self) -> Sequence[Credential]:
        return await self._run(
            lambda db: [
                self._current(rows.from_row(r)) for r in db.query(f"{rows.SELECT} ORDER BY rowid")
            ]
        )

    async def count(self) -> int:
        return await self._run(
            lambda db: int(
                db.query("SELECT count(*) FROM live_credentials WHERE discoverable")[0][0]
            )
        )

    async def clear(self) -> None:
        """Delete every credential for good, the trash too (authenticatorReset)."""
        self._counters.clear()
        self._drop(None)
        at, actor = self.now_ms(), ACTOR.get()

        def work(db: Database) -> None:
            with db.transaction() as connection:
                count = connection.execute("DELETE FROM credentials").rowcount
                connection.execute(
                    RECORD,
                    (at, "deleteAll", None, None, "ok", actor, f"Deleted all {count} for good."),
                )

        await self._run(work)

    async def next_sign_count(self, credential_id: bytes | None) -> int:
        """The next value, from a block reserved on disk before any of it is used: a crash
        can skip values, never hand one out twice or go backwards. Concurrent ceremonies
        wait for one reservation rather than each making their own."""
        loop = asyncio.get_running_loop()
        while True:
            state = self._counters.get(credential_id)
            if state is not None and state[0] < state[1]:
                state[0] += 1
                if state[1] - state[0] == self._blocks[credential_id][0] // 2:
                    self._reserve_ahead(credential_id, state, loop)
                return state[0]
            pending = self._reserving.get(credential_id)
            if pending is not None and pending.get_loop() is loop:
                await asyncio.shield(pending)
                continue
            done: asyncio.Future[None] = loop.create_future()
            self._reserving[credential_id] = done
            try:
                size = self._next_block(credential_id)
                reserved = await self._run(self._reserve(credential_id, size))
                self._counters[credential_id] = [reserved, reserved + size]
            finally:
                self._reserving.pop(credential_id, None)
                done.set_result(None)

    def _reserve_ahead(
        self, credential_id: bytes | None, state: list[int], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Half a block used: reserve the next one now, in the background, so that ceremonies
        do not all stop for a durable write when the block runs out (which set the daemon's
        p99). The new block follows on from this one; if this one was dropped meanwhile (a
        write, the lock), the disk has merely moved on and values are skipped, never reused."""
        if credential_id in self._reserving:
            return
        done: asyncio.Future[None] = loop.create_future()
        self._reserving[credential_id] = done

        async def reserve() -> None:
            try:
                size = self._next_block(credential_id)
                reserved = await self._run(self._reserve(credential_id, size))
                if self._counters.get(credential_id) is state and state[1] == reserved:
                    state[1] = reserved + size
            except Exception:  # locked, deleted, a full disk: the next use reserves (and says)
                logger.debug("reserving signature counters ahead failed", exc_info=True)
            finally:
                self._reserving.pop(credential_id, None)
                done.set_result(None)

        task = loop.create_task(reserve())
        self._ahead.add(task)
        task.add_done_callback(self._ahead.discard)

    def _next_block(self, credential_id: bytes | None) -> int:
        """The size of the block to reserve now, from how long the last one lasted."""
        now = self.monotonic()
        last = self._blocks.get(credential_id)
        if last is None:
            size = COUNTER_RESERVATION
        elif now - last[1] < BUSY_BLOCK_S:
            size = min(2 * last[0], COUNTER_RESERVATION_MAX)
        elif now - last[1] > IDLE_BLOCK_S:
            size = max(last[0] // 2, COUNTER_RESERVATION)
        else:
            size = last[0]
        self._blocks[credential_id] = (size, now)
        return size

    @staticmethod
    def _reserve(credential_id: bytes | None, size: int) -> Callable[[Database], int]:
        """The work that moves the on-disk reservation on by ``size``; returns its start."""

        def reserve(db: Database) -> int:
            with db.transaction() as connection:
                if credential_id is None:
                    value = _read_setting(connection, GLOBAL_COUNTER)
                    reserved = 0 if value is None else int.from_bytes(value, "big")
                    end = reserved + size
                    _write_setting(connection, GLOBAL_COUNTER, end.to_bytes(8, "big"))
                    return reserved
                row = connection.execute(
                    "UPDATE credentials SET sign_count = sign_count + ? "
                    "WHERE credential_id = ? RETURNING sign_count",
                    (size, credential_id),
                ).fetchone()
                if row is None:
                    raise KeyError("no such credential")
                return int(row[0]) - size

        return reserve

    # -- settings ---------------------------------------------------------------------------

    async def get_setting(self, name: str) -> bytes | None:
        def work(db: Database) -> bytes | None:
            found = db.query(READ_SETTING, (name,))
            return bytes(found[0][0]) if found else None

        return await self._run(work)

    async def set_setting(self, name: str, value: bytes) -> None:
        at = self.now_ms()

        if name.startswith("sync."):
            self._drop(None)  # the sync choice may change

        def work(db: Database) -> None:
            with db.transaction() as connection:
                connection.execute(WRITE_SETTING, (name, value))
                if name in outbox.SYNCED_SETTINGS and outbox.sync_set_up(connection):
                    outbox.queue(connection, outbox.SETTING, at, values={name: value})

        await self._run(work)

    async def offer(self) -> SyncOffer | None:
        """The SyncChoice port: new passkeys may sync once sync is set up on this vault. Kept
        in memory until sync changes the group or the default (see changed_elsewhere)."""
        if self._offer is not None:
            self._vault.ensure_open()
            return self._offer[0]

        def work(db: Database) -> SyncOffer | None:
            if not db.query(READ_SETTING, (outbox.STATE_SETTING,)):
                return None
            default = db.query(READ_SETTING, (outbox.DEFAULT_SETTING,))
            members = db.query("SELECT count(*) FROM sync_devices WHERE removed_epoch IS NULL")
            synced = not default or bytes(default[0][0]) != b"device"
            return SyncOffer(default=synced, devices=int(members[0][0]))

        generation = self._generation
        offer = await self._run(work)
        if generation == self._generation:
            self._offer = (offer,)
        return offer

    async def group_keys(self) -> GroupKeys | None:
        """The SyncChoice port: the sync group's keys for the IDs of synced non-discoverable
        passkeys (derived by vauth/sync/ from each group key and kept with it), the one of the
        group key this device writes under first. Kept in memory like ``offer``."""
        if self._group_keys is not None:
            self._vault.ensure_open()
            return self._group_keys[0]

        def work(db: Database) -> GroupKeys | None:
            found = db.query("SELECT number, author, wrap_key FROM sync_epochs")
            current = db.query(READ_SETTING, (outbox.EPOCH_SETTING,))
            keys = {_key_id(bytes(k)): bytes(k) for _n, _a, k in found if k is not None}
            chosen = [
                bytes(k)
                for n, a, k in found
                if k is not None and current and outbox.epoch_name(n, a) == bytes(current[0][0])
            ]
            return GroupKeys(_key_id(chosen[0]), keys) if chosen else None

        generation = self._generation
        keys = await self._run(work)
        if generation == self._generation:
            self._group_keys = (keys,)
        return keys

    def changed_elsewhere(self, credential_ids: Sequence[bytes] | None = None) -> None:
        """Credentials that sync changed (a merge, or the group's size for every synced one:
        None): read them again."""
        if credential_ids is None:
            self._drop(None)
        for credential_id in credential_ids or ():
            self._drop(credential_id)

    # -- the audit log ----------------------------------------------------------------------

    async def record(self, entry: AuditRecord) -> None:
        """One entry; a ceremony's says who asked for it (``ACTOR``: the site, a tester)."""
        self._queue(
            RECORD,
            (
                entry.at,
                entry.ceremony,
                entry.rp_id,
                entry.credential_id,
                entry.outcome,
                ACTOR.get() if entry.actor is None else entry.actor,
                entry.detail,
            ),
        )

    async def audit(
        self, credential_id: bytes | None = None, limit: int = 1000
    ) -> list[AuditRecord]:
        """The newest entries first (all, or one credential's)."""

        def work(db: Database) -> list[AuditRecord]:
            if credential_id is None:
                found = db.query(f"{AUDIT_SELECT} ORDER BY id DESC LIMIT ?", (limit,))
            else:
                found = db.query(
                    f"{AUDIT_SELECT} WHERE credential_id = ? ORDER BY id DESC LIMIT ?",
                    (credential_id, limit),
                )
            return [AuditRecord(*row) for row in found]

        return await self._run(work)


def _audit(
    connection: sqlcipher3.Connection,
    at: int,
    change: str,
    credential: Credential,
    actor: str,
    detail: str,
) -> None:
    connection.execute(
        RECORD, (at, change, credential.rp_id, credential.credential_id, "ok", actor, detail)
    )


# What a change to each field is called in the audit log (the others are bookkeeping).
_CHANGE_TEXT = {
    "nickname": "the nickname",
    "user_name": "the account name",
    "user_display_name": "the account's display name",
}


def _changes(before: Mapping[str, Any], after: Credential) -> tuple[str, str]:
    """("rename" or "update", a sentence saying what changed), from the stored values."""
    changed = [name for name in _CHANGE_TEXT if before[name] != getattr(after, name)]
    parts = [
        f"{_CHANGE_TEXT[name]} from {_quoted(before[name])} to {_quoted(getattr(after, name))}"
        for name in changed
    ]
    if any(bool(before[n]) != bool(getattr(after, n)) for n in ("backup_eligible", "backup_state")):
        parts.append("whether it is backed up")
    if any(before[n] != getattr(after, n) for n in ("large_blob", "cred_blob")):
        parts.append("the data a site keeps with it")
    kind = "rename" if changed == ["nickname"] and len(parts) == 1 else "update"
    return kind, ("Changed " + "; ".join(parts) + ".") if parts else ""


def _queue_changes(
    connection: sqlcipher3.Connection, at: int, before: Mapping[str, Any], after: Credential
) -> None:
    changed = {
        name: getattr(after, name)
        for name in outbox.MUTABLE_FIELDS
        if before[name] != getattr(after, name)
    }
    if changed:
        outbox.queue(connection, outbox.UPDATE, at, after.credential_id, changed)


def _synced_on_import(
    connection: sqlcipher3.Connection, credentials: Sequence[Credential]
) -> list[bytes]:
    """Passkeys imported into a synced vault are synced, as the vault's default says, when
    they may leave their device (backup eligible: a site was told so); the rest stay here.
    So does one whose signature counter has moved (N > 0): its sites expect its next
    signature to count above N (WebAuthn L3 section 6.1.1), and a synced passkey counts 0.
    Returns the IDs of those."""
    if not outbox.sync_set_up(connection):
        return []
    default = _read_setting(connection, outbox.DEFAULT_SETTING)
    if default == b"device":
        return []
    devices = int(
        connection.execute(
            "SELECT count(*) FROM sync_devices WHERE removed_epoch IS NULL"
        ).fetchone()[0]
    )
    counted = []
    for credential in credentials:
        if not credential.backup_eligible or credential.sealed or credential.synced:
            continue
        if credential.sign_count > 0:
            counted.append(credential.credential_id)
        else:
            credential.make_synced(devices)
    return counted


def _queue_creation(connection: sqlcipher3.Connection, at: int, credential: Credential) -> None:
    values = {name: getattr(credential, name) for name in outbox.MUTABLE_FIELDS}
    values[outbox.DELETED] = None
    outbox.queue(connection, outbox.CREATE, at, credential.credential_id, values)


def _key_id(wrap_key: bytes) -> bytes:
    """The 4 bytes that name a group's credential-ID key inside the IDs it seals."""
    return hashlib.sha256(b"vauth credential ID key\0" + wrap_key).digest()[:4]


def _quoted(value: object) -> str:
    return "nothing" if value in (None, "") else f"\u201c{value}\u201d"


def _read_setting(connection: sqlcipher3.Connection, name: str) -> bytes | None:
    found = connection.execute(READ_SETTING, (name,)).fetchone()
    return None if found is None else bytes(found[0])


def _write_setting(connection: sqlcipher3.Connection, name: str, value: bytes) -> None:
    connection.execute(WRITE_SETTING, (name, value))
