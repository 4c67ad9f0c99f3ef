"""A tester's tests: sign up with a passkey and sign in with it, through the page."""

from __future__ import annotations

import os
from typing import Any

import pytest
from conftest import MODE, RelyingParty

TESTS = int(os.environ.get("TESTER_TESTS", "3"))
only_vauth = pytest.mark.skipif(MODE != "vauth", reason="vauth's own fixtures")


def open_site(page: Any, rp: RelyingParty) -> Any:
    page.goto(rp.origin)
    page.wait_for_function("typeof window.register === 'function'")
    return page


@pytest.mark.parametrize("n", range(TESTS))
def test_register_and_sign_in(page: Any, rp: RelyingParty, n: int) -> None:
    open_site(page, rp)
    registered = page.evaluate(f"register('user{n}')")
    assert registered["ok"], registered
    signed_in = page.evaluate("login()")
    assert signed_in["ok"], signed_in


@only_vauth
@pytest.mark.vauth_authenticator(defaultBackupEligibility=True, defaultBackupState=True)
def test_the_marker_sets_the_authenticator_and_the_daemon_sees_its_passkey(
    page: Any, rp: RelyingParty, vauth_daemon: Any
) -> None:
    assert open_site(page, rp).evaluate("register('marked')")["ok"]
    (credential,) = vauth_daemon.credentials()
    assert credential["userName"] == "marked" and credential["rpId"] == "localhost"
    assert credential["backupEligibility"] and credential["backupState"]


@only_vauth
def test_a_bogus_signature_is_refused_by_the_relying_party(
    page: Any, rp: RelyingParty, vauth_daemon: Any
) -> None:
    assert open_site(page, rp).evaluate("register('bogus')")["ok"]
    vauth_daemon.set_response_override_bits(isBogusSignature=True)
    refused = page.evaluate("login()")
    assert refused["ok"] is False and "signature" in refused["message"].lower(), refused


@only_vauth
def test_each_test_starts_with_an_empty_authenticator(vauth_daemon: Any) -> None:
    assert vauth_daemon.credentials() == []
