"""The merge rule (vauth/sync/merge.py): every device that has merged the same segments holds
the same passkeys, whatever order the segments arrived in, however often, and however the
merges were interleaved with their arrival (issue 13: deterministic, idempotent, any order)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sync.conftest import PASSPHRASE, Device, contents, register, rename, run
from vauth.sync import Sync
from vauth.vault import Vault
from vauth.vault.keyfile import keyfile_path


def carry(source: Path, target: Path) -> None:
    """What the replication engine does: the files of one folder appear in the other."""
    shutil.copytree(source, target, dirs_exist_ok=True)


class World:
    def __init__(self, base: Path) -> None:
        self.shared = base / "Sync"
        self.shared.mkdir()
        self.a, self.b, self.c = (Device(base / n) for n in "abc")
        self.a.sync.init(self.shared, "A")
        for device, name in ((self.b, "B"), (self.c, "C")):
            request = device.sync.request_join(self.shared, name)
            self.a.sync.approve(request.device_id, request.fingerprint)
        # T sees the group through its own copy of the folder.
        self.view = base / "T-view"
        self.view.mkdir()
        carry(self.shared, self.view)
        t = Device(base / "t")
        request = t.sync.request_join(self.view, "T")
        carry(self.view, self.shared)
        self.a.sync.approve(request.device_id, request.fingerprint)
        carry(self.shared, self.view)
        t.sync.merge()
        assert t.sync.status().joined
        t.close()
        self.template = base / "t"
        self.template_view = base / "T-view-template"
        shutil.copytree(self.view, self.template_view)
        self.before = {p.relative_to(self.shared) for p in self.shared.rglob("*.vseg")}
        self.play()
        self.segments = sorted(
            p.relative_to(self.shared) for p in self.shared.rglob("*.vseg")
            if p.relative_to(self.shared) not in self.before and "t" not in p.parts[-2:-1]
        )  # fmt: skip

    def everyone(self) -> list[Device]:
        return [self.a, self.b, self.c]

    def play(self) -> None:
        """Concurrent edits: renames of one passkey on two devices, a delete racing a rename, a
        restore, a large-blob array written on two devices, a passkey made late."""
        a, b, c = self.everyone()
        for device in (b, c):
            device.sync.merge()
        alice = register(a, "alice").credential_id
        bob = register(a, "bob").credential_id
        a.sync.publish()
        b.sync.merge()
        c.sync.merge()
        rename(b, alice, "from B")
        rename(c, alice, "from C")
        assert run(c, c.vault.store.delete(bob))
        rename(a, bob, "renamed on A before it saw the delete")
        run(a, a.vault.store.set_setting("large_blob_array", b"array from A"))
        run(b, b.vault.store.set_setting("large_blob_array", b"array from B"))
        for device in self.everyone():
            device.sync.publish()
        a.sync.merge()
        assert run(a, a.vault.store.restore(bob)) is not None
        a.sync.publish()
        b.sync.merge()
        rename(b, alice, "from B, after seeing A")
        b.sync.publish()
        register(c, "carol")
        c.sync.publish()
        for _ in range(2):
            for device in self.everyone():
                device.sync.merge()

    def close(self) -> None:
        for device in self.everyone():
            device.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = World(tmp_path_factory.mktemp("world"))
    yield built
    built.close()


def test_every_writer_converges(world: World) -> None:
    a, b, c = (contents(d.vault) for d in world.everyone())
    assert a == b == c
    nicknames = sorted(str(row[6]) for row in a if len(row) > 2)
    assert "from B, after seeing A" in nicknames  # the last writer won on every device
    bob = next(row for row in a if len(row) > 2 and row[4] == "bob")
    assert bob[11] is None  # restored after the delete (a later write of the same field)
    assert len(world.segments) >= 6


def open_target(world: World, home: Path) -> tuple[Vault, Sync]:
    """A fresh copy of T (joined, nothing of the edits applied) and of its folder."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    source = world.template / "vault.db"
    shutil.copy(source, home / "vault.db")
    shutil.copy(keyfile_path(source), keyfile_path(home / "vault.db"))
    shutil.rmtree(world.view)
    shutil.copytree(world.template_view, world.view)
    vault = Vault.open(home / "vault.db", PASSPHRASE, create=False)
    return vault, Sync(vault)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_arrival_order_gives_the_same_vault(
    world: World, tmp_path_factory: pytest.TempPathFactory, data: Any
) -> None:
    expected = contents(world.a.vault)
    order = data.draw(st.permutations(world.segments), label="arrival order")
    repeats = data.draw(st.lists(st.sampled_from(world.segments), max_size=4), label="duplicates")
    merges = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    vault, sync = open_target(world, tmp_path_factory.mktemp("t"))
    try:
        for relative, merge_now in zip(
            [*order, *repeats], [*merges, *[True] * len(repeats)], strict=True
        ):
            target = world.view / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(world.shared / relative, target)
            if merge_now:
                sync.merge()
        sync.merge()
        assert contents(vault) == expected
        assert sync.merge().applied == 0  # idempotent: nothing left to apply twice
        assert sync.status().refused == []
    finally:
        vault.close()
