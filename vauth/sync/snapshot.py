"""Snapshots: everything one member holds, so that a device that joins late starts from it
instead of replaying every segment ever written.

A snapshot carries every synced credential with the clock of each changeable field, the synced
settings with theirs, and, for each device, the last of its segments the writer had applied
(number and hash). Because each field merges by last writer wins, taking a snapshot is the same
as having merged the segments it covers: the joining device applies it, sets its markers to the
snapshot's, and goes on merging segments from there, checking their chain as usual. (The roster
and the group keys come with the joining device's key envelope, not with a snapshot.)
"""

from __future__ import annotations

from typing import Any

from vauth.sync.merge import BadEntry, clocks_of, decide_snapshot_credential, last_writer_wins
from vauth.vault import outbox
from vauth.vault.replica import ReplicaTx

STATE = "state"


def take(tx: ReplicaTx) -> dict[str, Any]:
    """This device's view of the group, as one entry."""
    credentials = []
    for fixed in tx.synced_credentials():
        clocks = tx.clocks(fixed["credential_id"])
        credentials.append({"f": fixed, "c": {n: list(c) for n, c in clocks.items()}})
    settings = tx.clocks(outbox.SETTINGS_ID)
    markers = {
        m.device_id: [m.last_seq, m.last_hash]
        for m in tx.members().values()
        if m.last_hash is not None
    }
    return {
        "k": STATE,
        "credentials": credentials,
        "settings": {n: list(c) for n, c in settings.items()},
        "markers": markers,
    }


def covered(view: object) -> int:
    """How many segments a snapshot covers in all (the most complete one is taken)."""
    markers = view.get("markers") if isinstance(view, dict) else None
    if not isinstance(markers, dict):
        return 0
    return sum(
        m[0] for m in markers.values() if isinstance(m, list) and m and isinstance(m[0], int)
    )


def apply(tx: ReplicaTx, view: dict[str, Any], me: str, actor: str, at: int) -> list[bytes]:
    """Take a snapshot on a device that has applied nothing yet; the credentials it brought."""
    if view.get("k") != STATE:
        raise BadEntry("a snapshot does not hold the group's state")
    backed_up = tx.backed_up()
    brought = []
    for item in view.get("credentials") or []:
        fixed = item.get("f") if isinstance(item, dict) else None
        credential_id = fixed.get("credential_id") if isinstance(fixed, dict) else None
        clocks = tx.clocks(credential_id) if isinstance(credential_id, bytes) else {}
        decision = decide_snapshot_credential(item, clocks)
        tx.set_clocks(decision.credential_id, clocks)
        deleted_by = None if decision.registers.get(outbox.DELETED) is None else actor
        assert decision.insert is not None
        if not tx.insert_credential(decision.insert, decision.registers, deleted_by, backed_up):
            continue  # held already (its clocks merged above)
        change, detail = decision.audit or ("create", "Brought by sync.")
        tx.audit(at, change, decision.rp_id, decision.credential_id, actor, detail)
        brought.append(decision.credential_id)
    settings = tx.clocks(outbox.SETTINGS_ID)
    won = last_writer_wins(settings, clocks_of(view.get("settings"), outbox.SYNCED_SETTINGS))
    tx.set_clocks(outbox.SETTINGS_ID, settings)
    for name in won:
        tx.set_setting(name, settings[name][2])
    markers = view.get("markers")
    if not isinstance(markers, dict):
        raise BadEntry("a snapshot does not say which segments it covers")
    for device_id, marker in markers.items():
        if device_id == me:
            continue
        if not (
            isinstance(marker, list)
            and len(marker) == 2
            and isinstance(marker[0], int)
            and isinstance(marker[1], bytes)
        ):
            raise BadEntry("a snapshot's marker is malformed")
        tx.raise_marker(str(device_id), marker[0], marker[1])
    return brought
