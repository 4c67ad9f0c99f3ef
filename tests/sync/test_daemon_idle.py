"""A real `vauth serve` whose sync has nothing to do sleeps: with sync not set up, or with sync
settings it cannot read, its runner looks again at the next command or poll, not in a loop (it
spun at about 85% of a core before), and logs a failure once. The CPU time is the kernel's
(/proc/PID/stat, utime + stime)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support import PASSPHRASE
from tests.sync.computers import Computer
from vauth.vault import Vault
from vauth.vault.replica import Replica

WINDOW_S = 3.0


def cpu_seconds(pid: int) -> float:
    """User and system time the process used so far (proc(5): fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def damage_sync_settings(vault: Path) -> None:
    """The vault's sync state, in a form no vauth reads (say, written by a broken tool)."""
    opened = Vault.open(vault, PASSPHRASE)
    try:
        Replica(opened).run(lambda tx: tx.set_setting("sync.state", b"\xff\x00"))
    finally:
        opened.close()


@pytest.mark.parametrize("state", ["not set up", "settings unreadable"])
def test_an_idle_or_failing_sync_costs_the_daemon_no_cpu(state: str, tmp_path: Path) -> None:
    computer = Computer(tmp_path, "a")
    if state == "settings unreadable":
        computer.start().stop()  # makes the vault
        damage_sync_settings(computer.vault)
    computer.start()
    try:
        assert computer.daemon is not None
        pid = computer.daemon.process.pid
        shown = computer.cli("sync", "devices", check=False)  # a command wakes the runner
        assert shown.returncode != 0 and "Traceback" not in shown.stderr
        time.sleep(0.5)
        before, started = cpu_seconds(pid), time.monotonic()
        time.sleep(WINDOW_S)
        used, took = cpu_seconds(pid) - before, time.monotonic() - started
        print(f"daemon, sync {state}: {used:.2f} s of CPU in {took:.1f} s")
        assert used < 0.1 * took, used
        failures = [line for line in computer.daemon.log if "cannot read the sync settings" in line]
        assert len(failures) == (0 if state == "not set up" else 1), failures
    finally:
        computer.stop()
