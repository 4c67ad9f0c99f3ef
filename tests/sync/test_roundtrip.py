"""A passkey made on one computer signs in on another after a publish and a merge: checked by
py_webauthn (the relying party) with the public key the first computer registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sync.conftest import BE, BS, pair, register, sign_in


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
