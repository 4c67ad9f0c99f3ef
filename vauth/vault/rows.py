"""Credentials to rows and back."""

from __future__ import annotations

from typing import Any

from vauth.ctap.credential import Credential, SignCountPolicy

COLUMNS = (
    "credential_id", "rp_id_hash", "rp_id", "rp_name", "user_handle", "user_name",
    "user_display_name", "algorithm", "private_key", "discoverable", "sign_count",
    "sign_count_policy", "backup_eligible", "backup_state", "cred_protect", "created",
    "last_used", "large_blob", "cred_random_with_uv", "cred_random_without_uv", "cred_blob",
    "large_blob_key", "nickname",
)  # fmt: skip
# Built from the constant column list above, never from input.
SELECT = f"SELECT {', '.join(COLUMNS)} FROM credentials"  # noqa: S608
UPSERT = (
    f"INSERT OR REPLACE INTO credentials ({', '.join(COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)
INSERT = UPSERT.replace("INSERT OR REPLACE", "INSERT", 1)  # fails if the ID is stored
# What ceremonies and management may change on a stored credential.
UPDATE = (
    "UPDATE credentials SET user_name = ?, user_display_name = ?, backup_eligible = ?, "
    "backup_state = ?, last_used = ?, large_blob = ?, cred_blob = ?, nickname = ? "
    "WHERE credential_id = ?"
)


def to_row(credential: Credential) -> tuple[Any, ...]:
    return (
        credential.credential_id,
        credential.rp_id_hash,
        credential.rp_id,
        credential.rp_name,
        credential.user_handle,
        credential.user_name,
        credential.user_display_name,
        credential.algorithm,
        credential.private_key_der(),
        int(credential.discoverable),
        credential.sign_count,
        credential.sign_count_policy.value,
        int(credential.backup_eligible),
        int(credential.backup_state),
        credential.cred_protect,
        credential.created,
        credential.last_used,
        credential.large_blob,
        credential.cred_random_with_uv,
        credential.cred_random_without_uv,
        credential.cred_blob,
        credential.large_blob_key,
        credential.nickname,
    )


def update_row(credential: Credential) -> tuple[Any, ...]:
    return (
        credential.user_name,
        credential.user_display_name,
        int(credential.backup_eligible),
        int(credential.backup_state),
        credential.last_used,
        credential.large_blob,
        credential.cred_blob,
        credential.nickname,
        credential.credential_id,
    )


def from_row(row: tuple[Any, ...]) -> Credential:
    fields = dict(zip(COLUMNS, row, strict=True))
    return Credential(
        credential_id=bytes(fields["credential_id"]),
        rp_id=fields["rp_id"],
        rp_id_hash=bytes(fields["rp_id_hash"]),
        user_handle=_bytes(fields["user_handle"]),
        private_key=bytes(fields["private_key"]),
        algorithm=fields["algorithm"],
        discoverable=bool(fields["discoverable"]),
        user_name=fields["user_name"],
        user_display_name=fields["user_display_name"],
        rp_name=fields["rp_name"],
        sign_count=fields["sign_count"],
        sign_count_policy=SignCountPolicy(fields["sign_count_policy"]),
        backup_eligible=bool(fields["backup_eligible"]),
        backup_state=bool(fields["backup_state"]),
        cred_protect=fields["cred_protect"],
        created=fields["created"],
        last_used=fields["last_used"],
        large_blob=_bytes(fields["large_blob"]),
        cred_random_with_uv=_bytes(fields["cred_random_with_uv"]),
        cred_random_without_uv=_bytes(fields["cred_random_without_uv"]),
        cred_blob=_bytes(fields["cred_blob"]),
        large_blob_key=_bytes(fields["large_blob_key"]),
        nickname=fields["nickname"],
    )


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)
