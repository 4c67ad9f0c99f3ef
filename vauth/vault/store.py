"""VaultStore: the core's CredentialStore port over the SQLCipher vault.

Every database call runs on the vault's single worker thread, so the event loop never blocks
on SQLCipher and concurrent ceremonies are serialised: no lost or duplicated counter values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from vauth.ctap.credential import Credential
from vauth.ctap.ports import AuditRecord
from vauth.vault import rows

if TYPE_CHECKING:
    from vauth.vault.database import Database
    from vauth.vault.vault import Vault

T = TypeVar("T")
GLOBAL_COUNTER = "global_sign_count"
AUDIT_SELECT = "SELECT at, ceremony, rp_id, credential_id, outcome FROM audit"


class VaultStore:
    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    async def _run(self, work: Callable[[Database], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._vault.executor, self._vault.with_database, work)

    # -- credentials ------------------------------------------------------------------------

    async def get(self, credential_id: bytes) -> Credential | None:
        def work(db: Database) -> Credential | None:
            found = db.query(f"{rows.SELECT} WHERE credential_id = ?", (credential_id,))
            return rows.from_row(found[0]) if found else None

        return await self._run(work)

    async def find(self, rp_id_hash: bytes) -> Sequence[Credential]:
        def work(db: Database) -> list[Credential]:
            found = db.query(
                f"{rows.SELECT} WHERE rp_id_hash = ? ORDER BY created, rowid", (rp_id_hash,)
            )
            return [rows.from_row(row) for row in found]

        return await self._run(work)

    async def put(self, credential: Credential) -> None:
        row = rows.to_row(credential)
        await self._run(lambda db: db.execute(rows.UPSERT, row))

    async def update(self, credential: Credential) -> None:
        row = rows.update_row(credential)
        await self._run(lambda db: db.execute(rows.UPDATE, row))

    async def delete(self, credential_id: bytes) -> bool:
        changed = await self._run(
            lambda db: db.execute(
                "DELETE FROM credentials WHERE credential_id = ?", (credential_id,)
            )
        )
        return changed > 0

    async def all(self) -> Sequence[Credential]:
        return await self._run(
            lambda db: [rows.from_row(r) for r in db.query(f"{rows.SELECT} ORDER BY rowid")]
        )

    async def count(self) -> int:
        return await self._run(
            lambda db: int(db.query("SELECT count(*) FROM credentials WHERE discoverable")[0][0])
        )

    async def clear(self) -> None:
        def work(db: Database) -> None:
            with db.transaction() as connection:
                connection.execute("DELETE FROM credentials")

        await self._run(work)

    async def next_sign_count(self, credential_id: bytes | None) -> int:
        """Increment and return, committed (fsync) before the value is used: a crash can at
        most skip a value, never hand one out twice."""

        def work(db: Database) -> int:
            with db.transaction() as connection:
                if credential_id is None:
                    row = connection.execute(
                        "SELECT value FROM settings WHERE name = ?", (GLOBAL_COUNTER,)
                    ).fetchone()
                    value = int.from_bytes(row[0], "big") + 1 if row else 1
                    connection.execute(
                        "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
                        (GLOBAL_COUNTER, value.to_bytes(8, "big")),
                    )
                    return value
                row = connection.execute(
                    "UPDATE credentials SET sign_count = sign_count + 1 "
                    "WHERE credential_id = ? RETURNING sign_count",
                    (credential_id,),
                ).fetchone()
                if row is None:
                    raise KeyError("no such credential")
                return int(row[0])

        return await self._run(work)

    # -- settings ---------------------------------------------------------------------------

    async def get_setting(self, name: str) -> bytes | None:
        def work(db: Database) -> bytes | None:
            found = db.query("SELECT value FROM settings WHERE name = ?", (name,))
            return bytes(found[0][0]) if found else None

        return await self._run(work)

    async def set_setting(self, name: str, value: bytes) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value)
            )
        )

    # -- the audit log ----------------------------------------------------------------------

    async def record(self, entry: AuditRecord) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO audit (at, ceremony, rp_id, credential_id, outcome) "
                "VALUES (?, ?, ?, ?, ?)",
                (entry.at, entry.ceremony, entry.rp_id, entry.credential_id, entry.outcome),
            )
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
            return [AuditRecord(r[0], r[1], r[2], _opt(r[3]), r[4]) for r in found]

        return await self._run(work)


def _opt(value: Any) -> bytes | None:
    return None if value is None else bytes(value)
