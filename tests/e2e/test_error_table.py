"""The error table and the flags, side by side (issue 21): the same page code, once before
Chromium's CDP virtual authenticator and once through vauth (its daemon in tester mode with the
same VirtualAuthenticatorOptions), in page mode and in proxy mode.

- Errors: when no authenticator can satisfy a request (a resident key of one without, user
  verification of one without, largeBlob where it is off) and whatever an authenticator answers,
  the page gets Chromium's DOMException, name and message: vauth/webauthn/errors.py's one table
  (tests/extension/test_page_errors.py checks it entry by entry). WebAuthn L3 §6.3.2 step 3
  (CREDENTIAL_EXCLUDED: InvalidStateError), §14.5.2 (a page must not learn what an
  authenticator holds: NotAllowedError for the rest).
- Statuses Chromium's authenticator cannot be made to answer: vauth's tester API (fail-next)
  makes its authenticator answer them, and the page gets the table's answer.
- Flags: the same request gives the same authenticator data flags on every path (in process,
  page mode, proxy mode)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Environment,
    launch_with_extension,
    serve_rp,
    switch_proxy_mode,
)
from vauth import VirtualAuthenticator
from vauth.base64url import decode, encode
from vauth.ctap.status import CtapStatus
from vauth.harness import VauthDaemon
from vauth.webauthn.errors import PAGE_ERROR_MESSAGES, STATUS_TO_DOM, WebAuthnError

pytestmark = pytest.mark.e2e

PRELUDE = r"""
(() => {
  const bytes = (n, fill = 1) => new Uint8Array(n).fill(fill);
  let user = 1;
  const C = (change) => {
    const publicKey = {rp: {name: "E"}, user: {id: bytes(8, user++), name: "e", displayName: "E"},
      challenge: bytes(16), pubKeyCredParams: [{type: "public-key", alg: -7}], timeout: 10000};
    change(publicKey);
    return {publicKey};
  };
  const G = (change) => {
    const publicKey = {challenge: bytes(16), timeout: 10000};
    change(publicKey);
    return {publicKey};
  };
  // create() with these authenticatorSelection, extensions and other members
  window.mc = (selection, extensions, more) => navigator.credentials.create(C((p) => {
    Object.assign(p, {authenticatorSelection: selection, extensions}, more);
  }));
  // get() with these members; `id: true`: allowCredentials is a credential made just before
  window.ga = async (more, {id} = {}) => {
    const allowed = id === true ? (await made()) : id;
    return navigator.credentials.get(G((p) => {
      Object.assign(p, more);
      if (allowed) p.allowCredentials = [{type: "public-key", id: allowed}];
    }));
  };
  // a non-discoverable credential made without user verification; its ID
  const plain = {residentKey: "discouraged", userVerification: "discouraged"};
  const made = async () => (await mc(plain)).rawId;
  window.excluded = async () =>
    mc({}, {}, {excludeCredentials: [{type: "public-key", id: await made()}]});
  window.outcome = async (source) => {
    try {
      const credential = await (0, eval)(source);
      const data = new Uint8Array(credential.response.getAuthenticatorData
        ? credential.response.getAuthenticatorData() : credential.response.authenticatorData);
      return {name: "resolved", flags: data[32]};
    } catch (e) {
      return {name: e.name, message: e.message};
    }
  };
})();
"""

BASE = {
    "protocol": "ctap2",
    "ctap2Version": "ctap2_1",
    "transport": "usb",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "hasLargeBlob": False,
    "automaticPresenceSimulation": True,
}
GET_WITH_UV = "ga({userVerification: 'required'}, {id: true})"
LARGE_BLOB = "mc({residentKey: '%s'}, {largeBlob: {support: 'required'}})"
CREATE_UV = "mc({userVerification: '%s', residentKey: 'discouraged'})"

# (authenticator options, [(case, page code)]): cases of one group share an authenticator, in
# this order.
GROUPS: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    (
        {"hasResidentKey": False},
        [("resident key required of one without", "mc({residentKey: 'required'})")],
    ),
    (
        {"hasUserVerification": False},
        [
            ("user verification required of one without (create)", CREATE_UV % "required"),
            ("user verification required of one without (get)", GET_WITH_UV),
            ("flags: no UV, userVerification discouraged", CREATE_UV % "discouraged"),
            ("flags: no UV, userVerification preferred", CREATE_UV % "preferred"),
        ],
    ),
    (
        {},
        [
            ("largeBlob support required where it is off", LARGE_BLOB % "required"),
            ("no discoverable credential", "ga({})"),
            ("no credential of allowCredentials", "ga({}, {id: new Uint8Array(32).fill(3)})"),
            (
                "no algorithm in common",
                "mc({}, {}, {pubKeyCredParams: [{type: 'public-key', alg: -65535}]})",
            ),
            ("a credential excluded", "excluded()"),
            ("flags: UV, userVerification discouraged", CREATE_UV % "discouraged"),
            ("flags: UV, userVerification preferred", CREATE_UV % "preferred"),
            ("flags: UV, userVerification required", CREATE_UV % "required"),
        ],
    ),
    (
        {"hasLargeBlob": True},
        [
            ("largeBlob required of a non-discoverable credential", LARGE_BLOB % "discouraged"),
            ("largeBlob required and there", LARGE_BLOB % "required"),
        ],
    ),
    (
        {"isUserVerified": False},
        [
            ("user verification fails (create)", CREATE_UV % "required"),
            ("user verification fails (get)", GET_WITH_UV),
        ],
    ),
    (
        {"transport": "internal"},
        [
            (
                "an authenticator of another attachment",
                "mc({authenticatorAttachment: 'cross-platform'})",
            ),
        ],
    ),
]
CASES = [case for _, cases in GROUPS for case, _ in cases]
FLAGS = [case for case in CASES if case.startswith("flags:")]
# Where Chromium's virtual authenticator answers otherwise than vauth, and why (its parity
# table, README "Testing with vauth"); the flags still agree on every vauth path.
NOT_CHROMIUMS = {
    "flags: UV, userVerification discouraged": "Chromium's virtual authenticator verifies its "
    "user whenever it can, so UV is set even when the page discourages it; vauth's client, as "
    "WebAuthn L3 §5.8.6 says of 'discouraged', does not ask for it",
}
# Statuses Chromium's authenticator cannot be made to answer, given to vauth's by fail-next.
FAILURES = [
    CtapStatus.OPERATION_DENIED,
    CtapStatus.KEY_STORE_FULL,
    CtapStatus.PIN_BLOCKED,
    CtapStatus.INVALID_CBOR,
    CtapStatus.LIMIT_EXCEEDED,
    CtapStatus.CREDENTIAL_EXCLUDED,
    CtapStatus.OTHER,
]


def run_group(page: Any, cases: list[tuple[str, str]]) -> dict[str, Any]:
    page.evaluate(PRELUDE)
    return {case: page.evaluate("(source) => outcome(source)", source) for case, source in cases}


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with serve_rp() as party:
        yield party.origin


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def chromium_answers(playwright: Any, origin: str) -> dict[str, Any]:
    """Chromium alone, a new CDP virtual authenticator for each group."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    answers: dict[str, Any] = {}
    try:
        for options, cases in GROUPS:
            context = browser.new_context()
            page = context.new_page()
            page.goto(origin)
            cdp = context.new_cdp_session(page)
            cdp.send("WebAuthn.enable", {"enableUI": False})
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {**BASE, **options}})
            answers |= run_group(page, cases)
            context.close()
    finally:
        browser.close()
    assert not [case for case, answer in answers.items() if answer["name"] == "SyntaxError"]
    return answers


@pytest.fixture(scope="module")
def vauth_answers(
    playwright: Any, origin: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """Chromium with vauth, a tester daemon with the group's options for each group, in page
    mode and in proxy mode; then the statuses of FAILURES, each made to fail by fail-next."""
    base = tmp_path_factory.mktemp("error-table")
    answers: dict[str, dict[str, Any]] = {"page": {}, "proxy": {}, "failures": {}}
    context = None
    try:
        for options, cases in [*GROUPS, ({}, [])]:
            with VauthDaemon.start(base, {**BASE, **options}) as daemon:
                if context is None:
                    context = launch_with_extension(playwright, Environment(base, daemon.env))
                for mode in ("page", "proxy"):
                    assert switch_proxy_mode(context, on=mode == "proxy") == (
                        "on" if mode == "proxy" else "off"
                    )
                    page = context.new_page()
                    page.goto(origin)
                    answers[mode] |= run_group(page, cases)
                    if not cases:  # the last round: statuses
                        answers["failures"][mode] = fail_each(page, daemon)
                    page.close()
    finally:
        if context is not None:
            context.close()
    return answers


def fail_each(page: Any, daemon: VauthDaemon) -> dict[str, Any]:
    page.evaluate(PRELUDE)
    answers = {}
    for status in FAILURES:
        daemon.fail_next(int(status))
        answers[status.name] = page.evaluate("(source) => outcome(source)", "mc({})")
    return answers


def in_process(options: dict[str, Any], source: str) -> dict[str, Any]:
    """A flags case, through vauth's VirtualAuthenticator in Python."""
    uv = source.split("userVerification: '")[1].split("'")[0]  # (CREATE_UV's)
    creation = {
        "rp": {"id": "localhost", "name": "E"},
        "user": {"id": encode(b"user-1"), "name": "e", "displayName": "E"},
        "challenge": encode(bytes(16)),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"userVerification": uv, "residentKey": "discouraged"},
    }
    with VirtualAuthenticator.from_cdp({**BASE, **options}) as va:
        try:
            made = va.create(creation, "http://localhost")
        except WebAuthnError as error:
            return {"name": error.name}
        return {"name": "resolved", "flags": decode(made["response"]["authenticatorData"])[32]}


@pytest.mark.parametrize("mode", ["page", "proxy"])
@pytest.mark.parametrize("case", [c for c in CASES if c not in FLAGS])
def test_the_page_gets_chromiums_error(
    chromium_answers: dict[str, Any],
    vauth_answers: dict[str, dict[str, Any]],
    case: str,
    mode: str,
) -> None:
    assert vauth_answers[mode][case] == chromium_answers[case]


@pytest.mark.parametrize("mode", ["page", "proxy"])
@pytest.mark.parametrize("status", FAILURES, ids=lambda s: s.name)
def test_each_status_reaches_the_page_as_the_table_says(
    vauth_answers: dict[str, dict[str, Any]], status: CtapStatus, mode: str
) -> None:
    name = STATUS_TO_DOM[status]
    expected = {"name": name, "message": PAGE_ERROR_MESSAGES[name]}
    assert vauth_answers["failures"][mode][status.name] == expected


@pytest.mark.parametrize("case", FLAGS)
def test_the_flags_are_the_same_on_every_path(
    chromium_answers: dict[str, Any], vauth_answers: dict[str, dict[str, Any]], case: str
) -> None:
    options, source = next((o, s) for o, cases in GROUPS for c, s in cases if c == case)
    page, proxy = vauth_answers["page"][case], vauth_answers["proxy"][case]
    assert page == proxy == in_process(options, source)
    if case not in NOT_CHROMIUMS:
        assert page == chromium_answers[case]
