"""Issue 19, finding 5: a replication engine carries damage as faithfully as data, so a device
heals its own files from what it wrote (house style rule 20). A damaged, truncated, deleted or
planted file in a device's part of the folder delays its publishing by at most one merge and
never stops the group; the device restores what it wrote, and `vauth sync status` says what was
refused and that it is being repaired."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import Device, contents, pair, register, run


def own_segments(device: Device, folder: Path) -> list[Path]:
    me = device.sync.status().device_id
    return sorted((folder / "vauth" / "devices" / me).glob("seg-*.vseg"))


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def delete(path: Path) -> None:
    path.unlink()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "one flipped byte": flip,
    "truncated": truncate,
    "deleted": delete,
}


def with_a_passkey(make_device: Any, folder: Path) -> tuple[Device, Device]:
    """a and b in a group, a having published a passkey."""
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    register(a, "alice")
    a.sync.publish()
    return a, b


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_segment_is_restored_by_the_device_that_wrote_it(
    damage: str, make_device: Any, folder: Path
) -> None:
    a, b = with_a_passkey(make_device, folder)
    path = own_segments(a, folder)[-1]
    DAMAGE[damage](path)  # as if carried back over a's copy by the replication engine

    report = b.sync.merge()  # b cannot apply it: it waits, and says why
    if damage != "deleted":
        [refusal] = report.refused
        assert refusal.path == str(path)
        assert "laptop" in refusal.repair and "restores" in refusal.repair
    a.sync.merge()  # a notices its own segment is not what it wrote, and restores it
    assert any("restored" in note for note in a.sync.status().repairs)
    b.sync.merge()
    assert b.sync.status().refused == []
    assert contents(a.vault) == contents(b.vault)
    # and a passkey made afterwards arrives as usual
    register(a, "bob")
    a.sync.publish()
    b.sync.merge()
    assert contents(a.vault) == contents(b.vault) and run(b, b.vault.store.count()) == 2


@pytest.mark.parametrize("planted", ["junk", "another segment of a"])
def test_a_file_planted_at_the_next_number_delays_publishing_by_at_most_one_merge(
    planted: str, make_device: Any, folder: Path
) -> None:
    a, b = with_a_passkey(make_device, folder)
    b.sync.merge()
    last = own_segments(a, folder)[-1]
    number = int(last.stem.split("-")[1]) + 1
    target = last.with_name(f"seg-{number:010d}.vseg")
    target.write_bytes(b"planted" if planted == "junk" else last.read_bytes())

    register(a, "bob")
    a.sync.merge()
    a.sync.publish()  # never stopped: the planted file is replaced by what a writes
    assert a.sync.status().unpublished == 0
    b.sync.merge()
    assert contents(a.vault) == contents(b.vault) and run(b, b.vault.store.count()) == 2
