"""The pytest plugin's ``vauth_page``: a Playwright page whose WebAuthn calls reach a vauth
authenticator in tester mode, configured by the ``vauth_authenticator`` marker, in front of a
relying party that verifies with py_webauthn. The test bodies name no browser: parametrizing
``vauth_browser_name`` runs each in Chromium (Playwright) and in Firefox (firefox-esr over
WebDriver BiDi, vauth.testing.browsers.firefox), unchanged (issue 15: "the same test runs
unchanged in both browsers"). Without firefox-esr or node the Firefox runs skip and say why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.rp_server import VAUTH_LOADED, RelyingParty
from vauth.testing.harness import VauthDaemon

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["chromium", "firefox"])
def vauth_browser_name(request: pytest.FixtureRequest) -> str:
    """The plugin's fixture, parametrized: every vauth_page test below runs in both."""
    return request.param  # type: ignore[no-any-return]


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


def test_vauth_page_is_in_the_browser_it_names(
    vauth_page: Any, vauth_browser_name: str, rp: RelyingParty
) -> None:
    """The parametrization really switches browsers (and vauth's extension is in both)."""
    page = open_site(vauth_page, rp)
    agent = page.evaluate("navigator.userAgent")
    assert ("Firefox/" in agent) == (vauth_browser_name == "firefox"), agent
    assert page.evaluate(VAUTH_LOADED)


TESTER_PROJECT = Path(__file__).resolve().parent / "installed" / "tester_project"
ISOLATION = """
seen = {}


def test_one_leaves_a_passkey_a_cookie_and_storage(page, rp, vauth_daemon):
    page.goto(rp.origin)
    page.evaluate("document.cookie = 'seen=1; max-age=3600'; localStorage.seen = '1'")
    assert page.evaluate("register('tess')")["ok"]
    assert len(vauth_daemon.credentials()) == 1
    seen["daemon"] = vauth_daemon.process.pid
    seen["agent"] = page.evaluate("navigator.userAgent")


def test_two_sees_none_of_it(page, rp, vauth_daemon):
    page.goto(rp.origin)
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.getItem('seen')") is None
    assert vauth_daemon.credentials() == []
    assert vauth_daemon.process.pid != seen["daemon"]  # a daemon of its own
    assert page.evaluate("navigator.userAgent") == seen["agent"]  # the same browser
"""


@pytest.mark.parametrize("browser", ["chromium", "firefox"])
def test_tests_share_the_browser_but_nothing_a_test_left(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, browser: str
) -> None:
    """Issue 21: the browser, Playwright and native host are shared by the session's tests,
    as with Chromium's CDP authenticator (one browser, a fresh context per test), but nothing
    one test leaves reaches the next: not its passkey (a daemon and authenticator of its own),
    not its cookies, not its site's storage. (pytester's deep temporary directories also
    show that the session's socket path stays within a Unix socket's 107 bytes.)"""
    pytester.makeconftest((TESTER_PROJECT / "conftest.py").read_text())
    pytester.makepyfile(test_isolation=ISOLATION)
    monkeypatch.setenv("TESTER_BROWSER", browser)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
