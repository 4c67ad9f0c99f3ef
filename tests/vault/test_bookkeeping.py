"""The vault store's bookkeeping (last use, the audit log), queued by ceremonies and written by
the vault's thread in one transaction: a busy daemon's repeated uses of one credential are one
UPDATE, and nothing else is lost or reordered."""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vauth.ctap.credential import Credential
from vauth.ctap.ports import AuditRecord
from vauth.vault import Vault
from vauth.vault.database import Database


def new_credential() -> Credential:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Credential(
        credential_id=os.urandom(16),
        rp_id="example.com",
        rp_id_hash=hashlib.sha256(b"example.com").digest(),
        user_handle=os.urandom(8),
        private_key=key,
        algorithm=-7,
    )


def rows_changed(vault: Vault) -> int:
    """SQLite's count of rows written by this connection so far (one per UPDATE or INSERT)."""
    return int(vault.with_database_sync(lambda db: db.query("SELECT total_changes()"))[0][0])


def last_used(vault: Vault, credential_id: bytes) -> int | None:
    def work(db: Database) -> int | None:
        found = db.query(
            "SELECT last_used FROM credentials WHERE credential_id = ?", (credential_id,)
        )
        return None if found[0][0] is None else int(found[0][0])

    return vault.with_database_sync(work)


async def test_repeated_uses_are_one_write_per_credential_and_the_latest_wins(
    vault: Vault,
) -> None:
    store = vault.store
    first, second = new_credential(), new_credential()
    await store.put(first)
    await store.put(second)
    await store.audit()  # anything queued so far is written
    before = rows_changed(vault)

    uses = 200
    for n in range(uses):  # interleaved, as 64 clients signing in with two passkeys would
        await store.touch(first.credential_id, 1_000 + n)
        await store.touch(second.credential_id, 5_000 + n)
        await store.record(
            AuditRecord(1_000 + n, "getAssertion", "example.com", first.credential_id, "ok")
        )
    entries = await store.audit(limit=uses)  # reading writes the queue first

    # One UPDATE per credential, not one per use; every audit entry inserted.
    assert rows_changed(vault) - before == 2 + uses
    assert last_used(vault, first.credential_id) == 1_000 + uses - 1
    assert last_used(vault, second.credential_id) == 5_000 + uses - 1
    assert [entry.at for entry in entries] == [1_000 + n for n in reversed(range(uses))]


async def test_audit_entries_keep_their_order_around_touches(vault: Vault) -> None:
    store, credential = vault.store, new_credential()
    await store.put(credential)
    await store.record(AuditRecord(1, "makeCredential", "example.com", None, "ok"))
    await store.touch(credential.credential_id, 2)
    await store.record(AuditRecord(3, "getAssertion", "example.com", None, "denied"))
    await store.record(AuditRecord(4, "getAssertion", "example.com", None, "ok"))

    entries = await store.audit()
    assert [(e.at, e.ceremony, e.outcome) for e in entries][:3] == [
        (4, "getAssertion", "ok"),
        (3, "getAssertion", "denied"),
        (1, "makeCredential", "ok"),
    ]
    assert last_used(vault, credential.credential_id) == 2
