"""Parity with Chromium's CDP WebAuthn domain: the same VirtualAuthenticatorOptions and the same
calls, once through Chromium's own virtual authenticator (a page of Debian's chromium, driven
over CDP) and once through vauth's ``VirtualAuthenticator.from_cdp`` in Python, must give the
same observable result: the outcome, the authenticator data flags and counter, the extension
results, a bogus signature, and the events' payloads.

CDP WebAuthn domain: https://chromedevtools.github.io/devtools-protocol/tot/WebAuthn/
(addVirtualAuthenticator, setResponseOverrideBits, getCredential, setCredentialProperties, and
the events credentialAdded / credentialAsserted / credentialDeleted / credentialUpdated).
WebAuthn L3 5.1.10 (the Signal API) fires the last two in Chromium.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_rp
from vauth import VirtualAuthenticator
from vauth.base64url import decode, encode

pytestmark = pytest.mark.e2e

UP, UV, BE, BS = 0x01, 0x04, 0x08, 0x10
USER_ID = encode(b"user-1")
CEREMONY = """async ([kind, options]) => {
  try {
    const publicKey = kind === "create"
      ? PublicKeyCredential.parseCreationOptionsFromJSON(options)
      : PublicKeyCredential.parseRequestOptionsFromJSON(options);
    return {ok: true, json: (await navigator.credentials[kind]({publicKey})).toJSON()};
  } catch (e) { return {ok: false, name: e.name}; }
}"""
SIGNAL = """async ([call, args]) => { await PublicKeyCredential[call](args); return true; }"""
EVENTS = ("credentialAdded", "credentialAsserted", "credentialDeleted", "credentialUpdated")
BASE_OPTIONS = {
    "protocol": "ctap2",
    "ctap2Version": "ctap2_1",
    "transport": "usb",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture(scope="module")
def chromium() -> Iterator[tuple[Any, str]]:
    """Debian's chromium (no extension), with a page on a relying party's origin."""
    from playwright.sync_api import sync_playwright

    with serve_rp() as rp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser, rp.origin
        finally:
            browser.close()


def creation(extensions: dict[str, Any]) -> dict[str, Any]:
    return {
        "challenge": encode(os.urandom(16)),
        "rp": {"id": "localhost", "name": "Example"},
        "user": {"id": USER_ID, "name": "alice", "displayName": "Alice"},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "preferred"},
        "extensions": extensions,
    }


def request(extensions: dict[str, Any]) -> dict[str, Any]:
    return {
        "challenge": encode(os.urandom(16)),
        "rpId": "localhost",
        "userVerification": "preferred",
        "extensions": extensions,
    }


def cdp_bytes(value: str) -> bytes:
    """CDP's binary type: standard base64 with padding (vauth's API: base64url)."""
    return base64.b64decode(value)


def observed(result: dict[str, Any]) -> dict[str, Any]:
    """What a relying party observes of a ceremony's result, key material aside."""
    if not result["ok"]:
        return {"error": result["name"]}
    response = result["json"]["response"]
    data = decode(response["authenticatorData"])
    extensions = result["json"]["clientExtensionResults"]
    prf = extensions.get("prf", {})
    return {
        "flags": data[32] & (UP | UV | BE | BS),
        "signCount": int.from_bytes(data[33:37], "big"),
        "signature": {None: None, "AA": "one zero byte"}.get(response.get("signature"), "signed"),
        "prf": (prf.get("enabled"), sorted(prf.get("results", {}))),
        "largeBlob": extensions.get("largeBlob"),
    }


def described(name: str, params: dict[str, Any], decode_id: Any) -> tuple[str, dict[str, Any]]:
    """An event with its ids decoded from each side's encoding, its private key left out."""
    if "credentialId" in params:
        return name, {"credentialId": decode_id(params["credentialId"])}
    credential = dict(params["credential"])
    credential["credentialId"] = decode_id(credential["credentialId"])
    credential["userHandle"] = decode_id(credential["userHandle"])
    assert credential.pop("privateKey")
    return name, credential


def comparable(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, list[Any]]]:
    """What both sides must agree on: each side made its own key, so not the credential ID."""
    return [
        (name, sorted((k, v) for k, v in body.items() if k != "credentialId"))
        for name, body in events
    ]


class Chromium:
    """Chromium's CDP virtual authenticator, behind a page."""

    def __init__(self, browser: Any, origin: str, options: dict[str, Any]) -> None:
        self.page = browser.new_page()
        self.page.goto(origin)
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.events: list[tuple[str, dict[str, Any]]] = []
        for name in EVENTS:
            self.cdp.on(
                f"WebAuthn.{name}",
                lambda params, name=name: self.events.append(described(name, params, cdp_bytes)),
            )
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        added = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        self.id = added["authenticatorId"]

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        return observed(self.page.evaluate(CEREMONY, ["create", options]))

    def get(self, options: dict[str, Any]) -> dict[str, Any]:
        return observed(self.page.evaluate(CEREMONY, ["get", options]))

    def override(self, **bits: bool) -> None:
        self.cdp.send("WebAuthn.setResponseOverrideBits", {"authenticatorId": self.id, **bits})

    def signal(self, call: str, args: dict[str, Any]) -> None:
        self.page.evaluate(SIGNAL, [call, args])
        self.page.wait_for_timeout(200)  # the event comes after the promise resolves

    def credential(self, credential_id: bytes) -> dict[str, Any]:
        return self.cdp.send(  # type: ignore[no-any-return]
            "WebAuthn.getCredential",
            {"authenticatorId": self.id, "credentialId": base64.b64encode(credential_id).decode()},
        )["credential"]

    def close(self) -> None:
        self.page.close()


class Vauth:
    """vauth's VirtualAuthenticator made from the same CDP options, in Python."""

    def __init__(self, origin: str, options: dict[str, Any]) -> None:
        self.origin = origin
        self.authenticator = VirtualAuthenticator.from_cdp(options)
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.authenticator.on(
            lambda name, params: self.events.append(described(name, params, decode))
        )

    def _run(self, kind: str, options: dict[str, Any]) -> dict[str, Any]:
        run = self.authenticator.create if kind == "create" else self.authenticator.get
        try:
            return observed({"ok": True, "json": run(options, self.origin)})
        except Exception as exc:  # a WebAuthnError carries the DOMException name
            return {"error": getattr(exc, "name", type(exc).__name__)}

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        return self._run("create", options)

    def get(self, options: dict[str, Any]) -> dict[str, Any]:
        return self._run("get", options)

    def override(self, **bits: bool) -> None:
        self.authenticator.set_response_override_bits(
            bits.get("isBogusSignature", False),
            bits.get("isBadUV", False),
            bits.get("isBadUP", False),
        )

    def signal(self, call: str, args: dict[str, Any]) -> None:
        if call == "signalUnknownCredential":
            self.authenticator.signal_unknown_credential(args["rpId"], args["credentialId"])
        else:
            self.authenticator.signal_current_user_details(
                args["rpId"], args["userId"], args["name"], args["displayName"]
            )

    def credential(self, credential_id: bytes) -> dict[str, Any]:
        return self.authenticator.get_credential(encode(credential_id))

    def close(self) -> None:
        self.authenticator.close()


def both(chromium: tuple[Any, str], options: dict[str, Any]) -> tuple[Chromium, Vauth]:
    browser, origin = chromium
    return Chromium(browser, origin, options), Vauth(origin, options)


PRF = {"prf": {"eval": {"first": encode(b"a" * 32)}}}


@pytest.mark.parametrize(
    ("options", "create_extensions", "get_extensions"),
    [
        pytest.param({"hasPrf": True}, PRF, PRF, id="hasPrf"),
        pytest.param({}, PRF, PRF, id="hasPrf-absent"),
        pytest.param(
            {"hasLargeBlob": True}, {"largeBlob": {"support": "preferred"}}, {}, id="hasLargeBlob"
        ),
        pytest.param({}, {"largeBlob": {"support": "preferred"}}, {}, id="hasLargeBlob-absent"),
        pytest.param(
            {"defaultBackupEligibility": True, "defaultBackupState": True},
            {},
            {},
            id="defaultBackup",
        ),
        pytest.param({"defaultBackupEligibility": True}, {}, {}, id="defaultBackupEligibility"),
        pytest.param({"isUserVerified": False}, {}, {}, id="isUserVerified-false"),
        pytest.param({"hasHmacSecret": True}, PRF, PRF, id="hasHmacSecret"),
        pytest.param(
            {"hasHmacSecret": True, "hasHmacSecretMc": True}, PRF, PRF, id="hasHmacSecretMc"
        ),
        pytest.param({"hasCredBlob": True}, {}, {}, id="hasCredBlob"),
        pytest.param({"hasMinPinLength": True}, {}, {}, id="hasMinPinLength"),
        pytest.param({"ctap2Version": "ctap2_0"}, PRF, {}, id="ctap2Version-ctap2_0"),
        pytest.param(
            {"automaticPresenceSimulation": True}, {}, {}, id="automaticPresenceSimulation"
        ),
    ],
)
def test_options_give_the_same_ceremonies(
    chromium: tuple[Any, str],
    options: dict[str, Any],
    create_extensions: dict[str, Any],
    get_extensions: dict[str, Any],
) -> None:
    cdp, vauth = both(chromium, {**BASE_OPTIONS, **options})
    try:
        made = cdp.create(creation(create_extensions))
        assert vauth.create(creation(create_extensions)) == made
        got = cdp.get(request(get_extensions))
        assert vauth.get(request(get_extensions)) == got
        assert comparable(vauth.events) == comparable(cdp.events)
        expected = ["credentialAdded"] * ("error" not in made)
        expected += ["credentialAsserted"] * ("error" not in got)
        assert [name for name, _ in cdp.events] == expected
    finally:
        cdp.close()
        vauth.close()


@pytest.mark.parametrize(
    "bits",
    [
        pytest.param({"isBogusSignature": True}, id="isBogusSignature"),
        pytest.param({"isBadUV": True}, id="isBadUV"),
        pytest.param({"isBadUP": True}, id="isBadUP"),
        pytest.param({"isBogusSignature": True, "isBadUV": True, "isBadUP": True}, id="all"),
    ],
)
def test_response_override_bits_give_the_same_responses(
    chromium: tuple[Any, str], bits: dict[str, bool]
) -> None:
    cdp, vauth = both(chromium, BASE_OPTIONS)
    try:
        for side in (cdp, vauth):
            side.create(creation({}))
            side.override(**bits)
        got = cdp.get(request({}))
        assert vauth.get(request({})) == got
        assert got["signature"] == ("one zero byte" if bits.get("isBogusSignature") else "signed")
        for side in (cdp, vauth):
            side.override()
        assert vauth.get(request({})) == cdp.get(request({}))
    finally:
        cdp.close()
        vauth.close()


def test_events_and_get_credential_match_through_the_signal_api(
    chromium: tuple[Any, str],
) -> None:
    cdp, vauth = both(chromium, BASE_OPTIONS)
    try:
        for side in (cdp, vauth):
            side.create(creation({}))
        # Both sides made their own key; what follows is about each side's own credential.
        cdp_id = cdp.events[0][1]["credentialId"]
        vauth_id = vauth.events[0][1]["credentialId"]
        cdp_credential, vauth_credential = cdp.credential(cdp_id), vauth.credential(vauth_id)
        assert set(vauth_credential) == set(cdp_credential)
        for name in ("isResidentCredential", "rpId", "signCount", "userName", "userDisplayName"):
            assert vauth_credential[name] == cdp_credential[name], name
        details = {"rpId": "localhost", "userId": USER_ID, "name": "bob", "displayName": "Bob"}
        for side in (cdp, vauth):
            side.signal("signalCurrentUserDetails", details)
        for side, credential_id in ((cdp, cdp_id), (vauth, vauth_id)):
            side.signal(
                "signalUnknownCredential",
                {"rpId": "localhost", "credentialId": encode(credential_id)},
            )
        assert comparable(vauth.events) == comparable(cdp.events)
        assert [name for name, _ in cdp.events] == [
            "credentialAdded",
            "credentialUpdated",
            "credentialDeleted",
        ]
        assert vauth.events[1][1]["userName"] == "bob"
        assert [vauth.events[2][1], cdp.events[2][1]] == [
            {"credentialId": vauth_id},
            {"credentialId": cdp_id},
        ]
    finally:
        cdp.close()
        vauth.close()


def test_presence_simulation_off_gives_the_same_refusal(chromium: tuple[Any, str]) -> None:
    """automaticPresenceSimulation false: no user answers. Chromium's ceremony ends at its
    timeout; vauth's presence gives up after its wait (made short here): NotAllowedError."""
    cdp, vauth = both(chromium, {**BASE_OPTIONS, "automaticPresenceSimulation": False})
    presence = vauth.authenticator.tester.auto_presence()
    presence.wait_s = 0.5
    try:
        options = {**creation({}), "timeout": 1000}
        refused = cdp.create(options)
        assert refused == {"error": "NotAllowedError"}
        assert vauth.create(options) == refused
        assert cdp.events == vauth.events == []
    finally:
        cdp.close()
        vauth.close()


def test_sign_count_minus_one_gives_the_same_counter(chromium: tuple[Any, str]) -> None:
    """setCredentialProperties signCount -1: the credential has no counter; assertions say 0.
    (Chromium's getCredential then shows -1, vauth's 0: the credential's counter is 0.)"""
    cdp, vauth = both(chromium, BASE_OPTIONS)
    try:
        for side in (cdp, vauth):
            side.create(creation({}))
        cdp_id = cdp.events[0][1]["credentialId"]
        cdp.cdp.send(
            "WebAuthn.setCredentialProperties",
            {
                "authenticatorId": cdp.id,
                "credentialId": base64.b64encode(cdp_id).decode(),
                "signCount": -1,
            },
        )
        vauth.authenticator.set_credential_properties(
            encode(vauth.events[0][1]["credentialId"]), sign_count=-1
        )
        got = cdp.get(request({}))
        assert got["signCount"] == 0
        assert vauth.get(request({})) == got
    finally:
        cdp.close()
        vauth.close()
