"""The folder's files: segments are complete or absent, bounded in size, never rewritten, and
hold nothing readable without the group key; a segment written just before a crash is kept."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import PASSPHRASE, contents, new_vault, pair, register, run
from vauth.app.keys import RandomKeySource
from vauth.ctap.cose import Algorithm
from vauth.ctap.credential import Credential
from vauth.sync import Sync, SyncError, publisher
from vauth.vault import Vault
from vauth.vault.keyfile import keyfile_path


def test_publish_splits_into_bounded_segments(
    make_device: Any, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publisher, "SEGMENT_ENTRIES", 2)
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    before = set(folder.rglob("seg-*.vseg"))
    for user in "vwxyz":
        register(a, user)
    assert a.sync.publish() == 5
    assert len(set(folder.rglob("seg-*.vseg")) - before) == 3
    assert a.sync.status().unpublished == 0
    assert b.sync.merge().applied == 5
    assert contents(a.vault) == contents(b.vault)


def test_the_folder_holds_nothing_readable(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    registered = register(a, "alice.secret@example.com", extensions={"prf": {}})
    a.sync.publish()
    stored = run(a, a.vault.store.get(registered.credential_id))
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert all(not p.name.endswith(".tmp") for p in files)  # no half-written file left
    blob = b"".join(p.read_bytes() for p in files)
    for secret in (
        stored.private_key,
        stored.private_key[-32:],
        stored.cred_random_with_uv,
        stored.user_handle,
        registered.credential_id,
        b"alice.secret@example.com",
        b"example.com",
    ):
        assert secret not in blob


def test_a_segment_written_before_a_crash_is_not_written_again(tmp_path: Path) -> None:
    """The process stops after the segment reached the folder but before the vault recorded
    it: the next publish recognises its own segment instead of writing that number again
    (which would fork the chain that other devices follow)."""
    folder = tmp_path / "Sync"
    folder.mkdir()
    paths = []
    for name in "ab":
        (tmp_path / name).mkdir()
        paths.append(new_vault(tmp_path / name / "vault.db"))
    a, b = (Vault.open(p, PASSPHRASE, create=False) for p in paths)
    try:
        sync_a, sync_b = Sync(a), Sync(b)
        sync_a.init(folder, "A")
        request = sync_b.request_join(folder, "B")
        sync_a.approve(request.device_id, request.fingerprint)
        sync_b.merge()
        run_store(a, "before the crash")
        a.close()
        saved = tmp_path / "saved"
        saved.mkdir()
        for path in (paths[0], keyfile_path(paths[0])):
            shutil.copy(path, saved / path.name)
        a = Vault.open(paths[0], PASSPHRASE, create=False)
        assert Sync(a).publish() == 1
        a.close()
        for path in (paths[0], keyfile_path(paths[0])):  # the vault as it was: not recorded
            shutil.copy(saved / path.name, path)
        segments = sorted(folder.rglob("seg-*.vseg"))
        written = {p: p.read_bytes() for p in segments}

        a = Vault.open(paths[0], PASSPHRASE, create=False)
        again = Sync(a)
        assert again.status().unpublished == 1
        assert again.publish() == 0  # its own segment was taken as published
        assert again.status().unpublished == 0
        assert {p: p.read_bytes() for p in sorted(folder.rglob("seg-*.vseg"))} == written
        assert sync_b.merge().applied == 1
        assert contents(a) == contents(b)
    finally:
        a.close()
        b.close()


def run_store(vault: Vault, user: str) -> None:
    """A synced passkey put straight into the store (as an import would)."""

    key = RandomKeySource().generate_key(Algorithm.EdDSA)
    credential = Credential(
        credential_id=os.urandom(32),
        rp_id="example.com",
        rp_id_hash=hashlib.sha256(b"example.com").digest(),
        user_handle=os.urandom(16),
        private_key=key.to_pkcs8(),
        algorithm=int(Algorithm.EdDSA),
        user_name=user,
    )
    credential.make_synced(2)
    asyncio.run(vault.store.put(credential))


def test_a_missing_folder_is_a_sentence_and_what_stands_in_the_way_is_taken_away(
    make_device: Any, folder: Path
) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    register(a, "alice")
    me = a.sync.status().device_id
    [own] = [d for d in a.sync.devices() if d.this_device]
    blocker = folder / "vauth" / "devices" / me / f"seg-{own.last_seq + 1:010d}.vseg"
    blocker.mkdir()  # something the sync program left where the next segment goes
    assert a.sync.publish() == 1  # taken away (issue 19): publishing never stops for it
    assert blocker.is_file()
    register(a, "bob")
    own_dir = blocker.parent
    own_dir.rename(own_dir.with_name("aside"))
    own_dir.write_bytes(b"not a folder")  # the device's folder replaced by a file
    assert a.sync.publish() == 1
    assert own_dir.is_dir()
    shutil.rmtree(own_dir.with_name("aside"))
    register(a, "carol")
    moved = folder.with_name("Sync-unmounted")
    folder.rename(moved)
    with pytest.raises(SyncError, match="is missing"):
        a.sync.publish()
    with pytest.raises(SyncError, match="is missing"):
        b.sync.merge()
    assert not folder.exists()  # no new folder was made in its place
    assert a.sync.status().unpublished == 1  # still queued
    moved.rename(folder)
    assert a.sync.publish() == 1
    b.sync.merge()  # the segments of a the rename took away are restored by a's merge
    a.sync.merge()
    b.sync.merge()
    assert contents(a.vault) == contents(b.vault)


def test_across_file_systems_a_link_beside_the_target_is_never_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the vault and the folder are on different file systems, a file is copied beside
    its final name first: a link someone left at that name is replaced, not written through."""
    import errno

    from vauth.sync.journal import Folder

    folder, scratch = tmp_path / "Sync", tmp_path / "vault"
    folder.mkdir()
    scratch.mkdir()
    outside = tmp_path / "someone's file"
    outside.write_bytes(b"left alone")
    target = folder / "vauth" / "devices" / "a" / "seg-0000000001.vseg"
    target.parent.mkdir(parents=True)
    (target.parent / f".syncthing.{target.name}.tmp").symlink_to(outside)
    real_replace = os.replace

    def across(source: Any, destination: Any) -> None:
        if Path(source).parent == scratch:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", across)
    Folder(folder, scratch).write(target, b"segment")
    assert target.read_bytes() == b"segment" and not target.is_symlink()
    assert outside.read_bytes() == b"left alone"
    assert list(scratch.iterdir()) == []
