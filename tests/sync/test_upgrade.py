"""An existing vault (made by vauth at schema 2) migrates to the sync schema; its passkeys stay
on this device only (BE is fixed at creation, WebAuthn L3 section 6.1.3), and only passkeys
made after sync was set up are synced."""

from __future__ import annotations

import shutil
from pathlib import Path

import cbor2

from tests.sync.conftest import PASSPHRASE, Device, contents, join, register, run, sign_in
from vauth import base64url
from vauth.sync import Sync
from vauth.testing.virtual import VirtualAuthenticator
from vauth.vault import outbox
from vauth.vault.replica import Replica, ReplicaTx
from vauth.vault.schema import LATEST

FIXTURES = Path(__file__).parents[1] / "vault" / "fixtures"


def test_old_passkeys_stay_device_only(tmp_path: Path) -> None:
    for name in ("schema2.vault.db", "schema2.vault.db.keys"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    alice = base64url.decode("uYgKaVPQ02ZfFqLCJ61I4nsmkyoittOXqVFCASLTRq8")
    folder = tmp_path / "Sync"
    folder.mkdir()
    va = VirtualAuthenticator(vault=tmp_path / "schema2.vault.db", passphrase="schema 2 fixture")
    try:
        assert va.vault is not None
        assert va.vault.with_database_sync(lambda db: db.user_version()) == LATEST
        sync = Sync(va.vault)
        assert not sync.configured
        sync.init(folder, "old laptop")
        device = Device.__new__(Device)
        device.va, device.vault, device.sync = va, va.vault, sync
        old = run(device, va.vault.store.get(alice))
        assert old is not None and not old.synced and not old.backup_eligible
        new = register(device, "made after sync was set up")
        assert new.credential_device_type == "multi_device"
        assert sync.status().unpublished == 1
        assert sync.publish() == 1
        files = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
        assert alice not in files and old.private_key[-32:] not in files
    finally:
        va.close()


# Two computers a and b in a group, with a passkey made on each, as vauth at commit 7ebbdc2
# (schema 4, before issue 19) left them: a/ and b/ hold their vaults (passphrase PASSPHRASE),
# Sync/ their folder (made with tests/sync/conftest.py's pair() and register() of that commit).
SCHEMA4_GROUP = Path(__file__).parent / "fixtures" / "schema4-group"


def reopened(home: Path, folder: Path) -> Device:
    """A computer of the fixture's group (made by vauth before issue 19, at schema 4), its
    vault opened by this vauth, and its sync folder where the test put it."""
    device = Device.__new__(Device)
    device.home = home
    device.va = VirtualAuthenticator(vault=home / "vault.db", passphrase=PASSPHRASE)
    assert device.va.vault is not None
    device.vault = device.va.vault
    replica = Replica(device.vault)

    def moved(tx: ReplicaTx) -> None:
        state = cbor2.loads(tx.setting(outbox.STATE_SETTING) or b"")
        tx.set_setting(outbox.STATE_SETTING, cbor2.dumps({**state, "folder": str(folder)}))

    replica.run(moved)
    device.sync = Sync(device.vault)
    return device


def test_a_group_synced_before_issue_19_goes_on_syncing(tmp_path: Path) -> None:
    """Its group keys had no maker and no roster: they still open what was written with them,
    and the computers give themselves a key made for their roster (a rekey) to write under."""
    shutil.copytree(SCHEMA4_GROUP, tmp_path / "group")
    folder = tmp_path / "group" / "Sync"
    a, b = (reopened(tmp_path / "group" / name, folder) for name in "ab")
    late = Device(tmp_path / "late")
    try:
        assert len(contents(a.vault)) == len(contents(b.vault)) == 2
        for device in (a, b, a, b):
            device.sync.merge()
            device.sync.publish()
        made = register(a, "made after the upgrade")
        a.sync.publish()
        b.sync.merge()
        assert sign_in(b, made)[1] == 0
        assert contents(a.vault) == contents(b.vault) and len(contents(a.vault)) == 3
        join(b, late, folder, "late")  # it reads the segments written before the upgrade too
        a.sync.merge()
        assert contents(late.vault) == contents(a.vault)
        epochs = Replica(a.vault).run(lambda tx: tx.epochs())
        assert any(e.author == "" and e.members is None for e in epochs)  # kept, never written
        legacy = str(folder / "vauth" / "keys" / "1")
        assert [r.reason for r in late.sync.status().refused if r.path == legacy]
    finally:
        for device in (a, b, late):
            device.close()
