"""The client's cached getInfo follows PIN and configuration changes made through CTAP, whether
they come through the sync ``process``, the async ``aprocess`` (the daemon's and HID's path) or
straight to the core: it is kept by the authenticator's state version."""

from __future__ import annotations

from typing import Any

import pytest
from fido2.ctap2 import Ctap2
from fido2.ctap2.pin import ClientPin

from vauth import VirtualAuthenticator
from vauth.testing.doubles import open_hid_device
from vauth.webauthn.ctap_messages import ByteChannel
from vauth.webauthn.pin import PinSession

PIN = "271828"
ORIGIN = "https://example.com"


def creation(user_id: bytes) -> dict[str, Any]:
    return {
        "rp": {"id": "example.com", "name": "Example"},
        "user": {"id": user_id.hex(), "name": "alice", "displayName": "Alice"},
        "challenge": "AAAAAAAAAAAAAAAAAAAAAA",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required"},
    }


@pytest.fixture
def va() -> VirtualAuthenticator:
    # Without built-in UV, a discoverable credential needs a pinUvAuthToken once a PIN is set.
    authenticator = VirtualAuthenticator(has_user_verification=False)
    authenticator.create(creation(b"first"), ORIGIN)  # the client now holds getInfo
    authenticator.client.pin = PIN
    return authenticator


def test_pin_set_over_hid_is_seen_by_the_client(va: VirtualAuthenticator) -> None:
    device, connection = open_hid_device(va)  # CTAPHID -> aprocess
    try:
        ClientPin(Ctap2(device)).set_pin(PIN)
    finally:
        connection.close()
    response = va.create(creation(b"second"), ORIGIN)
    assert response["type"] == "public-key"


@pytest.mark.parametrize("asynchronous", [False, True], ids=["process", "aprocess"])
async def test_reset_is_seen_by_the_client(va: VirtualAuthenticator, asynchronous: bool) -> None:
    va.set_pin(PIN)
    va.create(creation(b"second"), ORIGIN)  # getInfo with clientPin: true, cached
    status = (await va.aprocess(b"\x07")) if asynchronous else va.process(b"\x07")
    assert status == b"\x00"
    va.client.pin = None
    response = await va.acreate(creation(b"third"), ORIGIN)  # no PIN is set any more
    assert response["type"] == "public-key"


async def test_a_pin_set_past_the_device_is_seen_by_the_client(va: VirtualAuthenticator) -> None:
    """The cache follows the authenticator's state version, not the command bytes the device
    carries: a PIN set on the core itself (as the U2F front or any other in-process caller
    reaches it) is seen too."""
    core = va.device.authenticator
    before = core.info_version
    await PinSession(ByteChannel(core.process), (2, 1)).set_pin(PIN)
    assert core.info_version != before
    response = await va.acreate(creation(b"second"), ORIGIN)  # needs the PIN's token now
    assert response["type"] == "public-key"
