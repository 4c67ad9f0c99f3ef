"""A forged, altered, truncated, reordered, replayed or foreign segment is refused with a
sentence saying why, and changes nothing; a segment that has not arrived yet is waited for.
(Issue 13: "refused with a clear message and changes nothing".)"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from tests.sync.conftest import Device, contents, identity, pair, register, rename
from vauth.sync import envelope
from vauth.sync.identity import Identity
from vauth.sync.membership import Epoch, current
from vauth.vault.replica import Replica


def group_key(device: Device) -> tuple[Epoch, bytes]:
    """The group key the device writes under."""
    chosen = Replica(device.vault).run(lambda tx: current(tx.epochs(), tx.members()))
    assert chosen is not None
    return Epoch(chosen.number, chosen.author), chosen.key


def reseal(device: Device, data: bytes, signing: SigningKey | None = None, **change: Any) -> bytes:
    """The same entries, sealed again with some header fields changed (and maybe another key)."""
    _, key = group_key(device)
    header = envelope.read_header(data)
    entries = envelope.open_entries(data, key)
    signing = signing or identity(device).signing
    return envelope.seal_segment(dataclasses.replace(header, **change), entries, key, signing)


Tamper = Callable[[Device, Path, bytes], None]


def forged(device: Device, path: Path, data: bytes) -> None:
    path.write_bytes(reseal(device, data, signing=SigningKey.generate()))


def altered(device: Device, path: Path, data: bytes) -> None:
    """A ciphertext byte flipped, and signed again with the device's own key: only the AEAD
    tag can tell."""
    flipped = bytearray(data[: -envelope.SIGNATURE])
    flipped[-5] ^= 1
    path.write_bytes(bytes(flipped) + identity(device).signing.sign(bytes(flipped)).signature)


def altered_unsigned(device: Device, path: Path, data: bytes) -> None:
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(flipped))


def truncated(device: Device, path: Path, data: bytes) -> None:
    path.write_bytes(data[: len(data) // 2])


def other_group(device: Device, path: Path, data: bytes) -> None:
    path.write_bytes(reseal(device, data, group_id="00" * 16))


def wrong_number(device: Device, path: Path, data: bytes) -> None:
    """The right bytes under the next number (as if reordered)."""
    header = envelope.read_header(data)
    path.unlink()
    path.with_name(f"seg-{header.seq + 1:010d}.vseg").write_bytes(data)
    path.write_bytes(reseal(device, data, seq=header.seq + 1))


def broken_chain(device: Device, path: Path, data: bytes) -> None:
    path.write_bytes(reseal(device, data, prev=bytes(32)))


CASES: dict[str, tuple[Tamper, str]] = {
    "forged signature": (forged, "signature does not match"),
    "altered ciphertext": (altered, "does not decrypt under the group key"),
    "altered bytes": (altered_unsigned, "signature does not match"),
    "truncated": (truncated, "truncated"),
    "another group": (other_group, "another sync group"),
    "reordered": (wrong_number, "does not match its place"),
    "chain broken": (broken_chain, "does not follow the previous segment"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_segment_is_refused_and_changes_nothing(
    case: str, make_device: Any, folder: Path
) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    b.sync.merge()
    first = register(a, "alice").credential_id
    a.sync.publish()
    b.sync.merge()
    rename(a, first, "changed")
    register(a, "bob")
    a.sync.publish()
    me = a.sync.status().device_id
    segments = sorted((folder / "vauth" / "devices" / me).glob("seg-*.vseg"))
    path, good = segments[-1], segments[-1].read_bytes()
    before = contents(b.vault)
    tamper, reason = CASES[case]
    tamper(a, path, good)

    report = b.sync.merge()

    assert report.applied == 0
    assert contents(b.vault) == before
    assert [r.path for r in report.refused] == [str(path)]
    assert reason in report.refused[0].reason
    assert b.sync.status().refused == report.refused
    # The real segment, once it arrives, applies (and the refusal is gone).
    for stray in path.parent.glob("seg-*.vseg"):
        if stray.name > path.name:
            stray.unlink()
    path.write_bytes(good)
    assert b.sync.merge().applied == 2
    assert b.sync.status().refused == []


def test_a_replayed_old_segment_is_refused(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    register(a, "alice")
    a.sync.publish()
    b.sync.merge()
    me = a.sync.status().device_id
    old = sorted((folder / "vauth" / "devices" / me).glob("seg-*.vseg"))[-1]
    number = int(old.stem.split("-")[1]) + 1
    replay = old.with_name(f"seg-{number:010d}.vseg")
    shutil.copy(old, replay)
    before = contents(b.vault)
    report = b.sync.merge()
    assert contents(b.vault) == before
    assert [r.path for r in report.refused] == [str(replay)]


def test_a_gap_waits_for_the_missing_segment(make_device: Any, folder: Path) -> None:
    """Segments may arrive out of order: a later one waits, unrefused, for the one before."""
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    register(a, "alice")
    a.sync.publish()
    register(a, "bob")
    a.sync.publish()
    me = a.sync.status().device_id
    *_, second_last, last = sorted((folder / "vauth" / "devices" / me).glob("seg-*.vseg"))
    held = second_last.read_bytes()
    second_last.unlink()
    before = contents(b.vault)
    report = b.sync.merge()
    assert report.applied == 0 and report.refused == [] and contents(b.vault) == before
    second_last.write_bytes(held)
    assert b.sync.merge().applied == 2
    assert last.exists()


def test_a_segment_from_a_device_nobody_approved_is_refused(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    epoch, key = group_key(a)  # even with the group key (a removed device's, say)
    stranger = Identity.new("stranger")
    group_id = a.sync.group.need()["group"]
    header = envelope.Header(
        group_id, stranger.device_id, 1, epoch.number, envelope.GENESIS, 1, 1, epoch.author
    )
    entries = [{"k": "setting", "hlc": 1, "f": {}}]
    data = envelope.seal_segment(header, entries, key, stranger.signing)
    path = folder / "vauth" / "devices" / stranger.device_id / "seg-0000000001.vseg"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    before = contents(b.vault)
    report = b.sync.merge()
    assert contents(b.vault) == before
    assert [r.path for r in report.refused] == [str(path.parent)]  # the folder of a stranger
    assert "no member of this sync group has approved" in report.refused[0].reason
    assert stranger.device_id not in {d.device_id for d in b.sync.devices()}


@pytest.mark.parametrize(
    "entries",
    [
        [{"k": "create", "id": b"x" * 32, "hlc": 5, "f": {"rp_id": 5}}],
        [{"k": "launch missiles", "hlc": 5}],
        [{"k": "update", "id": b"x" * 32, "hlc": 5, "f": []}],
        [{"k": "member", "hlc": 5, "op": "add", "doc": {"type": "vauth-sync-device"}}],
        [{"k": "setting", "hlc": 5, "f": {"pin": b"1234"}}],
    ],
    ids=["wrong type", "unknown kind", "fields not a map", "unsigned member", "unsynced setting"],
)
def test_a_signed_segment_with_bad_entries_is_refused_whole(
    entries: list[dict[str, Any]], make_device: Any, folder: Path
) -> None:
    """Even a member's own signed segment applies all of its entries or none."""
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    register(a, "alice")
    a.sync.publish()
    me = a.sync.status().device_id
    last = sorted((folder / "vauth" / "devices" / me).glob("seg-*.vseg"))[-1]
    header = envelope.read_header(last.read_bytes())
    _, key = group_key(a)
    good = {"k": "update", "id": b"y" * 32, "hlc": 4, "f": {"nickname": "first"}}
    bad = envelope.seal_segment(
        dataclasses.replace(header, prev=envelope.file_hash(last.read_bytes()), seq=header.seq + 1),
        [good, *entries],
        key,
        identity(a).signing,
    )
    b.sync.merge()
    before = contents(b.vault)
    count_clocks = "SELECT count(*) FROM sync_clock"
    clocks = b.vault.with_database_sync(lambda db: db.query(count_clocks))
    path = last.with_name(f"seg-{header.seq + 1:010d}.vseg")
    path.write_bytes(bad)
    report = b.sync.merge()
    assert report.applied == 0 and [r.path for r in report.refused] == [str(path)]
    assert contents(b.vault) == before
    assert b.vault.with_database_sync(lambda db: db.query(count_clocks)) == clocks
