"""Joining after comparing a code, removing a lost computer (the group key moves on and the
removed device cannot read what follows), a device that joins late, and what never syncs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import Device, contents, held_keys, pair, register, run
from vauth.ctap.ports import PresenceRequest, PresenceResponse
from vauth.sync import SyncError, envelope
from vauth.sync.identity import DeviceDoc, Identity
from vauth.sync.membership import ADD, Change, Epoch


def segments_of(device: Device, folder: Path) -> list[Path]:
    me = device.sync.status().device_id
    return sorted((folder / "vauth" / "devices" / me).glob("seg-*.vseg"))


def test_both_devices_show_the_same_code(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    a.sync.init(folder, "laptop")
    request = b.sync.request_join(folder, "desktop")
    [pending] = a.sync.pending()
    assert pending == request  # the same device, name and 12-digit code on both screens
    assert len(request.fingerprint.replace(" ", "")) == 12


def test_a_wrong_code_is_refused_and_nothing_changes(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    a.sync.init(folder, "laptop")
    request = b.sync.request_join(folder, "desktop")
    wrong = "000 000 000 000" if request.fingerprint != "000 000 000 000" else "111 111 111 111"
    with pytest.raises(SyncError, match="does not match"):
        a.sync.approve(request.device_id, wrong)
    assert [d.device_id for d in a.sync.devices()] == [a.sync.status().device_id]
    assert a.sync.pending() == [request]
    assert not list((folder / "vauth").glob("keys/*/*.vkey"))
    assert b.sync.merge().applied == 0 and not b.sync.status().joined


def test_setting_up_twice_or_in_a_missing_folder_says_why(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    with pytest.raises(SyncError, match="does not exist"):
        a.sync.init(folder / "nowhere", "laptop")
    with pytest.raises(SyncError, match="holds no vauth sync group"):
        b.sync.request_join(folder, "desktop")
    a.sync.init(folder, "laptop")
    with pytest.raises(SyncError, match="already set up"):
        a.sync.init(folder, "laptop")
    with pytest.raises(SyncError, match="already holds a vauth sync group"):
        b.sync.init(folder, "desktop")
    assert not b.sync.configured


def test_removing_a_device_rotates_the_key(make_device: Any, folder: Path) -> None:
    a, b, c = make_device("a"), make_device("b"), make_device("c")
    pair(a, b, folder)
    request = c.sync.request_join(folder, "old phone")
    a.sync.approve(request.device_id, request.fingerprint)
    for device in (b, c):
        device.sync.merge()
    register(a, "before")
    a.sync.publish()
    assert c.sync.merge().applied == 1  # c is a member: it reads this one

    a.sync.remove(request.device_id)
    after = register(a, "after").credential_id
    a.sync.publish()
    # What c writes before it learns of its removal is refused by the others.
    register(c, "from the removed device")
    c.sync.publish()

    # b gets the new key and everything; c was given no key for the new epoch.
    b.sync.merge()
    assert contents(b.vault) == contents(a.vault)
    assert run(b, b.vault.store.get(after)) is not None
    report = b.sync.merge()
    assert any("removed from the group" in r.reason for r in report.refused)
    assert [d.removed for d in b.sync.devices() if d.device_id == request.device_id] == [True]
    report = c.sync.merge()
    assert run(c, c.vault.store.get(after)) is None
    assert any("group key this device has not been given" in r.reason for r in report.refused)
    last = segments_of(a, folder)[-1].read_bytes()
    header = envelope.read_header(last)
    removal = Epoch(header.epoch, header.author)
    keys = folder / "vauth" / "keys" / removal.name
    assert (keys / f"{b.sync.status().device_id}.vkey").exists()  # b is given the new key
    # c is told it was removed, and holds no key that opens what was written after
    [me] = [d for d in c.sync.devices() if d.this_device]
    assert me.removed
    for key in held_keys(c):  # not one key c holds opens what was written after
        with pytest.raises(envelope.Malformed):
            envelope.open_entries(last, key)
    with pytest.raises(SyncError, match="was removed from the sync group"):
        c.sync.publish()  # and from now on it knows


def test_a_device_that_joins_late_gets_everything(make_device: Any, folder: Path) -> None:
    a, b, late = make_device("a"), make_device("b"), make_device("late")
    pair(a, b, folder)
    for user in ("one", "two", "three"):
        register(a, user)
        a.sync.publish()
    register(b, "four")
    b.sync.publish()
    a.sync.merge()
    request = late.sync.request_join(folder, "new laptop")
    b.sync.approve(request.device_id, request.fingerprint)  # any member may approve
    late.sync.merge()
    a.sync.merge()
    assert contents(late.vault) == contents(a.vault)
    assert len(late.sync.devices()) == 3


def test_backup_state_follows_the_group(make_device: Any, folder: Path) -> None:
    """BS (WebAuthn L3 section 6.1.3) is 1 while another device holds the synced passkey."""
    a, b = make_device("a"), make_device("b")
    a.sync.init(folder, "laptop")
    alone = register(a, "alone")
    assert not alone.credential_backed_up
    request = b.sync.request_join(folder, "desktop")
    a.sync.approve(request.device_id, request.fingerprint)
    stored = run(a, a.vault.store.get(alone.credential_id))
    assert stored.backup_eligible and stored.backup_state
    a.sync.remove(request.device_id)
    stored = run(a, a.vault.store.get(alone.credential_id))
    assert stored.backup_eligible and not stored.backup_state


class Choose:
    """The ceremony window's answer: keep the new passkey on this device only."""

    def __init__(self) -> None:
        self.offers: list[Any] = []

    async def confirm(self, request: PresenceRequest) -> PresenceResponse:
        self.offers.append(request.sync_offer)
        return PresenceResponse(present=True, verified=True, synced=False)


def test_a_device_only_passkey_never_enters_the_folder(make_device: Any, folder: Path) -> None:
    choose = Choose()
    a, b = make_device("a", presence=choose), make_device("b")
    before_sync = register(a, "made before sync was set up")
    pair(a, b, folder)
    chosen = register(a, "the person chose this computer only")
    assert choose.offers[-1].default and choose.offers[-1].devices == 2
    assert a.sync.default == "synced"
    with pytest.raises(SyncError, match="must be"):
        a.sync.set_default("cloud")
    a.sync.set_default("device")
    assert a.sync.default == "device"
    by_default = run(a, a.vault.store.offer())
    assert by_default is not None and not by_default.default
    for registered in (before_sync, chosen):
        assert registered.credential_device_type == "single_device"  # BE=0 for life
    assert a.sync.publish() == 0
    assert b.sync.merge().applied == 0
    files = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    for registered in (before_sync, chosen):
        assert registered.credential_id not in files
        assert registered.credential_public_key[-32:] not in files


def test_a_late_joiner_starts_from_the_approvers_snapshot(make_device: Any, folder: Path) -> None:
    """With the old segments gone from the folder, the snapshot alone brings everything."""
    a, b, late = make_device("a"), make_device("b"), make_device("late")
    pair(a, b, folder)
    for user in ("one", "two"):
        register(a, user)
        a.sync.publish()
    register(b, "three")
    b.sync.publish()
    a.sync.merge()
    request = late.sync.request_join(folder, "new laptop")
    a.sync.approve(request.device_id, request.fingerprint)
    [snap] = folder.rglob("snap-*.vsnap")
    for old in folder.rglob("seg-*.vseg"):
        old.unlink()  # as if long gone: only the snapshot can bring them
    late.sync.merge()
    assert contents(late.vault) == contents(a.vault)
    assert len(contents(late.vault)) == 3
    # and from there the journal goes on as usual
    register(b, "four")
    b.sync.publish()
    assert late.sync.merge().applied == 1
    assert late.sync.status().refused == []
    assert snap.exists()


def test_a_forged_snapshot_is_ignored(make_device: Any, folder: Path) -> None:
    a, b, late = make_device("a"), make_device("b"), make_device("late")
    pair(a, b, folder)
    register(a, "one")
    a.sync.publish()
    request = late.sync.request_join(folder, "new laptop")
    a.sync.approve(request.device_id, request.fingerprint)
    [snap] = folder.rglob("snap-*.vsnap")
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 1
    snap.write_bytes(bytes(data))
    late.sync.merge()  # falls back on the segments, which are all there
    assert contents(late.vault) == contents(a.vault)


def test_a_stranger_with_access_to_the_folder_cannot_hand_out_a_fake_group_key(
    make_device: Any, folder: Path
) -> None:
    """Someone who can write to the folder (not a member) answers a join request with a key of
    their own: the joining device refuses it, since no chain of approvals leads from the
    group's first device (pinned when the person ran join) to the one that signed it."""
    a, joiner = make_device("a"), make_device("joiner")
    a.sync.init(folder, "laptop")
    request = joiner.sync.request_join(folder, "desktop")
    group_id = a.sync.group.need()["group"]
    stranger = Identity.new("laptop")  # even under the same name
    devices = folder / "vauth" / "devices"
    (devices / stranger.device_id).mkdir(parents=True)
    (devices / stranger.device_id / "device.json").write_text(
        json.dumps(stranger.document(group_id))
    )
    [real] = [d for d in a.sync.devices()]
    raw = json.loads((folder / "vauth" / "join" / f"{request.device_id}.json").read_text())
    joiner_doc = DeviceDoc.parse(raw)
    assert joiner_doc is not None and real.this_device
    key = b"k" * 32
    members = {stranger.device_id, request.device_id}
    change = Change(
        ADD, stranger.device_id, Epoch(1, stranger.device_id), frozenset(members),
        request.device_id, doc=raw, commit=envelope.commitment(key),
    )  # fmt: skip
    fake_roster = [
        {"doc": {"device": m.device_id, "name": m.name, "group": group_id,
                 "sign_key": m.sign_key, "box_key": m.box_key}, "cert": None, "removed": None}
        for m in (stranger,)
    ]  # fmt: skip
    sealed = envelope.seal_keys(
        group_id, change.epoch.name, request.device_id, joiner_doc.box_key, stranger.device_id,
        stranger.signing, {"change": change.as_map(), "key": key,
                           "epochs": [[1, stranger.device_id, key, sorted(members)]],
                           "roster": fake_roster},
    )  # fmt: skip
    place = folder / "vauth" / "keys" / change.epoch.name / f"{request.device_id}.vkey"
    place.parent.mkdir(parents=True)
    place.write_text(json.dumps(sealed))

    assert joiner.sync.merge().applied == 0
    assert not joiner.sync.status().joined
    # The real approval, once given, is taken.
    a.sync.approve(request.device_id, request.fingerprint)
    joiner.sync.merge()
    assert joiner.sync.status().joined
    assert {d.device_id for d in joiner.sync.devices()} == {real.device_id, request.device_id}


def test_status_and_leave(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    a.sync.init(folder, "laptop")
    request = b.sync.request_join(folder, "desktop")
    waiting = b.sync.status()
    assert not waiting.joined and waiting.device_id == request.device_id
    with pytest.raises(SyncError, match="not approved yet"):
        b.sync.publish()
    status = a.sync.status()
    assert status.joined and status.pending == [request] and status.folder == str(folder)
    a.sync.approve(request.device_id, request.fingerprint)
    b.sync.merge()
    registered = register(a, "alice")
    assert a.sync.status().unpublished == 1
    a.sync.publish()
    b.sync.merge()
    [laptop] = [d for d in b.sync.devices() if d.name == "laptop"]
    assert laptop.last_seq >= 2 and laptop.last_seen is not None and not laptop.this_device

    b.sync.leave()  # the passkeys stay; synced ones are no longer backed up
    assert not b.sync.configured
    assert run(b, b.vault.store.offer()) is None
    kept = run(b, b.vault.store.get(registered.credential_id))
    assert kept is not None and kept.synced and not kept.backup_state
    with pytest.raises(SyncError, match="not set up"):
        b.sync.status()


def test_membership_mistakes_are_sentences(make_device: Any, folder: Path) -> None:
    a, b = make_device("a"), make_device("b")
    with pytest.raises(SyncError, match="needs a name"):
        a.sync.init(folder, "  ")
    pair(a, b, folder)
    me = a.sync.status().device_id
    other = b.sync.status().device_id
    with pytest.raises(SyncError, match="has asked to join"):
        a.sync.approve("0" * 20, "123 456 789 012")
    with pytest.raises(SyncError, match="device you are using"):
        a.sync.remove(me)
    with pytest.raises(SyncError, match="No device with the ID"):
        a.sync.remove("0" * 20)
    a.sync.remove(other)
    with pytest.raises(SyncError, match="removed already"):
        a.sync.remove(other)
