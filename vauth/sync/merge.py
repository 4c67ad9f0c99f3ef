"""The merge rule, and applying another device's entries to this vault.

The rule (the same on every device, whatever order segments arrive in):

- Each device's segments are applied in their chain order, each once: the segment and the
  marker "applied up to seq N of device D" are one transaction.
- A credential is created by one device; its fixed fields (key, IDs, relying party, user
  handle, secrets, creation time) are taken from that creation and never change.
- Each changeable field (account name and display name, nickname, credBlob, large blob, and
  whether it is in the trash) is a register: the value written with the greatest
  (hybrid logical clock, device ID) wins. A clock value is above everything its device had
  seen when the change was made, so a change made after seeing another wins over it; two
  changes made without seeing each other are ordered by time, then by device ID.
- Moving to the trash is a write of that field (the time of deletion), restoring a write of
  None: so a delete beats every edit older than it, and only a later restore brings the
  credential back (an edit made after a delete lands on the credential in the trash). Each
  device empties its trash by the trash's own 30-day rule, from the deletion time it holds.
- The group's large-blob array (CTAP largeBlobs) is one such register.
- Membership only grows until a removal, which is final.

Applying the same segments twice, or in another order across devices, therefore gives the same
values (tests/sync/test_merge.py checks it with permutations and duplicates).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlcipher3

from vauth.ctap.credential import SignCountPolicy
from vauth.vault import outbox

FIXED_FIELDS = tuple(f for f in outbox.SYNCED_FIELDS if f not in outbox.MUTABLE_FIELDS)
REGISTERS = (*outbox.MUTABLE_FIELDS, outbox.DELETED)
_TYPES: dict[str, tuple[type, ...]] = {
    "credential_id": (bytes,),
    "rp_id_hash": (bytes,),
    "rp_id": (str,),
    "rp_name": (str, type(None)),
    "user_handle": (bytes, type(None)),
    "user_name": (str, type(None)),
    "user_display_name": (str, type(None)),
    "algorithm": (int,),
    "private_key": (bytes,),
    "discoverable": (bool,),
    "cred_protect": (int,),
    "created": (int,),
    "large_blob": (bytes, type(None)),
    "cred_random_with_uv": (bytes, type(None)),
    "cred_random_without_uv": (bytes, type(None)),
    "cred_blob": (bytes, type(None)),
    "large_blob_key": (bytes, type(None)),
    "nickname": (str, type(None)),
    "deleted_at": (int, type(None)),
}
_INSERT = (
    f"INSERT INTO credentials ({', '.join((*FIXED_FIELDS, *REGISTERS))}, deleted_by, "  # noqa: S608
    "sign_count_policy, backup_state, sign_count, backup_eligible, synced, sealed) "
    f"VALUES ({', '.join('?' for _ in (*FIXED_FIELDS, *REGISTERS))}, ?, ?, ?, 0, 1, 1, 0)"
)
RECORD = (
    "INSERT INTO audit (at, ceremony, rp_id, credential_id, outcome, actor, detail) "
    "VALUES (?, ?, ?, ?, 'ok', ?, ?)"
)


class BadEntry(Exception):
    """An entry that does not have the shape the format says (its segment is refused)."""


def checked(fields: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The known fields among ``fields``, each of its declared type (others are ignored: a
    later vauth may send more)."""
    if not isinstance(fields, dict):
        raise BadEntry("an entry's fields are not a map")
    out = {}
    for name in names:
        if name in fields:
            value = fields[name]
            if not isinstance(value, _TYPES[name]) or (
                isinstance(value, bool) and bool not in _TYPES[name]
            ):
                raise BadEntry(f"the field {name} has the wrong type")
            out[name] = value
    return out


def shared(connection: sqlcipher3.Connection) -> bool:
    """Whether synced credentials are backed up elsewhere: a second member device exists."""
    row = connection.execute(
        "SELECT count(*) FROM sync_devices WHERE removed_epoch IS NULL"
    ).fetchone()
    return int(row[0]) >= 2


def refresh_backup_state(connection: sqlcipher3.Connection) -> None:
    """BS follows the group's size: 1 while another device holds the synced credentials."""
    connection.execute(
        "UPDATE credentials SET backup_state = ? WHERE synced", (shared(connection),)
    )


def apply_credential(
    connection: sqlcipher3.Connection,
    entry: Mapping[str, Any],
    device_id: str,
    actor: str,
    at: int,
    backed_up: bool,
) -> bytes:
    """Apply a create or update entry (``backed_up``: the BS of a new synced credential);
    returns the credential's ID."""
    credential_id = entry.get("id")
    hlc = entry.get("hlc")
    if not isinstance(credential_id, bytes) or not isinstance(hlc, int) or hlc < 0:
        raise BadEntry("an entry has no credential ID or clock value")
    create = entry.get("k") == outbox.CREATE
    fields = checked(entry.get("f"), (*outbox.SYNCED_FIELDS, outbox.DELETED))
    existing = connection.execute(
        "SELECT rp_id, synced FROM credentials WHERE credential_id = ?", (credential_id,)
    ).fetchone()
    if existing is not None and not existing[1]:
        raise BadEntry("an entry names a credential that is kept on this device only")
    clocks = outbox.read_clocks(connection, credential_id)
    writes = {name: (hlc, device_id, fields[name]) for name in REGISTERS if name in fields}
    changed = outbox.last_writer_wins(clocks, writes)
    if changed:
        outbox.write_clocks(connection, credential_id, clocks)
    values = {name: clock[2] for name, clock in clocks.items() if name in REGISTERS}
    if create and existing is None:
        if any(fields.get(n) is None for n in ("rp_id", "rp_id_hash", "private_key", "algorithm")):
            raise BadEntry("a new credential lacks its key or relying party")
        row = {**{name: fields.get(name) for name in FIXED_FIELDS}, "credential_id": credential_id}
        registers = [values.get(name) for name in REGISTERS]
        deleted_by = None if values.get(outbox.DELETED) is None else actor
        policy = SignCountPolicy.ZERO.value
        connection.execute(_INSERT, (*row.values(), *registers, deleted_by, policy, backed_up))
        _audit(connection, at, "create", row["rp_id"], credential_id, actor, "Brought by sync.")
    elif existing is not None and changed:
        assignments = [f"{name} = ?" for name in changed]
        params = [values[name] for name in changed]
        if outbox.DELETED in changed:
            assignments.append("deleted_by = ?")
            params.append(None if values[outbox.DELETED] is None else actor)
        connection.execute(
            f"UPDATE credentials SET {', '.join(assignments)} WHERE credential_id = ?",  # noqa: S608
            (*params, credential_id),
        )
        if not create:
            change, detail = _describe(changed, fields)
            _audit(connection, at, change, existing[0], credential_id, actor, detail)
    return credential_id


def _describe(changed: list[str], fields: Mapping[str, Any]) -> tuple[str, str]:
    if changed == [outbox.DELETED]:
        if fields[outbox.DELETED] is None:
            return "restore", "Restored from the trash, by sync."
        return "delete", "Moved to the trash, by sync."
    names = ", ".join(name.replace("_", " ") for name in changed)
    return ("rename" if changed == ["nickname"] else "update"), f"Changed {names}, by sync."


def _audit(
    connection: sqlcipher3.Connection,
    at: int,
    change: str,
    rp_id: object,
    credential_id: bytes,
    actor: str,
    detail: str,
) -> None:
    connection.execute(RECORD, (at, change, rp_id, credential_id, actor, detail))


def apply_setting(
    connection: sqlcipher3.Connection, entry: Mapping[str, Any], device_id: str
) -> None:
    hlc, fields = entry.get("hlc"), entry.get("f")
    if not isinstance(hlc, int) or not isinstance(fields, dict):
        raise BadEntry("a setting entry has no clock value or value")
    for name, value in fields.items():
        if name not in outbox.SYNCED_SETTINGS or not isinstance(value, bytes):
            raise BadEntry("a setting entry names a setting that is not synced")
        clocks = outbox.read_clocks(connection, outbox.SETTINGS_ID)
        if outbox.last_writer_wins(clocks, {name: (hlc, device_id, value)}):
            outbox.write_clocks(connection, outbox.SETTINGS_ID, clocks)
            connection.execute(
                "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value)
            )
