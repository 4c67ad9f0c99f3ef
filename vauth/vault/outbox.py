"""The sync outbox: every change to a synced credential, queued in the transaction that makes it.

vauth/sync/ publishes the queue as this device's next journal segment; a change and its queue
row are one commit, so a crash never loses one without the other. Device-only credentials are
never queued. Each row carries a hybrid logical clock value (see ``tick``) taken when the change
was made: the merge rule (vauth/sync/merge.py) orders concurrent changes by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cbor2
import sqlcipher3

HLC_SETTING = "sync.hlc"
STATE_SETTING = "sync.state"  # this device's sync identity and group (vauth/sync/); absent: none
DEFAULT_SETTING = "sync.default"  # b"synced" (the default) or b"device": for new passkeys
COUNTER_BITS = 16  # an HLC value is (wall-clock milliseconds << 16) | a logical counter

# The fields a synced credential carries to the other devices. The rest are this device's own:
# its signature counter (always 0 for a synced one), backup state (from the group's size), last
# use and where its key is kept.
SYNCED_FIELDS = (
    "credential_id", "rp_id_hash", "rp_id", "rp_name", "user_handle", "user_name",
    "user_display_name", "algorithm", "private_key", "discoverable", "cred_protect", "created",
    "large_blob", "cred_random_with_uv", "cred_random_without_uv", "cred_blob", "large_blob_key",
    "nickname",
)  # fmt: skip
# Those that change after creation (each has its own clock in the merge); the others are fixed.
MUTABLE_FIELDS = ("user_name", "user_display_name", "large_blob", "cred_blob", "nickname")
DELETED = "deleted_at"  # moving to the trash (a time) and restoring (None) is a field too
SYNCED_SETTINGS = frozenset({"large_blob_array"})  # the CTAP large-blob array, as a whole

CREATE = "create"
UPDATE = "update"
SETTING = "setting"
MEMBER = "member"
QUEUE = "INSERT INTO sync_outbox (kind, credential_id, fields, hlc, data) VALUES (?, ?, ?, ?, ?)"
SETTINGS_ID = b""  # the clock key of a synced setting: (b"", its name)
# The last writer wins, by (hybrid logical clock, device ID): the same answer on every device.
CLOCK = (
    "INSERT INTO sync_clock (credential_id, field, hlc, device_id, value) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (credential_id, field) DO UPDATE SET hlc = excluded.hlc, "
    "device_id = excluded.device_id, value = excluded.value "
    "WHERE (excluded.hlc, excluded.device_id) > (sync_clock.hlc, sync_clock.device_id)"
)


def tick(connection: sqlcipher3.Connection, now_ms: int) -> int:
    """A new hybrid logical clock value: above every value seen, and at least the wall clock."""
    last = _read(connection)
    value = max(now_ms << COUNTER_BITS, last + 1)
    _write(connection, value)
    return value


def observe(connection: sqlcipher3.Connection, value: int) -> None:
    """Another device's clock value: ours moves past it (the HLC receive rule)."""
    if value > _read(connection):
        _write(connection, value)


def queue(
    connection: sqlcipher3.Connection,
    kind: str,
    now_ms: int,
    credential_id: bytes | None = None,
    values: Mapping[str, Any] | None = None,
    data: bytes | None = None,
) -> int:
    """Queue a change made on this device; its fields' clocks move to it (a local change is
    newer than everything this device has seen). Returns its clock value."""
    hlc = tick(connection, now_ms)
    values = dict(values or {})
    if values:
        me = this_device(connection)
        key = SETTINGS_ID if credential_id is None else credential_id
        for name, value in values.items():
            write_clock(connection, key, name, hlc, me, value)
        if kind != CREATE:
            data = cbor2.dumps(values)
    connection.execute(QUEUE, (kind, credential_id, ",".join(values), hlc, data))
    return hlc


def write_clock(
    connection: sqlcipher3.Connection,
    key: bytes,
    field: str,
    hlc: int,
    device_id: str,
    value: Any,
) -> bool:
    """Record ``value`` as the field's if (hlc, device_id) is later than the recorded writer's;
    whether it won."""
    cursor = connection.execute(CLOCK, (key, field, hlc, device_id, cbor2.dumps(value)))
    return bool(cursor.rowcount)


def this_device(connection: sqlcipher3.Connection) -> str:
    found = connection.execute("SELECT device_id FROM sync_devices WHERE this_device").fetchone()
    return "" if found is None else str(found[0])


def sync_set_up(connection: sqlcipher3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM sync_devices WHERE this_device").fetchone() is not None


def _read(connection: sqlcipher3.Connection) -> int:
    found = connection.execute("SELECT value FROM settings WHERE name = ?", (HLC_SETTING,))
    row = found.fetchone()
    return 0 if row is None else int.from_bytes(bytes(row[0]), "big")


def _write(connection: sqlcipher3.Connection, value: int) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
        (HLC_SETTING, value.to_bytes(8, "big")),
    )
