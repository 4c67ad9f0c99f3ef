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

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Environment,
    chromium_alone,
    launch_with_extension,
    switch_proxy_mode,
)
from tests.e2e.error_cases import (
    BASE,
    CASES,
    CHROMIUM_NAMES,
    CREATE_UV,
    FLAGS,
    GROUPS,
    PRELUDE,
    in_process,
)
from vauth.ctap.status import CtapStatus
from vauth.testing.harness import VauthDaemon
from vauth.webauthn.errors import PAGE_ERROR_MESSAGES, STATUS_TO_DOM

pytestmark = pytest.mark.e2e

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


@pytest.mark.parametrize("case", [c for c in CASES if c not in FLAGS])
def test_chromium_reference(chromium_answers: dict[str, Any], case: str) -> None:
    """error_cases.py says what Chromium answers (so a change in Chromium is seen here)."""
    assert chromium_answers[case]["name"] == CHROMIUM_NAMES[case], f"Chromium changed: {case}"


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
    expected = {"name": name, "message": PAGE_ERROR_MESSAGES["chromium"][name]}
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


# Two authenticators, neither able to make what the page requires.
NONE_OF_TWO = {
    "resident key": ({"hasResidentKey": False}, "mc({residentKey: 'required'})"),
    "user verification": ({"hasUserVerification": False}, CREATE_UV % "required"),
}


@pytest.mark.parametrize("case", NONE_OF_TWO)
def test_a_create_none_of_several_authenticators_can_satisfy(
    playwright: Any, origin: str, tmp_path: Path, case: str
) -> None:
    """Two authenticators of the same options, neither able: Chromium with two CDP virtual
    authenticators, vauth's tester daemon with its own and one added over the HTTP API (both
    reached by a page's ceremony, PROTOCOL.md): the page gets the same DOMException, name and
    message (WebAuthn L3 §6.3.2 step 2: no authenticator can; §14.5.2: NotAllowedError)."""
    options, source = NONE_OF_TWO[case]
    with chromium_alone(playwright, origin) as (context, page):
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        for _ in range(2):
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {**BASE, **options}})
        chromium = run_group(page, [(case, source)])[case]
    with VauthDaemon.start(tmp_path, {**BASE, **options}) as daemon:
        daemon.request("POST", "/webauthn/authenticator", {**BASE, **options})
        context = launch_with_extension(playwright, Environment(tmp_path, daemon.env))
        try:
            page = context.new_page()
            page.goto(origin)
            answer = run_group(page, [(case, source)])[case]
        finally:
            context.close()
    assert chromium == {
        "name": "NotAllowedError",
        "message": PAGE_ERROR_MESSAGES["chromium"]["NotAllowedError"],
    }
    assert answer == chromium
