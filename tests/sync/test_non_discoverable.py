"""Issue 19, "also": non-discoverable passkeys made in a synced vault work on every computer of
the group (their IDs are sealed under a key the group shares, kept across key changes for IDs
made earlier); reset is not synced; passkeys brought in by an import are synced. Each sign-in
is verified by py_webauthn with the public key the passkey was registered with elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import webauthn
from webauthn.helpers.structs import (
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
)

from tests.sync.computers import b64url
from tests.sync.conftest import (
    BE,
    ORIGIN,
    RP_ID,
    Device,
    contents,
    join,
    pair,
    register,
    run,
    sign_in,
)
from vauth import WebAuthnError
from vauth.ctap.credential_id import GROUP_VERSION
from vauth.testing.virtual import VirtualAuthenticator


def register_non_discoverable(device: Device, user: str) -> Any:
    """A passkey the site must name (residentKey discouraged: WebAuthn L3 section 5.4.6)."""
    return register(device, user, resident_key=ResidentKeyRequirement.DISCOURAGED)


def refused(device: Device, registered: Any) -> bool:
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID,
        allow_credentials=[PublicKeyCredentialDescriptor(id=registered.credential_id)],
    )
    try:
        device.va.get(json.loads(webauthn.options_to_json(options)), ORIGIN)
    except WebAuthnError as exc:
        return exc.name == "NotAllowedError"
    return False


def test_a_non_discoverable_passkey_works_on_every_computer_and_reset_is_not_synced(
    make_device: Any, folder: Path
) -> None:
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    made = register_non_discoverable(a, "alice")
    assert made.credential_id[0] == GROUP_VERSION  # sealed under the group's key
    assert made.credential_device_type == "multi_device" and made.credential_backed_up
    a.sync.publish()
    b.sync.merge()
    flags, count = sign_in(b, made)  # made on a, used on b
    assert flags & BE and count == 0
    files = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert made.credential_id not in files  # the record travels encrypted, as every entry

    # reset on b forgets it there, and only there
    b.va.power_cycle()
    b.va.process(bytes([0x07]))  # authenticatorReset (CTAP 2.1 section 6.6)
    assert refused(b, made)
    assert sign_in(a, made)[1] == 0
    b.sync.merge()
    a.sync.merge()
    assert refused(b, made) and sign_in(a, made)[1] == 0

    # deleted on a: refused everywhere
    later = register_non_discoverable(a, "bob")
    a.sync.publish()
    b.sync.merge()
    assert sign_in(b, later)[1] == 0
    run(a, a.vault.store.delete(later.credential_id))
    a.sync.publish()
    b.sync.merge()
    assert refused(a, later) and refused(b, later)


def test_ids_made_before_a_removal_still_open_and_new_ones_are_closed_to_the_removed(
    make_device: Any, folder: Path
) -> None:
    a, b, c = make_device("a"), make_device("b"), make_device("c")
    pair(a, b, folder)
    c_id = join(a, c, folder, "old phone")
    b.sync.merge()
    before = register_non_discoverable(a, "before")
    a.sync.publish()
    for device in (b, c):
        device.sync.merge()
    assert sign_in(c, before)[1] == 0

    a.sync.remove(c_id)
    after = register_non_discoverable(a, "after")
    a.sync.publish()
    for device in (b, c):
        device.sync.merge()
    assert before.credential_id[1:5] != after.credential_id[1:5]  # another group key
    assert sign_in(b, before)[1] == 0 and sign_in(b, after)[1] == 0
    assert refused(c, after)
    keys = run(c, c.vault.store.group_keys())
    assert keys is None or after.credential_id[1:5] not in keys.keys  # c lacks its key


@pytest.mark.parametrize("default", ["synced", "device"])
def test_imported_passkeys_are_synced_as_the_vaults_default_says(
    default: str, make_device: Any, folder: Path
) -> None:
    elsewhere = VirtualAuthenticator(default_backup_eligibility=True)
    try:
        for user in ("erin", "frank"):
            elsewhere.create(
                {
                    "rp": {"id": RP_ID, "name": "Example"},
                    "user": {"id": b64url(user.encode()), "name": user, "displayName": user},
                    "challenge": "AAAA",
                    "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
                    "authenticatorSelection": {"residentKey": "required"},
                },
                ORIGIN,
            )
        exported = elsewhere.export_credentials(plaintext=True)
    finally:
        elsewhere.close()
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    a.sync.set_default(default)
    report = a.va.import_credentials(exported)
    assert len(report.imported) == 2
    a.sync.publish()
    b.sync.merge()
    held = len(run(b, b.vault.store.all()))
    assert held == (2 if default == "synced" else 0)
    if default == "synced":
        assert contents(a.vault) == contents(b.vault)
    register(a, "made here")  # and the default still applies to what is made here


def test_an_imported_passkey_whose_counter_moved_stays_on_this_computer_and_says_so(
    make_device: Any, folder: Path
) -> None:
    """A passkey whose source counter is N > 0 (as Bitwarden and Proton Pass export it) must
    sign next above N: py_webauthn refuses a counter that does not grow (WebAuthn L3 section
    7.2, step 22). A synced passkey counts 0, so such a passkey is kept on this computer, and
    the import says so; one at 0 is synced."""
    elsewhere = VirtualAuthenticator(default_backup_eligibility=True)
    try:
        made = {user: register(SimpleNamespace(va=elsewhere), user) for user in ("erin", "frank")}
        exported = json.loads(elsewhere.export_credentials(plaintext=True))
    finally:
        elsewhere.close()
    for item in exported["accounts"][0]["items"]:
        [vendor] = item["extensions"]
        if vendor["userName"] == "frank":  # used 41 times where it was, with a counter
            vendor.update(signCount=41, signCountPolicy="counter")
    a, b = make_device("a"), make_device("b")
    pair(a, b, folder)
    report = a.va.import_credentials(json.dumps(exported).encode())
    assert len(report.imported) == 2
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID,
        allow_credentials=[PublicKeyCredentialDescriptor(id=made["frank"].credential_id)],
    )
    verified = webauthn.verify_authentication_response(
        credential=a.va.get(json.loads(webauthn.options_to_json(options)), ORIGIN),
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=made["frank"].credential_public_key,
        credential_current_sign_count=41,
    )
    assert verified.new_sign_count > 41
    a.sync.publish()
    b.sync.merge()
    assert [c.user_name for c in run(b, b.vault.store.all())] == ["erin"]
    assert sign_in(b, made["erin"])[1] == 0  # synced: counter 0 on every computer
    [warning] = report.warnings
    assert "1 imported passkey stays on this computer only" in warning
    assert "example.com (frank)" in warning and "erin" not in warning
