"""Issue 19, findings 2-4, on the library: whatever someone who can write to the sync folder
leaves there (a symlink to /dev/zero, a 256 MiB sparse file, a named pipe, a directory, junk by
the thousand) costs a merge under 1 s and under 10 MiB, never blocks, and is judged once per
version and logged once (house style rule 20). tests/sync/test_hostile_daemon.py does the same
against a real `vauth serve`."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import Device, contents, pair, register
from vauth.sync import SyncError

SECONDS, MIB = 1.0, 1 << 20


def measured(work: Callable[[], Any], timeout: float = 20.0) -> tuple[float, int]:
    """(seconds, peak bytes allocated by Python) of ``work``, run in a thread of its own so
    that a read that blocks fails the test instead of hanging it."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported below
            failure.append(exc)

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        start = time.monotonic()
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout)
        took = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert not worker.is_alive(), f"still blocked after {timeout:.0f} s"
    if failure:
        raise failure[0]
    return took, peak


def timed(work: Callable[[], Any]) -> float:
    start = time.monotonic()
    work()
    return round(time.monotonic() - start, 3)


def make_hostile(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_file():
        path.unlink()
    if kind == "symlink to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "sparse 256 MiB file":
        with open(path, "wb") as out:
            out.truncate(256 * MIB)
    elif kind == "named pipe":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "socket":
        # a Unix socket's path is short (108 bytes): bind it from its own directory
        here = os.getcwd()
        os.chdir(path.parent)
        try:
            server = socket.socket(socket.AF_UNIX)
            server.bind(path.name)
            server.close()
        finally:
            os.chdir(here)
    else:
        raise AssertionError(kind)


KINDS = ["symlink to /dev/zero", "sparse 256 MiB file", "named pipe", "directory", "socket"]


def members(make_device: Any, folder: Path) -> tuple[Device, Device]:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    register(a, "alice")
    a.sync.publish()
    b.sync.merge()
    return a, b


def newest(paths: Any) -> Path:
    return sorted(paths)[-1]


def place(name: str, folder: Path, a: Device, b: Device, c: Device) -> tuple[Path, Any]:
    """Where a hostile file goes, and what reads past it (a, b: members; c asks to join)."""
    root = folder / "vauth"
    a_id, b_id = a.sync.status().device_id, b.sync.status().device_id
    seq = {d.device_id: d.last_seq for d in b.sync.devices()}[a_id]

    def member_reads(device: Device) -> Any:
        return lambda: (device.sync.merge(), device.sync.status(), device.sync.pending())

    if name == "the group document":
        return root / "group.json", lambda: _refused(lambda: c.sync.request_join(folder, "c"))
    request = c.sync.request_join(folder, "c")
    if name == "join request":
        return root / "join" / "0123456789abcdef0123.json", member_reads(a)
    if name == "a member's next segment":
        return root / "devices" / a_id / f"seg-{seq + 1:010d}.vseg", member_reads(b)
    if name == "a stranger's folder":
        return root / "devices" / "0123456789abcdef0123", member_reads(b)
    if name == "a key envelope for a member":
        return root / "keys" / f"99-{a_id}" / f"{b_id}.vkey", member_reads(b)
    a.sync.approve(request.device_id, request.fingerprint)
    if name == "a member's device document":
        return root / "devices" / a_id / "device.json", lambda: c.sync.merge()
    if name == "a member's snapshot":
        return root / "devices" / a_id / f"snap-{seq + 50:010d}.vsnap", lambda: c.sync.merge()
    if name == "the key envelope of a device joining":
        envelope = newest(root.glob(f"keys/*/{request.device_id}.vkey"))
        return envelope, lambda: c.sync.merge()
    raise AssertionError(name)


def _refused(work: Any) -> None:
    with pytest.raises(SyncError):
        work()


PLACES = [
    "the group document",
    "join request",
    "a member's next segment",
    "a stranger's folder",
    "a key envelope for a member",
    "a member's device document",
    "a member's snapshot",
    "the key envelope of a device joining",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", PLACES)
def test_a_hostile_file_costs_a_merge_under_a_second_and_10_mib(
    name: str, kind: str, make_device: Any, folder: Path
) -> None:
    a, b = members(make_device, folder)
    c = make_device("c")
    path, read_past_it = place(name, folder, a, b, c)
    make_hostile(path, kind)

    took, peak = measured(read_past_it)
    print(f"{name}, {kind}: {took * 1000:.0f} ms, {peak / MIB:.2f} MiB")
    assert took < SECONDS and peak < 10 * MIB, f"{took:.2f} s, {peak / MIB:.1f} MiB"
    # and the group goes on: what a wrote is restored by a, a passkey made now arrives, and
    # the device joining joins
    a.sync.merge()
    if name == "the group document":
        c.sync.request_join(folder, "c")
    register(a, "bob")
    a.sync.publish()
    for device in (b, c, b):
        device.sync.merge()
    assert contents(a.vault) == contents(b.vault)
    if name in PLACES[-3:]:  # c was approved
        assert c.sync.status().joined
        assert contents(c.vault) == contents(a.vault)


def junk(folder: Path, count: int) -> None:
    """``count`` entries a stranger may leave: device folders that are no member's (each with
    a device document and a first segment), join requests, key envelopes and stray files."""
    root = folder / "vauth"
    for i in range(count):
        name = f"{i:020x}"
        match i % 4:
            case 0:
                directory = root / "devices" / name
                directory.mkdir(parents=True)
                (directory / "device.json").write_text('{"type": "vauth-sync-device"}')
                (directory / "seg-0000000001.vseg").write_bytes(os.urandom(200))
            case 1:
                (root / "join").mkdir(exist_ok=True)
                (root / "join" / f"{name}.json").write_text('{"type": "vauth-sync-device"}')
            case 2:
                (root / "keys" / str(i)).mkdir(parents=True)
                (root / "keys" / str(i) / f"{name}.vkey").write_text("{}")
            case _:
                (root / "devices" / f"stray-{name}.txt").write_bytes(b"junk")


def test_five_thousand_junk_entries_cost_under_half_a_second_per_merge_after_the_first(
    make_device: Any, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = members(make_device, folder)
    junk(folder, 5000)
    caplog.set_level(logging.INFO)
    first = timed(lambda: (a.sync.merge(), a.sync.status()))
    later = [timed(lambda: (a.sync.merge(), a.sync.status())) for _ in range(3)]
    print(f"5,000 junk entries: merge and status {first:.2f} s, then {later} s")
    assert max(later) < 0.5
    # each refused file is logged once, not at every merge, and the log stays short
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == len(set(lines)) and len(lines) < 50, lines[:5]
    # what is remembered is bounded, and says how many there are
    status = a.sync.status()
    assert len(status.refused) <= 100
    # the group goes on
    register(b, "carol")
    b.sync.publish()
    a.sync.merge()
    assert contents(a.vault) == contents(b.vault)
