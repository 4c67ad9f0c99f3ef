"""The daemon's sync runner (vauth/app/syncing.py): when it merges and publishes.

The engine here is a recording stand-in for ``vauth.sync.Sync`` (the library is tested on its
own); the folder, the file watcher (watchfiles/inotify) and the threads are real."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vauth.app.syncing import SyncRunner


@dataclass
class Report:
    applied: int = 0
    refused: list[Any] = field(default_factory=list)
    changed_ids: list[bytes] = field(default_factory=list)


class RecordingEngine:
    """Counts merges and publishes, and the threads they ran on."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.reads = 0  # how often the runner asked whether sync is set up
        self.merges: list[float] = []
        self.publishes: list[float] = []
        self.threads: set[int] = set()
        self.fail_merge = 0

    @property
    def configured(self) -> bool:
        self.reads += 1
        return self.folder is not None

    def merge(self) -> Report:
        self.threads.add(threading.get_ident())
        self.merges.append(time.monotonic())
        if self.fail_merge:
            self.fail_merge -= 1
            raise RuntimeError("disk on fire")
        return Report(applied=1)

    def publish(self) -> int:
        self.threads.add(threading.get_ident())
        self.publishes.append(time.monotonic())
        return 1


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    def start(engine: RecordingEngine, **kwargs: Any) -> SyncRunner:
        runner = SyncRunner(lambda: engine, **kwargs)  # type: ignore[arg-type, return-value]
        tasks.append(asyncio.create_task(runner.run(stop)))
        return runner

    yield start
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def test_a_file_arriving_in_the_folder_is_merged_promptly(
    tmp_path: Path, running: Callable[..., SyncRunner]
) -> None:
    engine = RecordingEngine(tmp_path)
    running(engine, poll_s=60)
    await until(lambda: len(engine.merges) == 1)  # the catch-up merge at start
    (tmp_path / "vauth").mkdir()
    (tmp_path / "vauth" / "seg-0000000001.vseg").write_bytes(b"x")
    took = await until(lambda: len(engine.merges) == 2, timeout=3)
    assert took < 2.0  # the watcher, not the 60 s poll
    assert threading.get_ident() not in engine.threads  # off the event loop


async def test_syncthing_temporaries_do_not_cause_a_merge(
    tmp_path: Path, running: Callable[..., SyncRunner]
) -> None:
    engine = RecordingEngine(tmp_path)
    running(engine, poll_s=60)
    await until(lambda: len(engine.merges) == 1)
    (tmp_path / ".syncthing.seg-0000000001.vseg.tmp").write_bytes(b"half")
    await asyncio.sleep(1.0)
    assert len(engine.merges) == 1


async def test_a_burst_of_local_changes_is_published_once(
    tmp_path: Path, running: Callable[..., SyncRunner]
) -> None:
    engine = RecordingEngine(tmp_path)
    runner = running(engine, poll_s=60, debounce_s=0.3)
    await until(lambda: len(engine.merges) == 1 and len(engine.publishes) == 1)  # catch-up
    for _ in range(5):
        runner.changed_locally()
        await asyncio.sleep(0.02)
    await until(lambda: len(engine.publishes) >= 2)
    await asyncio.sleep(0.6)
    assert len(engine.publishes) == 2


async def test_without_the_watcher_the_poll_still_merges(
    tmp_path: Path, running: Callable[..., SyncRunner], monkeypatch: pytest.MonkeyPatch
) -> None:
    import vauth.app.syncing

    def broken(*_a: Any, **_k: Any) -> Any:
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(vauth.app.syncing.watchfiles, "awatch", broken)
    engine = RecordingEngine(tmp_path)
    running(engine, poll_s=0.3)
    await until(lambda: len(engine.merges) >= 3, timeout=5)
    assert len(engine.publishes) >= 2  # the poll publishes too


async def test_a_failing_merge_is_logged_and_the_runner_goes_on(
    tmp_path: Path, running: Callable[..., SyncRunner], caplog: pytest.LogCaptureFixture
) -> None:
    engine = RecordingEngine(tmp_path)
    engine.fail_merge = 3
    runner = running(engine, poll_s=0.2)
    await until(lambda: runner.last_error is not None)
    assert runner.last_error is not None and "see the daemon's log" in runner.last_error
    # the next merge works: status no longer shows the failure as the last one
    await until(lambda: len(engine.merges) >= 4 and runner.last_error is None)
    logged = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "merging other devices' changes failed" in r.message
    ]
    assert len(logged) == 1  # once, not at each of the three polls it failed


async def test_nothing_runs_until_sync_is_set_up(
    tmp_path: Path, running: Callable[..., SyncRunner]
) -> None:
    engine = RecordingEngine(None)
    runner = running(engine, poll_s=0.1)
    await asyncio.sleep(0.4)
    assert engine.merges == [] and engine.publishes == []
    engine.folder = tmp_path  # what `vauth sync init` does
    runner.changed_locally()
    await until(lambda: engine.merges and engine.publishes)


class UnreadableEngine(RecordingEngine):
    """Sync settings that cannot be read (the vault's file deleted under the daemon, say)."""

    @property
    def configured(self) -> bool:
        self.reads += 1
        raise RuntimeError("no such table: settings")


@pytest.mark.parametrize("state", ["not set up", "settings unreadable"])
async def test_an_idle_or_failing_runner_sleeps_and_logs_the_failure_once(
    state: str,
    tmp_path: Path,
    running: Callable[..., SyncRunner],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing to merge or publish (sync not set up, or its settings unreadable): the runner
    looks again at each poll or command, not in a loop, and says what fails once."""
    engine = RecordingEngine(None) if state == "not set up" else UnreadableEngine(tmp_path)
    runner = running(engine, poll_s=0.2)
    await asyncio.sleep(0.3)  # the first poll has come round
    await runner.call(lambda _engine: None)  # a command (`vauth sync devices`) wakes it
    reads, cpu, started = engine.reads, time.process_time(), time.monotonic()
    await asyncio.sleep(2.0)
    used, took = time.process_time() - cpu, time.monotonic() - started
    print(f"{state}: {engine.reads - reads} looks, {used:.3f} s of CPU in {took:.1f} s")
    assert engine.reads - reads <= took / 0.2 + 3  # one a poll (a busy loop makes thousands)
    assert used < 0.5
    assert engine.merges == [] and engine.publishes == []
    failures = [r for r in caplog.records if "cannot read the sync settings" in r.getMessage()]
    assert len(failures) == (0 if state == "not set up" else 1)
    assert (runner.last_error is None) == (state == "not set up")


async def test_a_merge_does_not_wait_for_a_pending_publish(
    tmp_path: Path, running: Callable[..., SyncRunner]
) -> None:
    engine = RecordingEngine(tmp_path)
    runner = running(engine, poll_s=60, debounce_s=3.0)
    await until(lambda: len(engine.merges) == 1)
    await asyncio.sleep(0.3)
    runner.changed_locally()  # a publish is now due in 3 s
    (tmp_path / "seg-0000000001.vseg").write_bytes(b"x")
    took = await until(lambda: len(engine.merges) == 2, timeout=5)
    assert took < 1.5 and len(engine.publishes) == 1  # only the catch-up one


async def test_a_stream_of_operations_does_not_postpone_publishing(
    tmp_path: Path, running: Callable[..., SyncRunner]
) -> None:
    engine = RecordingEngine(tmp_path)
    runner = running(engine, poll_s=60, debounce_s=0.3)
    await until(lambda: len(engine.merges) == 1)
    published = len(engine.publishes)
    for _ in range(30):  # an operation every 50 ms for 1.5 s: say, a UI polling
        runner.changed_locally()
        await asyncio.sleep(0.05)
    assert len(engine.publishes) - published >= 3


class BlockedEngine(RecordingEngine):
    """A merge that never returns (a read of a folder on a disk that does not answer)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.release = threading.Event()

    def merge(self) -> Report:
        self.merges.append(time.monotonic())
        self.release.wait()
        return Report()


async def test_a_merge_that_never_returns_holds_neither_status_nor_the_loop(
    tmp_path: Path,
) -> None:
    """Issue 19, finding 3: status answers while a merge hangs, and stopping does not wait."""
    engine = BlockedEngine(tmp_path)
    runner = SyncRunner(lambda: engine, poll_s=60)  # type: ignore[arg-type, return-value]
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        await until(lambda: len(engine.merges) == 1)
        started = time.monotonic()
        assert await asyncio.wait_for(runner.peek(lambda e: e.configured), 2)
        assert time.monotonic() - started < 1
        task.cancel()  # what the daemon does on SIGTERM
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 2)
        assert not runner.lock.locked()
        assert all(t.daemon for t in threading.enumerate() if t.name == "vauth-sync")
    finally:
        engine.release.set()


STOPPING = """
import asyncio, sys, threading, time
from pathlib import Path
from vauth.app.syncing import SyncRunner

class Engine:
    configured, folder = True, Path(sys.argv[1])
    def merge(self):
        print("merging", flush=True)
        threading.Event().wait()  # never returns
    def publish(self):
        return 0

async def main():
    runner = SyncRunner(lambda: Engine(), poll_s=60)
    task = asyncio.create_task(runner.run(asyncio.Event()))
    await asyncio.sleep(1.0)
    task.cancel()

asyncio.run(main())
print("stopped", flush=True)
"""


def test_a_process_stops_although_a_merge_never_returns(tmp_path: Path) -> None:
    """The runner's thread is a daemon thread, not the loop's executor (which asyncio.run and
    the interpreter join at exit): a merge that hangs cannot keep the daemon from exiting."""
    import subprocess
    import sys

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", STOPPING, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).parents[1],
    )
    took = time.monotonic() - started
    assert result.stdout.split() == ["merging", "stopped"], result
    assert took < 3 + 1.0, took  # 1 s of it is the script's own wait
