"""VaultStore: the core's CredentialStore port over the SQLCipher vault.

Every database call runs on the vault's single worker thread, so the event loop never blocks
on SQLCipher and concurrent ceremonies are serialised: no lost or duplicated counter values.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import sqlcipher3

from vauth.ctap.credential import Credential
from vauth.ctap.ports import AuditRecord
from vauth.ctap.status import CtapError, CtapStatus
from vauth.vault import rows

if TYPE_CHECKING:
    from vauth.vault.database import Database
    from vauth.vault.vault import Vault

T = TypeVar("T")
logger = logging.getLogger(__name__)
GLOBAL_COUNTER = "global_sign_count"
AUDIT_SELECT = "SELECT at, ceremony, rp_id, credential_id, outcome FROM audit"


COUNTER_RESERVATION = 128  # signature counter values reserved on disk per write
FLUSH_DELAY_S = 0.05  # bookkeeping waits this long to be written with what follows it
CACHE_SIZE = 4096  # credentials kept decoded in memory, most recently used first

# Bookkeeping statements (written lazily, in order, by the vault's thread).
TOUCH = "UPDATE credentials SET last_used = ? WHERE credential_id = ?"
RECORD = "INSERT INTO audit (at, ceremony, rp_id, credential_id, outcome) VALUES (?, ?, ?, ?, ?)"
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
        # Recently used credentials, so a ceremony need not wait for the database; bounded,
        # and dropped when the vault locks (it holds private keys).
        self._cache: OrderedDict[bytes, Credential] = OrderedDict()
        self._generation = 0  # moves on whenever the cache is dropped from (see _drop)

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
        with db.transaction(durable=False) as connection:
            while self._bookkeeping:
                sql, params = self._bookkeeping.popleft()
                connection.execute(sql, params)

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
        await self._run(lambda db: db.execute(rows.UPSERT, row))

    async def put_many(
        self,
        credentials: Sequence[Credential],
        settings: Mapping[str, Callable[[bytes | None], bytes]] | None = None,
    ) -> None:
        """Insert new credentials and rewrite settings (each from its value at that moment) in
        one transaction: all or nothing. A credential ID already stored fails the whole batch;
        nothing is replaced. For imports (vauth.vault.exchange)."""
        new_rows = [rows.to_row(credential) for credential in credentials]
        updates = dict(settings or {})  # nothing cached changes: only new IDs are inserted

        def work(db: Database) -> None:
            with db.transaction() as connection:
                for row in new_rows:
                    connection.execute(rows.INSERT, row)
                for name, update in updates.items():
                    _write_setting(connection, name, update(_read_setting(connection, name)))

        await self._run(work)

    async def update(self, credential: Credential) -> None:
        row = rows.update_row(credential)
        self._drop(credential.credential_id)
        await self._run(lambda db: db.execute(rows.UPDATE, row))

    async def touch(self, credential_id: bytes, at: int) -> None:
        cached = self._cache.get(credential_id)
        if cached is not None:
            cached.last_used = at
        self._queue(TOUCH, (at, credential_id))

    async def delete(self, credential_id: bytes) -> bool:
        self._counters.pop(credential_id, None)
        self._drop(credential_id)
        changed = await self._run(
            lambda db: db.execute(
                "DELETE FROM credentials WHERE credential_id = ?", (credential_id,)
            )
        )
        return changed > 0

    async def all(self) -> Sequence[Credential]:
        return await self._run(
            lambda db: [
                self._current(rows.from_row(r)) for r in db.query(f"{rows.SELECT} ORDER BY rowid")
            ]
        )

    async def count(self) -> int:
        return await self._run(
            lambda db: int(db.query("SELECT count(*) FROM credentials WHERE discoverable")[0][0])
        )

    async def clear(self) -> None:
        self._counters.clear()
        self._drop(None)

        def work(db: Database) -> None:
            with db.transaction() as connection:
                connection.execute("DELETE FROM credentials")

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
                return state[0]
            pending = self._reserving.get(credential_id)
            if pending is not None and pending.get_loop() is loop:
                await asyncio.shield(pending)
                continue
            done: asyncio.Future[None] = loop.create_future()
            self._reserving[credential_id] = done
            try:
                reserved = await self._run(self._reserve(credential_id))
                self._counters[credential_id] = [reserved, reserved + COUNTER_RESERVATION]
            finally:
                self._reserving.pop(credential_id, None)
                done.set_result(None)

    @staticmethod
    def _reserve(credential_id: bytes | None) -> Callable[[Database], int]:
        """The work that moves the on-disk reservation on by a block; returns its start."""

        def reserve(db: Database) -> int:
            with db.transaction() as connection:
                if credential_id is None:
                    value = _read_setting(connection, GLOBAL_COUNTER)
                    reserved = 0 if value is None else int.from_bytes(value, "big")
                    end = reserved + COUNTER_RESERVATION
                    _write_setting(connection, GLOBAL_COUNTER, end.to_bytes(8, "big"))
                    return reserved
                row = connection.execute(
                    "UPDATE credentials SET sign_count = sign_count + ? "
                    "WHERE credential_id = ? RETURNING sign_count",
                    (COUNTER_RESERVATION, credential_id),
                ).fetchone()
                if row is None:
                    raise KeyError("no such credential")
                return int(row[0]) - COUNTER_RESERVATION

        return reserve

    # -- settings ---------------------------------------------------------------------------

    async def get_setting(self, name: str) -> bytes | None:
        def work(db: Database) -> bytes | None:
            found = db.query(READ_SETTING, (name,))
            return bytes(found[0][0]) if found else None

        return await self._run(work)

    async def set_setting(self, name: str, value: bytes) -> None:
        await self._run(lambda db: db.execute(WRITE_SETTING, (name, value)))

    # -- the audit log ----------------------------------------------------------------------

    async def record(self, entry: AuditRecord) -> None:
        self._queue(
            RECORD, (entry.at, entry.ceremony, entry.rp_id, entry.credential_id, entry.outcome)
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


def _read_setting(connection: sqlcipher3.Connection, name: str) -> bytes | None:
    found = connection.execute(READ_SETTING, (name,)).fetchone()
    return None if found is None else bytes(found[0])


def _write_setting(connection: sqlcipher3.Connection, name: str, value: bytes) -> None:
    connection.execute(WRITE_SETTING, (name, value))
