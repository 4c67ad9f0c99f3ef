"""What a tester sees, side by side (issue 21): the same page code, once in a Chromium page whose
WebAuthn is Chromium's own CDP virtual authenticator, once in a Chromium page whose WebAuthn is
vauth (its extension, native host and a tester daemon, `vauth serve --ephemeral --presence
auto`), the authenticators added and removed over each one's API (CDP's WebAuthn domain; vauth's
HTTP API). Every observable result must agree: outcome, flags, counter, extension outputs, and
what Get Credentials lists.

CDP WebAuthn domain: https://chromedevtools.github.io/devtools-protocol/tot/WebAuthn/
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_rp
from tests.e2e.test_cdp_parity import BASE_OPTIONS, CEREMONY  # the CDP comparisons' page code
from vauth.base64url import encode
from vauth.testing.harness import BASE, VauthDaemon
from vauth.testing.pytest_plugin import launch_chromium

pytestmark = pytest.mark.e2e

UP, UV, BE, BS = 0x01, 0x04, 0x08, 0x10
OPTIONS = BASE_OPTIONS  # every member given: CDP's defaults and WebDriver's differ


def creation(resident_key: str = "required", **extensions: Any) -> dict[str, Any]:
    return {
        "challenge": encode(os.urandom(16)),
        "rp": {"id": "localhost", "name": "Example"},
        "user": {"id": encode(b"user-1"), "name": "alice", "displayName": "Alice"},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": resident_key, "userVerification": "preferred"},
        "timeout": 10000,
        "extensions": extensions,
    }


def request(allow: list[str] | None = None, **extensions: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "challenge": encode(os.urandom(16)),
        "rpId": "localhost",
        "userVerification": "preferred",
        "timeout": 10000,
        "extensions": extensions,
    }
    if allow is not None:
        options["allowCredentials"] = [{"type": "public-key", "id": i} for i in allow]
    return options


def observed(result: dict[str, Any]) -> dict[str, Any]:
    if not result["ok"]:
        return {"error": result["name"]}
    data = base64.urlsafe_b64decode(result["json"]["response"]["authenticatorData"] + "==")
    return {
        "flags": data[32] & (UP | UV | BE | BS),
        "signCount": int.from_bytes(data[33:37], "big"),
        "extensions": result["json"]["clientExtensionResults"],
    }


class Side:
    """One page and the authenticators behind it."""

    page: Any
    last_id: str | None = None

    def run(self, kind: str, options: dict[str, Any]) -> dict[str, Any]:
        result = self.page.evaluate(CEREMONY, [kind, options])
        self.last_id = result["json"]["id"] if result["ok"] else None
        return observed(result)

    def add(self, **options: Any) -> str:
        raise NotImplementedError

    def remove(self, authenticator: str) -> None:
        raise NotImplementedError

    def credentials(self, authenticator: str) -> list[tuple[bool, int]]:
        raise NotImplementedError

    def remove_credential(self, authenticator: str, credential_id: str) -> None:
        raise NotImplementedError


class Cdp(Side):
    def __init__(self, browser: Any, origin: str) -> None:
        self.page = browser.new_page()
        self.page.goto(origin)
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})

    def add(self, **options: Any) -> str:
        added = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator", {"options": {**OPTIONS, **options}}
        )
        return str(added["authenticatorId"])

    def remove(self, authenticator: str) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})

    def credentials(self, authenticator: str) -> list[tuple[bool, int]]:
        found = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        return [(c["isResidentCredential"], c["signCount"]) for c in found["credentials"]]

    def remove_credential(self, authenticator: str, credential_id: str) -> None:
        raw = base64.urlsafe_b64decode(credential_id + "==")
        self.cdp.send(
            "WebAuthn.removeCredential",
            {"authenticatorId": authenticator, "credentialId": base64.b64encode(raw).decode()},
        )


class Vauth(Side):
    def __init__(self, daemon: VauthDaemon, context: Any, origin: str) -> None:
        self.daemon = daemon
        self.page = context.new_page()
        self.page.goto(origin)
        self.remove("vault")  # the one the daemon started with: both sides start with none

    def add(self, **options: Any) -> str:
        added = self.daemon.request("POST", BASE, {**OPTIONS, **options})
        return str(added["authenticatorId"])

    def remove(self, authenticator: str) -> None:
        self.daemon.request("DELETE", f"{BASE}/{authenticator}")

    def credentials(self, authenticator: str) -> list[tuple[bool, int]]:
        found = self.daemon.credentials(authenticator)
        return [(c["isResidentCredential"], c["signCount"]) for c in found]

    def remove_credential(self, authenticator: str, credential_id: str) -> None:
        self.daemon.request("DELETE", f"{BASE}/{authenticator}/credentials/{credential_id}")


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cdp, Vauth]]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with (
        serve_rp() as rp,
        sync_playwright() as playwright,
        VauthDaemon.start(tmp_path_factory.mktemp("tester")) as daemon,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = launch_chromium(playwright, daemon.env, Path(daemon.env["HOME"]) / "chromium")
        try:
            yield Cdp(browser, rp.origin), Vauth(daemon, context, rp.origin)
        finally:
            context.close()
            browser.close()


def both(sides: tuple[Cdp, Vauth], kind: str, options: dict[str, Any]) -> dict[str, Any]:
    cdp, vauth = sides
    expected = cdp.run(kind, options)
    assert vauth.run(kind, options) == expected, kind
    return expected


def test_authenticators_added_and_removed_are_the_ones_the_page_reaches(
    sides: tuple[Cdp, Vauth],
) -> None:
    """No authenticator: NotAllowedError. One added: the page reaches it, with its options
    (backup eligible and backed up: counters 1, 2, 3, as Chromium counts). Removed: none again."""
    assert both(sides, "create", creation()) == {"error": "NotAllowedError"}
    ids = [side.add(defaultBackupEligibility=True, defaultBackupState=True) for side in sides]
    made = both(sides, "create", creation())
    assert (made["flags"], made["signCount"]) == (UP | UV | BE | BS, 1)
    assert [both(sides, "get", request())["signCount"] for _ in range(2)] == [2, 3]
    assert [side.credentials(i) for side, i in zip(sides, ids, strict=True)] == [[(True, 3)]] * 2
    for side, authenticator in zip(sides, ids, strict=True):
        side.remove(authenticator)
    assert both(sides, "get", request()) == {"error": "NotAllowedError"}


def test_a_non_resident_credential_is_listed_and_its_removal_ends_it(
    sides: tuple[Cdp, Vauth],
) -> None:
    """hasResidentKey false with residentKey "preferred": credProps.rk false, listed by Get
    Credentials; after Remove Credential a get naming it is NotAllowedError."""
    ids = [side.add(hasResidentKey=False) for side in sides]
    made = both(sides, "create", creation("preferred", credProps=True))
    assert made["extensions"] == {"credProps": {"rk": False}}
    listed = [side.credentials(i) for side, i in zip(sides, ids, strict=True)]
    assert [[resident for resident, _ in each] for each in listed] == [[False], [False]]
    credential_ids = [side.last_id for side in sides]
    for side, authenticator, credential_id in zip(sides, ids, credential_ids, strict=True):
        assert credential_id is not None
        assert "error" not in observed(
            side.page.evaluate(CEREMONY, ["get", request([credential_id])])
        )
        side.remove_credential(authenticator, credential_id)
        assert side.run("get", request([credential_id])) == {"error": "NotAllowedError"}
        side.remove(authenticator)


def test_extension_outputs_match(sides: tuple[Cdp, Vauth]) -> None:
    """credProps on a CTAP 2.0 authenticator with residentKey "discouraged" (rk left out),
    credBlob on a non-discoverable credential, and no minPinLength output."""
    ids = [side.add(ctap2Version="ctap2_0") for side in sides]
    assert both(sides, "create", creation("discouraged", credProps=True))["extensions"] == {
        "credProps": {}
    }
    for side, authenticator in zip(sides, ids, strict=True):
        side.remove(authenticator)
    ids = [side.add(hasCredBlob=True, hasMinPinLength=True) for side in sides]
    blob = encode(b"blob")
    made = both(
        sides, "create", creation("discouraged", credProps=True, credBlob=blob, minPinLength=True)
    )
    assert made["extensions"] == {"credProps": {"rk": False}, "credBlob": True}
    for side in sides:
        assert side.last_id is not None
        got = observed(
            side.page.evaluate(CEREMONY, ["get", request([side.last_id], getCredBlob=True)])
        )
        assert got["extensions"] == {"getCredBlob": blob}
    for side, authenticator in zip(sides, ids, strict=True):
        side.remove(authenticator)


def test_a_u2f_authenticator_matches(sides: tuple[Cdp, Vauth]) -> None:
    """protocol "u2f": a non-resident credential, UP|AT and counter 0 at creation, counter 2 at
    the first get; residentKey "required" or a get without allowCredentials: NotAllowedError."""
    u2f = {"protocol": "u2f", "hasResidentKey": False, "hasUserVerification": False}
    ids = [side.add(**u2f) for side in sides]
    made = both(sides, "create", creation("discouraged", credProps=True))
    assert made == {"flags": UP, "signCount": 0, "extensions": {"credProps": {"rk": False}}}
    for side in sides:
        assert side.last_id is not None
        got = observed(side.page.evaluate(CEREMONY, ["get", request([side.last_id])]))
        assert (got["flags"], got["signCount"]) == (UP, 2)
    assert [side.credentials(i) for side, i in zip(sides, ids, strict=True)] == [[(False, 2)]] * 2
    assert both(sides, "create", creation("required")) == {"error": "NotAllowedError"}
    assert both(sides, "get", request()) == {"error": "NotAllowedError"}
    for each, authenticator in zip(sides, ids, strict=True):
        each.remove(authenticator)
