"""Signature counter blocks sized by use: a credential signing many times a second reserves
bigger blocks, so its ceremonies stop waiting for the durable write of the next one (what set
the daemon's p99 at 64 clients); an idle one goes back to small blocks, so that a crash skips
few values. Values handed out stay consecutive, and the disk stays ahead of them."""

from __future__ import annotations

import asyncio

from vauth.vault import Vault
from vauth.vault.store import COUNTER_RESERVATION, COUNTER_RESERVATION_MAX


def rows_changed(vault: Vault) -> int:
    """SQLite's count of rows written by this connection so far: one per reservation here."""
    return int(vault.with_database_sync(lambda db: db.query("SELECT total_changes()"))[0][0])


def on_disk(vault: Vault) -> int:
    """Where the authenticator-wide counter's reservation stands on disk."""
    found = vault.with_database_sync(
        lambda db: db.query("SELECT value FROM settings WHERE name = 'global_sign_count'")
    )
    return int.from_bytes(found[0][0], "big") if found else 0


async def test_a_busy_counter_reserves_bigger_blocks_and_stops_waiting(vault: Vault) -> None:
    store = vault.store
    first = await store.next_sign_count(None)  # the first block, reserved while we wait
    before = rows_changed(vault)
    values, stalled = [], 0
    uses = 5000
    for _ in range(uses):  # back to back: far faster than a durable commit per 64 uses
        task = asyncio.ensure_future(store.next_sign_count(None))
        await asyncio.sleep(0)  # one turn of the loop: enough, unless it awaits the disk
        stalled += not task.done()
        values.append(await task)
    assert values == list(range(first + 1, first + 1 + uses))
    # Fixed blocks of 128 would be ~39 durable writes, nearly each one waited for.
    assert rows_changed(vault) - before <= 8
    assert stalled <= 8
    assert on_disk(vault) >= values[-1]


async def test_block_sizes_double_when_busy_and_halve_when_idle(vault: Vault) -> None:
    store, now = vault.store, [1000.0]
    store.monotonic = lambda: now[0]

    async def next_block() -> int:
        """Use values until the next block is reserved (ahead, at half the one in use); its
        size."""
        start = on_disk(vault)
        while not store._reserving:
            await store.next_sign_count(None)
        while store._reserving:
            await asyncio.sleep(0.001)
        return on_disk(vault) - start

    await store.next_sign_count(None)
    assert on_disk(vault) == COUNTER_RESERVATION  # the first block
    sizes = []
    for _ in range(8):
        now[0] += 0.1  # each block half used within BUSY_BLOCK_S
        sizes.append(await next_block())
    assert sizes[:3] == [COUNTER_RESERVATION * 2, COUNTER_RESERVATION * 4, COUNTER_RESERVATION * 8]
    assert max(sizes) == sizes[-1] == COUNTER_RESERVATION_MAX
    now[0] += 5.0  # between the bounds: unchanged
    assert await next_block() == COUNTER_RESERVATION_MAX
    now[0] += 60.0  # idle: half as big
    assert await next_block() == COUNTER_RESERVATION_MAX // 2
