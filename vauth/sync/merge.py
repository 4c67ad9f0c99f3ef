"""The merge rule: what another device's entry does to this vault, decided by pure functions
(no file, no vault: vauth/sync/merger.py applies their decisions through the vault's replica
API).

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
- Membership is vauth/sync/membership.py's rule.

Applying the same segments twice, or in another order across devices, therefore gives the same
values (tests/sync/test_merge.py checks it with permutations and duplicates).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from vauth.vault import outbox
from vauth.vault.outbox import DELETED, FIXED_FIELDS, REGISTERS, Clock

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
    "sealed": (bool,),
    "deleted_at": (int, type(None)),
}
# Fixed fields a creation may leave out (from a vauth older than them); the rest it must carry.
OPTIONAL_FIXED = frozenset({"sealed"})


class BadEntry(Exception):
    """An entry that does not have the shape the format says (its segment is refused)."""


def last_writer_wins(clocks: dict[str, Clock], writes: Mapping[str, Clock]) -> list[str]:
    """The rule for each register: the write with the greatest (hlc, device ID) wins.
    Updates ``clocks``; returns the registers whose value a write changed."""
    won = []
    for name, write in writes.items():
        held = clocks.get(name)
        if held is None or (write[0], write[1]) > (held[0], held[1]):
            clocks[name] = write
            won.append(name)
    return won


def checked(fields: object, names: Collection[str]) -> dict[str, Any]:
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


@dataclass
class Decision:
    """What one credential entry does here."""

    credential_id: bytes
    clocks: dict[str, Clock] | None = None  # to write (None: unchanged)
    insert: dict[str, Any] | None = None  # a new credential's fixed fields
    registers: dict[str, Any] = field(default_factory=dict)  # values after the entry
    update: list[str] = field(default_factory=list)  # registers to write
    audit: tuple[str, str] | None = None  # (change, detail) for the audit log
    rp_id: str = ""


def decide_credential(
    entry: Mapping[str, Any],
    device_id: str,
    existing: tuple[str, bool] | None,
    clocks: dict[str, Clock],
) -> Decision:
    """A create or update entry from ``device_id``, against what this vault holds of the
    credential (``existing``: its rp_id and whether it is synced) and its clocks."""
    credential_id = entry.get("id")
    hlc = entry.get("hlc")
    if not isinstance(credential_id, bytes) or not isinstance(hlc, int) or hlc < 0:
        raise BadEntry("an entry has no credential ID or clock value")
    create = entry.get("k") == outbox.CREATE
    fields = checked(entry.get("f"), (*outbox.SYNCED_FIELDS, DELETED))
    if existing is not None and not existing[1]:
        raise BadEntry("an entry names a credential that is kept on this device only")
    writes = {name: (hlc, device_id, fields[name]) for name in REGISTERS if name in fields}
    changed = last_writer_wins(clocks, writes)
    decision = Decision(credential_id, clocks if changed else None)
    decision.registers = {name: clock[2] for name, clock in clocks.items() if name in REGISTERS}
    if create and existing is None:
        required = ("rp_id", "rp_id_hash", "private_key", "algorithm")
        if any(fields.get(name) is None for name in required):
            raise BadEntry("a new credential lacks its key or relying party")
        decision.insert = {name: fields.get(name) for name in FIXED_FIELDS}
        decision.insert["credential_id"] = credential_id
        decision.rp_id = str(fields["rp_id"])
        decision.audit = ("create", "Brought by sync.")
    elif existing is not None and changed:
        decision.update = changed
        decision.rp_id = existing[0]
        if not create:
            decision.audit = _describe(changed, fields)
    return decision


def _describe(changed: list[str], fields: Mapping[str, Any]) -> tuple[str, str]:
    if changed == [DELETED]:
        if fields[DELETED] is None:
            return "restore", "Restored from the trash, by sync."
        return "delete", "Moved to the trash, by sync."
    names = ", ".join(name.replace("_", " ") for name in changed)
    return ("rename" if changed == ["nickname"] else "update"), f"Changed {names}, by sync."


def decide_setting(
    entry: Mapping[str, Any], device_id: str, clocks: dict[str, Clock]
) -> dict[str, bytes]:
    """A synced setting entry: the settings whose value it changes (``clocks`` updated)."""
    hlc, fields = entry.get("hlc"), entry.get("f")
    if not isinstance(hlc, int) or not isinstance(fields, dict):
        raise BadEntry("a setting entry has no clock value or value")
    won = {}
    for name, value in fields.items():
        if name not in outbox.SYNCED_SETTINGS or not isinstance(value, bytes):
            raise BadEntry("a setting entry names a setting that is not synced")
        if last_writer_wins(clocks, {name: (hlc, device_id, value)}):
            won[name] = value
    return won


def clocks_of(raw: object, names: Collection[str]) -> dict[str, Clock]:
    """Clocks as a snapshot carries them ({name: [hlc, device ID, value]})."""
    if not isinstance(raw, dict):
        raise BadEntry("a snapshot's clocks are malformed")
    found: dict[str, Clock] = {}
    for name, clock in raw.items():
        if name not in names:
            continue
        if not (isinstance(clock, list) and len(clock) == 3 and isinstance(clock[0], int)):
            raise BadEntry("a snapshot's clock is malformed")
        found[name] = (clock[0], str(clock[1]), clock[2])
    return found


def decide_snapshot_credential(item: object, clocks: dict[str, Clock]) -> Decision:
    """One credential of a snapshot, merged into what this vault holds (``clocks``)."""
    fixed = checked(item.get("f") if isinstance(item, dict) else None, FIXED_FIELDS)
    credential_id = fixed.get("credential_id")
    missing = set(FIXED_FIELDS) - set(fixed) - OPTIONAL_FIXED
    if not isinstance(credential_id, bytes) or missing:
        raise BadEntry("a snapshot holds a credential without its fixed fields")
    assert isinstance(item, dict)
    last_writer_wins(clocks, clocks_of(item.get("c"), REGISTERS))
    registers = {name: clocks[name][2] if name in clocks else None for name in REGISTERS}
    checked(registers, REGISTERS)
    decision = Decision(credential_id, clocks, insert=fixed, registers=registers)
    decision.rp_id = str(fixed["rp_id"])
    decision.audit = ("create", "Brought by sync (from a snapshot).")
    return decision
