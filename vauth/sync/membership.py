"""The group as this device knows it: members, group keys by epoch, and membership entries.

A member is added by the device that approved it (after both showed the same fingerprint) and
removed by any member; both travel as entries in that device's journal, so every member learns
them by merging. Removal is final: the removed device's segments after the last one the
remover had applied are refused, and the group key moves to a new epoch wrapped only for the
remaining members, so the removed device cannot read what is written after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
import sqlcipher3
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from vauth.sync.identity import DeviceDoc, device_id_of
from vauth.sync.merge import BadEntry, refresh_backup_state

ADD = "add"
REMOVE = "remove"
# Who vouched for each member: {device ID: [approver's device ID, Ed25519 signature]}. Every
# member but the group's first device has one, so a joining device can check that the device
# handing it the group key descends, approval by approval, from the first device it pinned.
CERTIFICATES = "sync.certificates"
Certificate = list[Any]


@dataclass(frozen=True)
class Member:
    device_id: str
    name: str
    sign_key: bytes
    box_key: bytes
    this_device: bool
    removed_epoch: int | None
    cutoff_seq: int | None
    last_seq: int
    last_hash: bytes | None
    last_seen: int | None

    @property
    def removed(self) -> bool:
        return self.removed_epoch is not None


_COLUMNS = (
    "device_id, name, sign_key, box_key, this_device, removed_epoch, cutoff_seq, last_seq, "
    "last_hash, last_seen"
)


def members(connection: sqlcipher3.Connection) -> dict[str, Member]:
    found = connection.execute(f"SELECT {_COLUMNS} FROM sync_devices ORDER BY device_id")  # noqa: S608
    return {
        row[0]: Member(
            row[0],
            row[1],
            bytes(row[2]),
            bytes(row[3]),
            bool(row[4]),
            row[5],
            row[6],
            row[7],
            None if row[8] is None else bytes(row[8]),
            row[9],
        )
        for row in found.fetchall()
    }


def add(connection: sqlcipher3.Connection, doc: DeviceDoc, this_device: bool = False) -> None:
    connection.execute(
        "INSERT OR IGNORE INTO sync_devices (device_id, name, sign_key, box_key, this_device) "
        "VALUES (?, ?, ?, ?, ?)",
        (doc.device_id, doc.name, doc.sign_key, doc.box_key, this_device),
    )
    refresh_backup_state(connection)


def remove(connection: sqlcipher3.Connection, device_id: str, epoch: int, cutoff: int) -> None:
    """Final, and the same wherever it is learnt first: the earliest epoch and cutoff win."""
    connection.execute(
        "UPDATE sync_devices SET removed_epoch = min(coalesce(removed_epoch, ?), ?), "
        "cutoff_seq = min(coalesce(cutoff_seq, ?), ?) WHERE device_id = ?",
        (epoch, epoch, cutoff, cutoff, device_id),
    )
    refresh_backup_state(connection)


def _certified(group_id: str, doc: DeviceDoc, by: str) -> bytes:
    fields = [group_id, doc.device_id, doc.name, doc.sign_key, doc.box_key, by]
    return b"vauth-sync-member\0" + cbor2.dumps(fields)


def certify(signing: SigningKey, approver_id: str, doc: DeviceDoc) -> Certificate:
    """The approver's signature on a new member's identity."""
    return [approver_id, signing.sign(_certified(doc.group_id, doc, approver_id)).signature]


def certificates(connection: sqlcipher3.Connection) -> dict[str, Certificate]:
    row = connection.execute(
        "SELECT value FROM settings WHERE name = ?", (CERTIFICATES,)
    ).fetchone()
    return {} if row is None else dict(cbor2.loads(bytes(row[0])))


def keep_certificate(connection: sqlcipher3.Connection, device_id: str, cert: object) -> None:
    if not (isinstance(cert, list) and len(cert) == 2 and isinstance(cert[1], bytes)):
        return
    known = certificates(connection)
    known.setdefault(device_id, cert)
    connection.execute(
        "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
        (CERTIFICATES, cbor2.dumps(known)),
    )


def vouched(
    docs: Mapping[str, DeviceDoc],
    certs: Mapping[str, Certificate],
    device_id: str,
    founder_key: bytes,
) -> bool:
    """Whether ``device_id`` descends from the group's first device (``founder_key``) through
    a chain of approvals, each signed by the member that made it."""
    seen: set[str] = set()
    current = device_id
    while current not in seen:
        seen.add(current)
        doc = docs.get(current)
        if doc is None:
            return False
        if doc.sign_key == founder_key:
            return True
        cert = certs.get(current)
        signer = docs.get(str(cert[0])) if isinstance(cert, list) and len(cert) == 2 else None
        if cert is None or signer is None:
            return False
        try:
            VerifyKey(signer.sign_key).verify(
                _certified(doc.group_id, doc, signer.device_id), bytes(cert[1])
            )
        except (BadSignatureError, TypeError, ValueError):
            return False
        current = signer.device_id
    return False


def roster_docs(entries: object) -> dict[str, DeviceDoc]:
    """The members a key envelope lists (BadEntry if malformed)."""
    if not isinstance(entries, list):
        raise BadEntry("a key envelope's member list is not a list")
    docs = {}
    for item in entries:
        doc = item.get("doc", {}) if isinstance(item, dict) else {}
        try:
            member = DeviceDoc(
                str(doc["device"]),
                str(doc["name"]),
                str(doc["group"]),
                bytes(doc["sign_key"]),
                bytes(doc["box_key"]),
            )
        except (KeyError, TypeError, ValueError):
            raise BadEntry("a key envelope lists a member without its keys") from None
        if device_id_of(member.sign_key) != member.device_id:
            raise BadEntry("a key envelope lists a member under another device's ID")
        docs[member.device_id] = member
    return docs


def roster_certificates(entries: object) -> dict[str, Certificate]:
    if not isinstance(entries, list):
        return {}
    return {
        str(item["doc"]["device"]): item["cert"]
        for item in entries
        if isinstance(item, dict) and isinstance(item.get("cert"), list)
        and isinstance(item.get("doc"), dict) and "device" in item["doc"]
    }  # fmt: skip


def keys(connection: sqlcipher3.Connection) -> dict[int, bytes]:
    rows = connection.execute("SELECT epoch, key FROM sync_keys").fetchall()
    return {int(epoch): bytes(key) for epoch, key in rows}


def add_keys(connection: sqlcipher3.Connection, new: Mapping[int, bytes]) -> None:
    for epoch, key in new.items():
        connection.execute(
            "INSERT OR IGNORE INTO sync_keys (epoch, key) VALUES (?, ?)", (epoch, key)
        )


def roster(connection: sqlcipher3.Connection, group_id: str) -> list[dict[str, Any]]:
    """The members, as a key envelope carries them to a new member."""
    certs = certificates(connection)
    return [
        {
            "doc": {
                "device": m.device_id,
                "name": m.name,
                "group": group_id,
                "sign_key": m.sign_key,
                "box_key": m.box_key,
            },
            "removed_epoch": m.removed_epoch,
            "cutoff": m.cutoff_seq,
            "cert": certs.get(m.device_id),
        }
        for m in members(connection).values()
    ]


def apply_roster(connection: sqlcipher3.Connection, entries: object, me: str) -> None:
    docs = roster_docs(entries)
    certs = roster_certificates(entries)
    for item in entries if isinstance(entries, list) else []:
        member = docs[str(item["doc"]["device"])]
        add(connection, member, member.device_id == me)
        if member.device_id in certs:
            keep_certificate(connection, member.device_id, certs[member.device_id])
        if item.get("removed_epoch") is not None:
            remove(connection, member.device_id, int(item["removed_epoch"]), int(item["cutoff"]))


def apply_entry(connection: sqlcipher3.Connection, entry: Mapping[str, Any]) -> None:
    """A membership entry from a member's journal."""
    op = entry.get("op")
    if op == ADD:
        doc = DeviceDoc.parse(entry.get("doc"))
        if doc is None:
            raise BadEntry("a membership entry adds a device whose identity does not verify")
        add(connection, doc)
        keep_certificate(connection, doc.device_id, entry.get("cert"))
    elif op == REMOVE:
        device, epoch, cutoff = entry.get("device"), entry.get("epoch"), entry.get("cutoff")
        if not (isinstance(device, str) and isinstance(epoch, int) and isinstance(cutoff, int)):
            raise BadEntry("a membership entry removes a device without saying which")
        remove(connection, device, epoch, cutoff)
    else:
        raise BadEntry("a membership entry does neither add nor remove")
