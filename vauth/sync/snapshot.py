"""Snapshots: everything one member holds, so that a device that joins late starts from it
instead of replaying every segment ever written.

A snapshot carries every synced credential with the clock of each changeable field, the synced
settings with theirs, and, for each device, the last of its segments the writer had applied
(number and hash). Because each field merges by last writer wins, taking a snapshot is the same
as having merged the segments it covers: the joining device applies it, sets its markers to the
snapshot's, and goes on merging segments from there, checking their chain as usual.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlcipher3

from vauth.ctap.credential import SignCountPolicy
from vauth.sync import membership
from vauth.sync.merge import FIXED_FIELDS, REGISTERS, BadEntry, checked, shared
from vauth.vault import outbox

STATE = "state"
_SELECT = (
    f"SELECT {', '.join(FIXED_FIELDS)} FROM credentials WHERE synced "  # noqa: S608
    "ORDER BY credential_id"
)


def take(connection: sqlcipher3.Connection, group_id: str) -> dict[str, Any]:
    """This device's view of the group, as one entry."""
    credentials = []
    for row in connection.execute(_SELECT).fetchall():
        fixed = dict(zip(FIXED_FIELDS, row, strict=True))
        fixed["discoverable"] = bool(fixed["discoverable"])
        clocks = outbox.read_clocks(connection, fixed["credential_id"])
        credentials.append({"f": fixed, "c": {n: list(c) for n, c in clocks.items()}})
    settings = outbox.read_clocks(connection, outbox.SETTINGS_ID)
    markers = {
        m.device_id: [m.last_seq, m.last_hash]
        for m in membership.members(connection).values()
        if m.last_hash is not None
    }
    return {
        "k": STATE,
        "credentials": credentials,
        "settings": {n: list(c) for n, c in settings.items()},
        "markers": markers,
        "members": membership.roster(connection, group_id),
    }


def apply(
    connection: sqlcipher3.Connection, state: dict[str, Any], me: str, actor: str, at: int
) -> list[bytes]:
    """Take a snapshot on a device that has applied nothing yet; the credentials it brought."""
    if state.get("k") != STATE:
        raise BadEntry("a snapshot does not hold the group's state")
    membership.apply_roster(connection, state.get("members"), me)
    backed_up = shared(connection)
    brought = []
    for item in state.get("credentials") or []:
        fixed = checked(item.get("f") if isinstance(item, dict) else None, FIXED_FIELDS)
        credential_id = fixed.get("credential_id")
        if not isinstance(credential_id, bytes) or len(fixed) != len(FIXED_FIELDS):
            raise BadEntry("a snapshot holds a credential without its fixed fields")
        clocks = outbox.read_clocks(connection, credential_id)
        outbox.last_writer_wins(clocks, _clocks(item.get("c"), REGISTERS))
        outbox.write_clocks(connection, credential_id, clocks)
        values = {name: clocks[name][2] if name in clocks else None for name in REGISTERS}
        checked(values, REGISTERS)
        deleted_by = None if values[outbox.DELETED] is None else actor
        inserted = connection.execute(
            f"INSERT OR IGNORE INTO credentials ({', '.join((*FIXED_FIELDS, *REGISTERS))}, "  # noqa: S608
            "deleted_by, sign_count_policy, backup_state, sign_count, backup_eligible, synced, "
            f"sealed) VALUES ({', '.join('?' for _ in (*FIXED_FIELDS, *REGISTERS))}, "
            "?, ?, ?, 0, 1, 1, 0)",
            (
                *fixed.values(),
                *values.values(),
                deleted_by,
                SignCountPolicy.ZERO.value,
                backed_up,
            ),
        )
        if not inserted.rowcount:
            continue  # held already (its clocks merged above)
        connection.execute(
            "INSERT INTO audit (at, ceremony, rp_id, credential_id, outcome, actor, detail) "
            "VALUES (?, 'create', ?, ?, 'ok', ?, 'Brought by sync (from a snapshot).')",
            (at, fixed["rp_id"], credential_id, actor),
        )
        brought.append(credential_id)
    settings = outbox.read_clocks(connection, outbox.SETTINGS_ID)
    won = outbox.last_writer_wins(settings, _clocks(state.get("settings"), outbox.SYNCED_SETTINGS))
    outbox.write_clocks(connection, outbox.SETTINGS_ID, settings)
    for name in won:
        connection.execute(
            "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, settings[name][2])
        )
    markers = state.get("markers")
    if not isinstance(markers, dict):
        raise BadEntry("a snapshot does not say which segments it covers")
    for device_id, marker in markers.items():
        if device_id == me:
            continue
        if not (isinstance(marker, list) and len(marker) == 2 and isinstance(marker[0], int)):
            raise BadEntry("a snapshot's marker is malformed")
        connection.execute(
            "UPDATE sync_devices SET last_seq = ?, last_hash = ? WHERE device_id = ? "
            "AND last_seq < ?",
            (marker[0], bytes(marker[1]), device_id, marker[0]),
        )
    return brought


def _clocks(raw: object, names: Collection[str]) -> dict[str, outbox.Clock]:
    if not isinstance(raw, dict):
        raise BadEntry("a snapshot's clocks are malformed")
    found: dict[str, outbox.Clock] = {}
    for name, clock in raw.items():
        if name not in names:
            continue
        if not (isinstance(clock, list) and len(clock) == 3 and isinstance(clock[0], int)):
            raise BadEntry("a snapshot's clock is malformed")
        found[name] = (clock[0], str(clock[1]), clock[2])
    return found
