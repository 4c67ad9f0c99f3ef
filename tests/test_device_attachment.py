"""Issue 14 item 2: a vault's passkeys are platform passkeys when vauth's own client reaches them
(socket, native host, HTTP API), and a USB security key's when a browser reaches the same vault
over uhid. Verified by the peers: py_webauthn for the ceremony, python-fido2 for getInfo."""

from __future__ import annotations

import json
from pathlib import Path

import webauthn
from fido2 import cbor
from fido2.ctap2 import Info
from webauthn.helpers import parse_registration_credential_json

from tests.support import PASSPHRASE, creation
from vauth.app.device import Device, TesterDevice, authenticator_config
from vauth.app.presence import AutoPresence

ORIGIN = "https://example.com"
GET_INFO = b"\x04"


async def test_a_vault_passkey_is_a_platform_passkey(tmp_path: Path) -> None:
    """WebAuthn L3 5.4.5 (authenticatorAttachment "platform": the authenticator is part of the
    client device) and 5.8.4 (transport "internal": reached by a client-device-specific
    transport, not removable); the credential's JSON and getTransports() carry both."""
    device = await Device.open_vault(tmp_path / "vault.db", PASSPHRASE, AutoPresence())
    try:
        options = creation("alice")
        created = await device.create(options, ORIGIN)
        assert created["authenticatorAttachment"] == "platform"
        assert created["response"]["transports"] == ["internal"]
        verified = webauthn.verify_registration_response(
            credential=parse_registration_credential_json(json.dumps(created)),
            expected_challenge=webauthn.base64url_to_bytes(options["challenge"]),
            expected_origin=ORIGIN,
            expected_rp_id="example.com",
        )
        assert verified.credential_device_type == "single_device"
        allowed = {"challenge": options["challenge"], "rpId": "example.com"}
        assert (await device.get(allowed, ORIGIN))["authenticatorAttachment"] == "platform"
        # The same vault over uhid: the browser asks getInfo, which says "usb" (CTAP 2.1 6.4).
        reply = await device.process(GET_INFO)
        assert reply[0] == 0
        assert Info.from_dict(cbor.decode(reply[1:])).transports == ["usb"]
    finally:
        if device.vault:
            device.vault.close()


async def test_an_ephemeral_device_keeps_its_configured_transport() -> None:
    """A tester's authenticator says what it was configured as (WebDriver 11.1 transport)."""
    device = TesterDevice.ephemeral(authenticator_config(transport="usb"), AutoPresence())
    created = await device.create(creation("bob"), ORIGIN)
    assert created["authenticatorAttachment"] == "cross-platform"
    assert created["response"]["transports"] == ["usb"]
