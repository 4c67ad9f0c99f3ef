"""Credentials to rows and back: a column for each Credential field of the same name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vauth.ctap.credential import Credential, SignCountPolicy

COLUMNS = (
    "credential_id", "rp_id_hash", "rp_id", "rp_name", "user_handle", "user_name",
    "user_display_name", "algorithm", "private_key", "discoverable", "sign_count",
    "sign_count_policy", "backup_eligible", "backup_state", "cred_protect", "created",
    "last_used", "large_blob", "cred_random_with_uv", "cred_random_without_uv", "cred_blob",
    "large_blob_key", "nickname", "sealed", "synced",
)  # fmt: skip
# What ceremonies and management may change on a stored credential.
UPDATED = (
    "user_name", "user_display_name", "backup_eligible", "backup_state", "last_used",
    "large_blob", "cred_blob", "nickname",
)  # fmt: skip
# SQLite stores these as integers and text; the rest come back as stored (BLOBs as bytes).
_FROM_SQL: dict[str, Callable[[Any], Any]] = {
    "discoverable": bool,
    "backup_eligible": bool,
    "backup_state": bool,
    "sealed": bool,
    "synced": bool,
    "sign_count_policy": SignCountPolicy,
}

# Built from the constant column lists above, never from input. SELECT reads the live
# credentials (not those in the trash); TRASH_SELECT the others.
SELECT = f"SELECT {', '.join(COLUMNS)} FROM live_credentials"  # noqa: S608
TRASH_SELECT = (
    f"SELECT {', '.join(COLUMNS)}, deleted_at, deleted_by FROM credentials "  # noqa: S608
    "WHERE deleted_at IS NOT NULL"
)
UPSERT = (
    f"INSERT OR REPLACE INTO credentials ({', '.join(COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)
INSERT = UPSERT.replace("INSERT OR REPLACE", "INSERT", 1)  # fails if the ID is stored
KEEP = UPSERT.replace("INSERT OR REPLACE", "INSERT OR IGNORE", 1)  # leaves a stored ID alone
UPDATE = (
    f"UPDATE credentials SET {', '.join(f'{name} = ?' for name in UPDATED)} "  # noqa: S608
    "WHERE credential_id = ? AND deleted_at IS NULL"
)


def to_row(credential: Credential) -> tuple[Any, ...]:
    credential.private_key_der()  # a new credential's key is serialised on first need
    return tuple(getattr(credential, name) for name in COLUMNS)


def update_row(credential: Credential) -> tuple[Any, ...]:
    return (*(getattr(credential, name) for name in UPDATED), credential.credential_id)


def from_row(row: tuple[Any, ...]) -> Credential:
    fields = dict(zip(COLUMNS, row, strict=True))
    for name, convert in _FROM_SQL.items():
        fields[name] = convert(fields[name])
    return Credential(**fields)
