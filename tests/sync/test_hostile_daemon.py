"""Issue 19, findings 2-4, against a real `vauth serve` with a real vault: a hostile file in the
sync folder costs the daemon's merge under 1 s and under 10 MiB of resident memory (its peak,
measured by the kernel: /proc/PID/status VmHWM, reset through /proc/PID/clear_refs), never
blocks `vauth sync status`, and a named pipe in join/ does not keep SIGTERM from stopping the
daemon within 3 s. tests/sync/test_hostile_files.py does the same on the library."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sync.computers import Computer, eventually
from tests.sync.conftest import Device, register
from tests.sync.test_hostile_files import KINDS, junk, make_hostile

MIB = 1 << 20


def memory(pid: int, field: str) -> int:
    """A field of /proc/PID/status (VmRSS, VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


def reset_peak(pid: int) -> None:
    """The kernel forgets the process's peak resident size (proc(5): clear_refs, 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class Scene:
    """A daemon (a) with a real vault in a group with b (the library, in this process)."""

    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "Sync"
        self.folder.mkdir()
        self.a = Computer(tmp_path, "a").start()
        assert self.a.daemon is not None
        self.pid = self.a.daemon.process.pid
        self.a.call("sync.init", folder=str(self.folder), deviceName="a")
        self.b = Device(tmp_path / "b")
        request = self.b.sync.request_join(self.folder, "b")
        self.a.call("sync.approve", deviceId=request.device_id, fingerprint=request.fingerprint)
        self.b.sync.merge()
        assert self.b.sync.status().joined
        self.b_id = request.device_id
        eventually(lambda: self.status()["merges"] >= 1, 20, "a first merge")

    def status(self) -> dict[str, Any]:
        return self.a.call("sync.status")  # type: ignore[no-any-return]

    def merged_after(
        self, work: Any, done: Any = None, timeout: float = 20
    ) -> tuple[dict[str, Any], float]:
        """Run ``work`` and wait for the daemon's merges (its watcher sees the change) until
        ``done(status)``; the status, and the longest of the merges meanwhile."""
        before = self.status()["merges"]
        work()

        def finished() -> bool:
            status = self.status()
            return status["merges"] > before and (done is None or done(status))

        eventually(finished, timeout, "a merge")
        status = self.status()
        merges = status["merges"] - before
        return status, max(status["recentMergeSeconds"][-merges:])

    def close(self) -> None:
        self.a.stop()
        self.b.close()


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    made = Scene(tmp_path)
    yield made
    made.close()


def places(scene: Scene) -> dict[str, Path]:
    root = scene.folder / "vauth"
    seq = scene.b.sync.status().devices
    [b] = [d for d in seq if d.this_device]
    return {
        "join request": root / "join" / "0123456789abcdef0123.json",
        "a member's next segment": root
        / "devices"
        / scene.b_id
        / f"seg-{b.last_seq + 1:010d}.vseg",
        "a key envelope": root / "keys" / f"99-{scene.b_id}" / "x.vkey",
    }


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "socket"])
@pytest.mark.parametrize("place", ["join request", "a member's next segment", "a key envelope"])
def test_a_hostile_file_costs_the_daemons_merge_under_a_second_and_10_mib(
    place: str, kind: str, scene: Scene
) -> None:
    path = places(scene)[place]
    if place == "a key envelope":  # where the daemon's own envelope would be
        path = path.with_name(f"{scene.a.call('sync.status')['deviceId']}.vkey")
    if not path.parent.exists():
        scene.merged_after(lambda: path.parent.mkdir(parents=True))
    reset_peak(scene.pid)
    before = memory(scene.pid, "VmRSS")

    def refused(status: dict[str, Any]) -> bool:
        return any(r["path"] == str(path) for r in status["refused"])

    _, took = scene.merged_after(lambda: make_hostile(path, kind), refused)
    peak = memory(scene.pid, "VmHWM") - before
    print(f"daemon, {place}, {kind}: merge {took * 1000:.0f} ms, peak +{peak / MIB:.1f} MiB")
    assert took < 1.0 and peak < 10 * MIB, (took, peak / MIB)
    # the daemon goes on: a change of b's arrives (b takes away what stood in its way)
    register(scene.b, "bob")
    scene.b.sync.merge()
    scene.b.sync.publish()
    eventually(
        lambda: any(c["userName"] == "bob" for c in scene.a.call("credentials.list")), 20, "bob"
    )


def test_a_named_pipe_blocks_neither_status_nor_sigterm(scene: Scene) -> None:
    pipe = scene.folder / "vauth" / "join" / "0123456789abcdef0123.json"
    if not pipe.parent.exists():
        scene.merged_after(lambda: pipe.parent.mkdir(parents=True))

    def refused(status: dict[str, Any]) -> bool:
        return any(r["path"] == str(pipe) for r in status["refused"])

    status, _ = scene.merged_after(lambda: make_hostile(pipe, "named pipe"), refused)
    [refusal] = [r for r in status["refused"] if r["path"] == str(pipe)]
    assert "named pipe" in refusal["reason"]
    started = time.monotonic()
    shown = scene.a.cli("sync", "status")
    assert time.monotonic() - started < 5
    assert "it is a named pipe, not a file" in shown.stdout
    assert scene.a.daemon is not None
    process = scene.a.daemon.process
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(10)
    took = time.monotonic() - started
    print(f"SIGTERM to exit with a named pipe in join/: {took:.2f} s")
    assert took < 3 and process.returncode == 0


def test_five_thousand_junk_entries_cost_the_daemon_under_half_a_second_per_merge(
    scene: Scene,
) -> None:
    scene.a.stop()  # the junk arrives while the daemon is down: its first merge judges it all
    junk(scene.folder, 5000)
    scene.a.start()
    eventually(lambda: scene.status()["merges"] >= 1, 120, "the first merge")
    [first] = scene.status()["recentMergeSeconds"][:1]
    later, took = scene.merged_after(lambda: (scene.folder / "vauth" / "stray").write_text("x"))
    print(
        f"daemon, 5,000 junk entries: first merge {first:.2f} s, then {took:.3f} s; "
        f"{later['refusedTotal']} refused, {len(later['refused'])} kept"
    )
    assert took < 0.5
    assert len(later["refused"]) <= 100 and later["refusedTotal"] >= 5000
    assert scene.a.daemon is not None
    logged = [line for line in scene.a.daemon.log if "sync: refused" in line]
    assert len(logged) <= 21  # each logged once, 20 by name, the rest counted in one line
    scene.merged_after(lambda: (scene.folder / "vauth" / "stray").write_text("y"))
    assert len([line for line in scene.a.daemon.log if "sync: refused" in line]) <= 22
