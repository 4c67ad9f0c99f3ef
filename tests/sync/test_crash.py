"""kill -9 of a process in the middle of a merge, on a real SQLCipher vault: nothing is lost and
nothing is applied twice (issue 13: "transactionally"). Each segment and its "applied up to"
marker are one transaction, so a restarted merge goes on from the last one committed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.sync.conftest import PASSPHRASE, contents, pair, register, rename
from vauth.sync import Sync
from vauth.vault import Vault

MERGE = """
import sys
from vauth.sync import Sync
from vauth.vault import Vault
vault = Vault.open(sys.argv[1], sys.argv[2], create=False)
print("open", flush=True)
Sync(vault).merge()
vault.close()
print("done", flush=True)
"""


def merge_until_killed(path: Path, delay: float) -> bool:
    """Run a merge in another process and kill -9 it after ``delay`` s; whether it finished."""
    process = subprocess.Popen(
        [sys.executable, "-c", MERGE, str(path), PASSPHRASE],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "open"
    time.sleep(delay)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process.returncode == 0


def applied_from_laptop(path: Path) -> int:
    vault = Vault.open(path, PASSPHRASE, create=False)
    try:
        return max(d.last_seq for d in Sync(vault).devices() if not d.this_device)
    finally:
        vault.close()


def test_kill_9_mid_merge_loses_nothing_and_applies_nothing_twice(
    make_device: Any, folder: Path
) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    made = []
    for number in range(30):
        made.append(register(a, f"user{number}").credential_id)
        rename(a, made[-1], f"renamed {number}")
        a.sync.publish()
    path = b.vault.path
    b.close()

    [own] = [d for d in a.sync.devices() if d.this_device]
    total = own.last_seq
    rng = random.Random(13)
    partial = []  # how far each killed merge had gone
    for _ in range(40):
        if merge_until_killed(path, rng.uniform(0.0, 0.08)):
            break
        partial.append(applied_from_laptop(path))
    assert any(0 < n < total for n in partial), f"no kill landed mid-merge: {partial}"
    assert partial == sorted(partial)  # a restarted merge goes on; it never goes back

    vault = Vault.open(path, PASSPHRASE, create=False)
    try:
        assert vault.integrity_check() == "ok"
        sync = Sync(vault)
        sync.merge()  # whatever the last kill left
        assert contents(vault) == contents(a.vault)
        created = vault.with_database_sync(
            lambda db: db.query(
                "SELECT credential_id, count(*) FROM audit WHERE ceremony = 'create' "
                "AND actor = 'sync:laptop' GROUP BY credential_id"
            )
        )
        assert sorted(bytes(c) for c, _ in created) == sorted(made)
        assert {n for _, n in created} == {1}  # each creation applied exactly once
        [laptop] = [d for d in sync.devices() if d.name == "laptop"]
        assert laptop.last_seq == total
        assert sync.status().refused == []
    finally:
        vault.close()
