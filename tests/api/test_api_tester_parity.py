"""A tester daemon's authenticators behave as Chromium's virtual ones (issue 21, "What a tester
sees"). Each expectation below is what Chromium 156's CDP virtual authenticator gave for the same
options and calls (tests/e2e/test_tester_parity.py compares the two side by side in Chromium);
here the daemon's own edges are driven: the socket's create and get as the extension sends them
for a page (no authenticatorId), and the HTTP API as a tester's harness calls it."""

from __future__ import annotations

import os
from typing import Any

import webauthn
from api_support import ORIGIN, RP_ID, Api, b64url, unb64url

from vauth.app.device import Configuration, configured_device
from vauth.app.service import VAULT_ID, Service
from vauth.daemon.actions import dispatcher

BASE = "/webauthn/authenticator"
UP, UV, BE, BS = 0x01, 0x04, 0x08, 0x10


def creation(resident_key: str = "required", **extensions: Any) -> dict[str, Any]:
    return {
        "challenge": b64url(os.urandom(16)),
        "rp": {"id": RP_ID, "name": "Example"},
        "user": {"id": b64url(b"user-1"), "name": "alice", "displayName": "Alice"},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": resident_key, "userVerification": "preferred"},
        "extensions": extensions,
    }


def request(allow: list[str] | None = None, **extensions: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "challenge": b64url(os.urandom(16)),
        "rpId": RP_ID,
        "extensions": extensions,
    }
    if allow is not None:
        options["allowCredentials"] = [{"type": "public-key", "id": i} for i in allow]
    return options


class Page:
    """The extension's requests for a page: the socket's actions, no authenticatorId."""

    def __init__(self, service: Service) -> None:
        self.dispatch = dispatcher(service)

    async def run(self, action: str, options: dict[str, Any]) -> dict[str, Any]:
        params = {"origin": ORIGIN, "options": options}
        return await self.dispatch({"id": 1, "action": action, "params": params}, None)


def counter_and_flags(response: dict[str, Any]) -> tuple[int, int]:
    data = unb64url(response["response"]["authenticatorData"])
    return int.from_bytes(data[33:37], "big"), data[32] & (UP | UV | BE | BS)


async def add(api: Api, **options: Any) -> str:
    body = await api.ok("POST", BASE, json={"hasResidentKey": True, **options})
    return str(body["authenticatorId"])


async def test_page_ceremonies_reach_the_authenticators_added_over_http(
    api: Api, service: Service
) -> None:
    """As with WebDriver or CDP: a tester changes options by adding and removing authenticators;
    removing the last one leaves the page with none (NotAllowedError, as Chromium's page gets
    once its timeout passes)."""
    page = Page(service)
    started = configured_device(Configuration())
    service.authenticators[VAULT_ID] = started  # as `vauth serve --ephemeral` starts
    assert (await page.run("create", creation()))["ok"]
    assert len(await started.credentials()) == 1
    assert await api.ok("DELETE", f"{BASE}/{VAULT_ID}") is None
    added = await add(api, defaultBackupEligibility=True)
    made = await page.run("create", creation())
    assert made["ok"], made
    assert counter_and_flags(made["result"])[1] & BE  # the added authenticator's options
    assert len(await api.ok("GET", f"{BASE}/{added}/credentials")) == 1
    assert await api.ok("DELETE", f"{BASE}/{added}") is None
    for action, options in (("create", creation()), ("get", request())):
        refused = await page.run(action, options)
        assert refused["error"]["code"] == "NotAllowedError", refused


async def test_several_authenticators_answer_as_chromium_asks_them(
    api: Api, service: Service
) -> None:
    """Chromium sends a create to every authenticator (each makes a credential) and a get is
    answered by one holding the credential; it races them, vauth asks in the order added."""
    page = Page(service)
    first, second = await add(api), await add(api)
    made = await page.run("create", creation())
    assert made["ok"], made
    listed = [await api.ok("GET", f"{BASE}/{i}/credentials") for i in (first, second)]
    assert [len(each) for each in listed] == [1, 1]
    assert made["result"]["id"] == listed[0][0]["credentialId"]
    await api.ok("DELETE", f"{BASE}/{first}/credentials")
    got = await page.run("get", request())
    assert got["ok"] and got["result"]["id"] == listed[1][0]["credentialId"]
    without_rk = await add(api, hasResidentKey=False)
    refused = await page.run("create", creation())  # residentKey required: one cannot
    # the page's DOMException for "no authenticator can" is the page script's mapping (issue 21,
    # "Errors"): NotAllowedError, as Chromium gives it, once that mapping lands
    assert refused["error"]["code"] in ("NotAllowedError", "ConstraintError"), refused
    assert await api.ok("GET", f"{BASE}/{without_rk}/credentials") == []


async def test_a_non_resident_credential_is_listed_and_removing_it_ends_it(
    api: Api, service: Service
) -> None:
    """hasResidentKey false, residentKey "preferred": a non-resident credential (credProps.rk
    false) that Get Credentials lists with its key; after Remove Credential (or Clear
    Credentials) a get with its ID is NotAllowedError, as in Chromium."""
    page = Page(service)
    authenticator = await add(api, hasResidentKey=False)
    for remove in ("one", "all"):
        made = await page.run("create", creation("preferred", credProps=True))
        assert made["result"]["clientExtensionResults"]["credProps"] == {"rk": False}
        credential_id = made["result"]["id"]
        (listed,) = await api.ok("GET", f"{BASE}/{authenticator}/credentials")
        assert listed["credentialId"] == credential_id
        assert listed["isResidentCredential"] is False and listed["privateKey"]
        assert (await page.run("get", request([credential_id])))["ok"]
        path = f"{BASE}/{authenticator}/credentials"
        await api.ok("DELETE", f"{path}/{credential_id}" if remove == "one" else path)
        refused = await page.run("get", request([credential_id]))
        assert refused["error"]["code"] == "NotAllowedError", refused


async def test_backup_eligible_counters_count_as_chromium(api: Api, service: Service) -> None:
    """defaultBackupEligibility and defaultBackupState: counters 1, 2, 3 across create, get,
    get, with BE and BS set (Chromium's virtual authenticator counts them too)."""
    page = Page(service)
    await add(api, defaultBackupEligibility=True, defaultBackupState=True)
    seen = [counter_and_flags((await page.run("create", creation()))["result"])]
    for _ in range(2):
        seen.append(counter_and_flags((await page.run("get", request()))["result"]))
    assert seen == [(1, UP | UV | BE | BS), (2, UP | UV | BE | BS), (3, UP | UV | BE | BS)]


async def test_extension_outputs_are_chromiums(api: Api, service: Service) -> None:
    """credProps.rk is left out for residentKey "discouraged" on a CTAP 2.0 authenticator with
    resident keys (CTAP 2.1: false); credBlob is kept with a non-discoverable credential and
    read back by getCredBlob; minPinLength has no client output (Chromium gives none)."""
    page = Page(service)
    ctap20 = await add(api, ctap2Version="ctap2_0")
    made = await page.run("create", creation("discouraged", credProps=True))
    assert made["result"]["clientExtensionResults"]["credProps"] == {}
    await api.ok("DELETE", f"{BASE}/{ctap20}")
    await add(api, ctap2Version="ctap2_1", hasCredBlob=True, hasMinPinLength=True)
    made = await page.run(
        "create",
        creation("discouraged", credProps=True, credBlob=b64url(b"blob"), minPinLength=True),
    )
    assert made["result"]["clientExtensionResults"] == {
        "credProps": {"rk": False},
        "credBlob": True,
    }
    got = await page.run("get", request([made["result"]["id"]], getCredBlob=True))
    assert got["result"]["clientExtensionResults"] == {"getCredBlob": b64url(b"blob")}


async def test_a_u2f_authenticator_answers_as_chromiums_does(api: Api, service: Service) -> None:
    """protocol "u2f" (WebDriver's "ctap1/u2f"): the client speaks U2F to it (CTAP 2.1 10.2 and
    10.3). As Chromium's: a non-resident credential (credProps.rk false) with flags UP|AT and
    counter 0 at creation, counter 2 at the first get (the registration counts), listed by Get
    Credentials; residentKey or userVerification "required", or a get without allowCredentials,
    is NotAllowedError. python-fido2's server accepts the fido-u2f attestation."""
    page = Page(service)
    authenticator = (await api.ok("POST", BASE, json={"protocol": "u2f"}))["authenticatorId"]
    options = {**creation("discouraged", credProps=True), "attestation": "direct"}
    made = await page.run("create", options)
    assert made["ok"], made
    result = made["result"]
    assert result["clientExtensionResults"] == {"credProps": {"rk": False}}
    assert counter_and_flags(result) == (0, UP)
    assert result["response"]["transports"] == ["usb"]
    verified = webauthn.verify_registration_response(
        credential=result,
        expected_challenge=unb64url(options["challenge"]),
        expected_origin=ORIGIN,
        expected_rp_id=RP_ID,
    )
    assert verified.fmt == "fido-u2f"
    got = await page.run("get", request([result["id"]]))
    assert got["ok"] and counter_and_flags(got["result"]) == (2, UP), got
    (listed,) = await api.ok("GET", f"{BASE}/{authenticator}/credentials")
    assert listed["credentialId"] == result["id"] and listed["isResidentCredential"] is False
    for action, refused_options in (
        ("create", creation("required")),
        (
            "create",
            {**creation("discouraged"), "authenticatorSelection": {"userVerification": "required"}},
        ),
        ("get", request()),
    ):
        refused = await page.run(action, refused_options)
        assert refused["error"]["code"] == "NotAllowedError", (action, refused)
