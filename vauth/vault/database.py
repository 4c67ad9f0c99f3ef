"""One SQLCipher connection, opened with the data key, migrated, used from one thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlcipher3

from vauth.secret import wipe
from vauth.vault.errors import VaultVersionError, WrongPassphraseError
from vauth.vault.schema import LATEST, MIGRATIONS


class Database:
    """A SQLCipher 4 database. Not thread-safe: the vault gives it a thread of its own."""

    def __init__(self, path: Path, data_key: bytes | bytearray, migrate_to: int = LATEST) -> None:
        self.path = path
        self._connection = sqlcipher3.connect(
            str(path), isolation_level=None, check_same_thread=False
        )
        try:
            self._setup(data_key)
            self._migrate(migrate_to)
        except Exception:
            self._connection.close()
            raise

    def _setup(self, data_key: bytes | bytearray) -> None:
        _apply_key(self._connection, data_key)
        execute = self._connection.execute
        try:
            execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError:
            raise WrongPassphraseError() from None
        execute("PRAGMA journal_mode = WAL")
        execute("PRAGMA synchronous = FULL")  # a commit is on disk when it returns
        execute("PRAGMA temp_store = MEMORY")  # no plaintext temporary files
        execute("PRAGMA foreign_keys = ON")

    def _migrate(self, target: int) -> None:
        version = self.user_version()
        if version > LATEST:
            raise VaultVersionError(
                f"the vault {self.path} has schema version {version}, newer than this vauth "
                f"knows ({LATEST}); upgrade vauth to open it"
            )
        if version >= target:
            return
        with self.transaction():
            for number in range(version + 1, target + 1):
                for statement in MIGRATIONS[number - 1]:
                    self._connection.execute(statement)
            self._connection.execute(f"PRAGMA user_version = {target}")

    def user_version(self) -> int:
        row = self._connection.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    @contextlib.contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlcipher3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: never half-written.

        ``durable=False`` is for bookkeeping (last use, the audit log): its commit reaches the
        write-ahead log, which survives the process being killed, without waiting for the
        disk; the next durable commit carries it to the disk too."""
        connection = self._connection
        if not durable:
            connection.execute("PRAGMA synchronous = NORMAL")
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            if not durable:
                connection.execute("PRAGMA synchronous = FULL")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return list(self._connection.execute(sql, params).fetchall())

    def execute(self, sql: str, params: tuple[Any, ...] = (), durable: bool = True) -> int:
        """One statement in its own transaction; returns the rows changed."""
        with self.transaction(durable) as connection:
            return int(connection.execute(sql, params).rowcount)

    def integrity_check(self) -> str:
        return str(self._connection.execute("PRAGMA integrity_check").fetchone()[0])

    def backup_to(self, destination: Path, data_key: bytes | bytearray) -> None:
        """A consistent copy, encrypted with the same key, while others keep writing."""
        target = sqlcipher3.connect(str(destination), isolation_level=None)
        try:
            _apply_key(target, data_key)
            self._connection.backup(target)
        finally:
            target.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._connection.close()


def _apply_key(connection: sqlcipher3.Connection, data_key: bytes | bytearray) -> None:
    """Open ``connection`` with the raw data key (SQLCipher's log says nothing of it).

    SQLCipher wipes the memory it frees (memory security, on before the key passes through
    it); the statement is run as a script, which the connection does not cache, and its text,
    the one Python string holding the key, is wiped once run."""
    connection.execute("PRAGMA cipher_log_level = NONE")
    connection.execute("PRAGMA cipher_memory_security = ON")
    key_hex = data_key.hex()
    statement = "".join(("PRAGMA key = \"x'", key_hex, "'\";"))
    try:
        connection.executescript(statement)
    finally:
        wipe(key_hex, statement)
