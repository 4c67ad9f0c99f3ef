"""A passkey made on one computer signs in on another after a publish and a merge: checked by
py_webauthn (the relying party) with the public key the first computer registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import BE, BS, contents, pair, register, rename, run, sign_in
from vauth import WebAuthnError
from vauth.ctap.ports import SyncOffer


def test_created_on_a_signs_in_on_b(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    registered = register(a)
    # WebAuthn L3 section 6.1.3: a multi-device credential is BE=1, and BS=1 once backed up
    # (here: a second device is a member); synced passkeys report signCount 0.
    assert registered.credential_backed_up and registered.credential_device_type == "multi_device"
    assert registered.sign_count == 0
    assert a.sync.publish() == 1
    report = b.sync.merge()
    assert report.applied == 1 and report.refused == []
    assert report.changed_ids == [registered.credential_id]
    flags, count = sign_in(b, registered)
    assert flags & BE and flags & BS and count == 0
    # and the audit log on b names the device it came from
    audit = b.va._run(b.vault.store.audit(registered.credential_id))
    assert audit[-1].actor == "sync:laptop"


def test_a_lone_device_makes_backup_eligible_not_backed_up(make_device: Any, folder: Path) -> None:
    a = make_device("a")
    a.sync.init(folder, "laptop")
    registered = register(a)
    assert registered.credential_device_type == "multi_device"  # BE=1
    assert not registered.credential_backed_up  # BS=0: no other device holds it yet


def test_without_sync_passkeys_stay_device_only(make_device: Any) -> None:
    a = make_device("a")
    registered = register(a)
    assert registered.credential_device_type == "single_device"  # BE=0


def test_rename_delete_and_restore_travel(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    registered = register(a)
    credential_id = registered.credential_id
    a.sync.publish()
    b.sync.merge()

    rename(b, credential_id, "work laptop key")  # rename on B, seen on A
    b.sync.publish()
    a.sync.merge()
    assert run(a, a.vault.store.get(credential_id)).nickname == "work laptop key"

    assert run(a, a.vault.store.delete(credential_id))  # delete on A: B refuses to sign
    a.sync.publish()
    b.sync.merge()
    assert run(b, b.vault.store.get(credential_id)) is None
    [trashed] = run(b, b.vault.store.trash())
    assert trashed.deleted_by == "sync:laptop"
    with pytest.raises(WebAuthnError):
        sign_in(b, registered)

    assert run(b, b.vault.store.restore(credential_id)) is not None  # restore on B
    b.sync.publish()
    a.sync.merge()
    flags, _ = sign_in(a, registered)
    assert flags & BE and flags & BS
    assert contents(a.vault) == contents(b.vault)


def test_blobs_and_secrets_travel(make_device: Any, folder: Path) -> None:
    """credBlob, the per-credential large blob, the group's large-blob array and the
    hmac-secret (PRF) secrets arrive as they were written."""
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    credential_id = register(a, extensions={"prf": {}}).credential_id
    credential = run(a, a.vault.store.get(credential_id))
    assert credential.cred_random_with_uv is not None
    credential.cred_blob = b"\x01" * 32
    credential.large_blob = b"a large blob"
    run(a, a.vault.store.update(credential))
    run(a, a.vault.store.set_setting("large_blob_array", b"\x80" + b"\x00" * 16))
    a.sync.publish()
    b.sync.merge()
    there = run(b, b.vault.store.get(credential_id))
    here = run(a, a.vault.store.get(credential_id))
    for name in ("private_key", "cred_blob", "large_blob", "cred_random_with_uv", "user_handle"):
        assert getattr(there, name) == getattr(here, name), name
    assert run(b, b.vault.store.get_setting("large_blob_array")) == b"\x80" + b"\x00" * 16


def test_the_offer_follows_the_group_and_the_default(make_device: Any, folder: Path) -> None:
    """What makeCredential is offered (kept in memory) changes as soon as sync changes it."""
    a, b = make_device("a"), make_device("b")
    assert run(a, a.vault.store.offer()) is None  # no sync: device only
    a.sync.init(folder, "laptop")
    assert run(a, a.vault.store.offer()) == SyncOffer(default=True, devices=1)
    request = b.sync.request_join(folder, "desktop")
    a.sync.approve(request.device_id, request.fingerprint)
    assert run(a, a.vault.store.offer()) == SyncOffer(default=True, devices=2)
    assert run(b, b.vault.store.offer()) == SyncOffer(default=True, devices=1)
    b.sync.merge()
    assert run(b, b.vault.store.offer()) == SyncOffer(default=True, devices=2)
    b.sync.set_default("device")
    assert run(b, b.vault.store.offer()) == SyncOffer(default=False, devices=2)
    assert register(b, "bob").credential_device_type == "single_device"
    a.sync.remove(request.device_id)
    assert run(a, a.vault.store.offer()) == SyncOffer(default=True, devices=1)
