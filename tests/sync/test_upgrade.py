"""An existing vault (made by vauth at schema 2) migrates to the sync schema; its passkeys stay
on this device only (BE is fixed at creation, WebAuthn L3 section 6.1.3), and only passkeys
made after sync was set up are synced."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.sync.conftest import Device, register, run
from vauth import base64url
from vauth.sync import Sync
from vauth.vault.schema import LATEST
from vauth.virtual import VirtualAuthenticator

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
