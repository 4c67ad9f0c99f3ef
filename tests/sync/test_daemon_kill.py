"""kill -9 of a daemon in the middle of merging (issue 13): after a restart it has every passkey
exactly once, refuses nothing and its vault is sound -- a merge applies a segment and its "applied
up to" marker in one transaction, so an interrupted one leaves nothing half-done."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from tests.support import PASSPHRASE, creation
from tests.sync.computers import Computer, eventually
from vauth.app.syncing import DEBOUNCE_S
from vauth.transport.unix_socket import Client
from vauth.vault import Vault

ROUNDS, PER_ROUND = 40, 4
PASSKEYS = ROUNDS * PER_ROUND


async def _create_many(computer: Computer) -> None:
    """PASSKEYS passkeys in ROUNDS bursts, a publish apart: as many segments for B to merge,
    each applied in its own transaction."""
    assert computer.daemon is not None
    client = await Client.connect(computer.daemon.socket)
    try:
        for i in range(PASSKEYS):
            reply = await client.call(
                "create", origin="https://example.com", options=creation(f"user{i}")
            )
            assert reply["ok"], reply
            if i % PER_ROUND == PER_ROUND - 1:
                await asyncio.sleep(DEBOUNCE_S + 0.1)
    finally:
        await client.close()


def stored(computer: Computer) -> int:
    """How many passkeys ``computer``'s vault holds, read from its files (daemon stopped)."""
    vault = Vault.open(computer.vault, PASSPHRASE)
    try:
        rows = vault.with_database_sync(lambda db: db.query("SELECT count(*) FROM credentials"))
        return int(rows[0][0])
    finally:
        vault.close()


def test_kill_9_mid_merge_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    folder = tmp_path / "Sync"
    folder.mkdir()
    a = Computer(tmp_path, "a").start()
    b = Computer(tmp_path, "b").start()
    try:
        a.call("sync.init", folder=str(folder), deviceName="a")
        request = b.call("sync.join", folder=str(folder), deviceName="b")
        a.call("sync.approve", deviceId=request["deviceId"], fingerprint=request["fingerprint"])
        eventually(lambda: b.call("sync.status")["joined"], 20, "the join")
        b.stop()

        asyncio.run(_create_many(a))
        eventually(lambda: a.call("sync.status")["unpublished"] == 0, 20, "A to publish")

        # B's catch-up merge starts as it becomes ready: kill it a little later each time until
        # a kill lands between two of A's segments (some passkeys applied, not all)
        counts = []
        delay = 0.0
        while not counts or counts[-1] == 0:
            b.start()
            time.sleep(delay)
            assert b.daemon is not None
            b.daemon.process.send_signal(signal.SIGKILL)
            b.daemon.process.wait(10)
            counts.append(stored(b))
            delay += 0.02
        assert 0 < counts[-1] < PASSKEYS, f"no kill landed mid-merge: {counts}"
        print(f"passkeys on B at each kill: {counts} of {PASSKEYS}")

        b.start()
        want = {f"user{i}" for i in range(PASSKEYS)}

        def users() -> list[str]:
            return [c["userName"] for c in b.call("credentials.list")]

        eventually(lambda: set(users()) == want, 30, "every passkey on B")
        assert sorted(users()) == sorted(want)  # each exactly once
        assert b.call("sync.status")["refused"] == []
    finally:
        a.stop()
        b.stop()
