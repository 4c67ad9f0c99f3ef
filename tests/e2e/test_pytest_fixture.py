"""The pytest plugin's ``vauth_page``: a Playwright page whose WebAuthn calls reach a vauth
authenticator in tester mode, configured by the ``vauth_authenticator`` marker, in front of a
relying party that verifies with py_webauthn. The test body names no browser: parametrizing
``vauth_browser_name`` runs it in another one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.rp_server import RelyingParty
from vauth.harness import VauthDaemon

pytestmark = pytest.mark.e2e


def open_site(page: Any, rp: RelyingParty) -> Any:
    page.goto(rp.origin)
    page.wait_for_function("typeof window.register === 'function'")
    return page


@pytest.mark.vauth_authenticator(defaultBackupEligibility=True, defaultBackupState=True)
def test_vauth_page_registers_signs_in_and_fails_on_a_bogus_signature(
    vauth_page: Any, vauth_daemon: VauthDaemon, rp: RelyingParty
) -> None:
    page = open_site(vauth_page, rp)
    registered = page.evaluate("register('alice')")
    assert registered["ok"], registered
    (credential,) = vauth_daemon.credentials()
    assert credential["userName"] == "alice" and credential["rpId"] == "localhost"
    assert credential["backupEligibility"] and credential["backupState"]  # the marker's options
    assert page.evaluate("login()")["ok"]
    # CDP's setResponseOverrideBits, through the daemon: the relying party must refuse it.
    vauth_daemon.set_response_override_bits(isBogusSignature=True)
    refused = page.evaluate("login()")
    assert refused["ok"] is False and refused["name"] == "verification", refused
    vauth_daemon.set_response_override_bits()
    assert page.evaluate("login()")["ok"]


def test_each_test_gets_its_own_authenticator(vauth_daemon: VauthDaemon) -> None:
    """One per test: nothing from the test before (it made a passkey)."""
    assert vauth_daemon.credentials() == []


SIGNAL = "async ([call, args]) => { await PublicKeyCredential[call](args); return true; }"


def test_events_stream_what_the_page_does_and_what_the_signal_api_corrects(
    vauth_page: Any, vauth_daemon: VauthDaemon, rp: RelyingParty
) -> None:
    """CDP's four events over /events, from a page (as Chromium fires them: the last two by
    the Signal API, WebAuthn L3 5.1.10)."""
    page = open_site(vauth_page, rp)
    with vauth_daemon.events() as events:
        assert page.evaluate("register('alice')")["ok"]
        name, added = events.next()
        assert name == "credentialAdded" and added["authenticatorId"] == "vault"
        credential = added["credential"]
        assert credential["userName"] == "alice" and "privateKey" in credential  # ephemeral
        assert page.evaluate("login()")["ok"]
        name, asserted = events.next()
        assert name == "credentialAsserted"
        assert asserted["credential"]["credentialId"] == credential["credentialId"]
        details = {"rpId": "localhost", "userId": credential["userHandle"]}
        details |= {"name": "alice2", "displayName": "Alice Two"}
        page.evaluate(SIGNAL, ["signalCurrentUserDetails", details])
        name, updated = events.next()
        assert name == "credentialUpdated" and updated["credential"]["userName"] == "alice2"
        unknown = {"rpId": "localhost", "credentialId": credential["credentialId"]}
        page.evaluate(SIGNAL, ["signalUnknownCredential", unknown])
        assert events.next() == (
            "credentialDeleted",
            {"authenticatorId": "vault", "credentialId": credential["credentialId"]},
        )
    assert vauth_daemon.credentials() == []
