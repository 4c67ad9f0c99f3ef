"""A passkey made on one computer signs in on another after a publish and a merge: checked by
py_webauthn (the relying party) with the public key the first computer registered."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import webauthn
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
)

from tests.sync.conftest import Device, pair
from vauth import base64url

RP_ID, ORIGIN = "example.com", "https://example.com"
BE, BS = 0x08, 0x10  # WebAuthn L3 section 6.1 (authenticator data flags)


def register(device: Device, user: str = "alice") -> Any:
    options = webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name=user,
        challenge=os.urandom(32),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED
        ),
    )
    response = device.va.create(json.loads(webauthn.options_to_json(options)), ORIGIN)
    verified = webauthn.verify_registration_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
    )
    return verified


def sign_in(device: Device, registered: Any) -> tuple[int, int]:
    """(flags, signCount) of an assertion that py_webauthn verified with the registered key."""
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID,
        challenge=os.urandom(32),
        allow_credentials=[PublicKeyCredentialDescriptor(id=registered.credential_id)],
    )
    response = device.va.get(json.loads(webauthn.options_to_json(options)), ORIGIN)
    verified = webauthn.verify_authentication_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=registered.credential_public_key,
        credential_current_sign_count=0,
    )
    flags = base64url.decode(response["response"]["authenticatorData"])[32]
    return flags, verified.new_sign_count


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
