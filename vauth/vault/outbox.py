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
EPOCH_SETTING = "sync.epoch"  # the group key this device writes under (see epoch_name)
DEFAULT_SETTING = "sync.default"  # b"synced" (the default) or b"device": for new passkeys
COUNTER_BITS = 16  # an HLC value is (wall-clock milliseconds << 16) | a logical counter

# The fields a synced credential carries to the other devices. The rest are this device's own:
# its signature counter (always 0 for a synced one), backup state (from the group's size), last
# use and where its key is kept.
SYNCED_FIELDS = (
    "credential_id", "rp_id_hash", "rp_id", "rp_name", "user_handle", "user_name",
    "user_display_name", "algorithm", "private_key", "discoverable", "cred_protect", "created",
    "large_blob", "cred_random_with_uv", "cred_random_without_uv", "cred_blob", "large_blob_key",
    "nickname", "sealed",
)  # fmt: skip
# Those that change after creation (each has its own clock in the merge); the others are fixed.
MUTABLE_FIELDS = ("user_name", "user_display_name", "large_blob", "cred_blob", "nickname")
DELETED = "deleted_at"  # moving to the trash (a time) and restoring (None) is a field too
FIXED_FIELDS = tuple(f for f in SYNCED_FIELDS if f not in MUTABLE_FIELDS)
REGISTERS = (*MUTABLE_FIELDS, DELETED)
SYNCED_SETTINGS = frozenset({"large_blob_array"})  # the CTAP large-blob array, as a whole

CREATE = "create"
UPDATE = "update"
SETTING = "setting"
MEMBER = "member"
QUEUE = "INSERT INTO sync_outbox (kind, credential_id, fields, hlc, data) VALUES (?, ?, ?, ?, ?)"
SETTINGS_ID = b""  # the clock key of a synced setting: (b"", its name)
READ_CLOCKS = "SELECT clocks FROM sync_clock WHERE credential_id = ?"
WRITE_CLOCKS = "INSERT OR REPLACE INTO sync_clock (credential_id, clocks) VALUES (?, ?)"
Clock = tuple[int, str, Any]  # (hybrid logical clock, device ID, value)


def epoch_name(number: int, author: str) -> bytes:
    """How EPOCH_SETTING names a group key (its number and the device that made it)."""
    return f"{number} {author}".encode()


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
        clocks = read_clocks(connection, key)  # a local change is newer than all it has seen
        clocks.update({name: (hlc, me, value) for name, value in values.items()})
        write_clocks(connection, key, clocks)
        if kind != CREATE:
            data = cbor2.dumps(values)
    connection.execute(QUEUE, (kind, credential_id, ",".join(values), hlc, data))
    return hlc


def read_clocks(connection: sqlcipher3.Connection, key: bytes) -> dict[str, Clock]:
    row = connection.execute(READ_CLOCKS, (key,)).fetchone()
    if row is None:
        return {}
    return {name: (int(c[0]), str(c[1]), c[2]) for name, c in cbor2.loads(bytes(row[0])).items()}


def write_clocks(
    connection: sqlcipher3.Connection, key: bytes, clocks: Mapping[str, Clock]
) -> None:
    encoded = {name: list(clock) for name, clock in clocks.items()}
    connection.execute(WRITE_CLOCKS, (key, cbor2.dumps(encoded)))


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
