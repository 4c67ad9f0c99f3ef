"""The error and flags invariants in Firefox (issue 21): with vauth answering in Firefox, each case
of tests/e2e/error_cases.py ends as it does in Chromium (the one table, vauth/webauthn/errors.py:
NotAllowedError when no authenticator can satisfy the request, InvalidStateError for an excluded
credential) in Firefox's own words, the words Firefox alone gives for the same DOMException before
its own virtual authenticator; and the flags are those vauth gives on every other path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Environment
from tests.e2e.error_cases import BASE, CASES, CHROMIUM_NAMES, FLAGS, GROUPS, PRELUDE, in_process
from tests.e2e.firefox.conftest import Firefox
from tests.e2e.firefox.test_firefox_object_model import firefox_alone
from tests.e2e.rp_server import RelyingParty
from vauth.testing.harness import VauthDaemon
from vauth.webauthn.errors import PAGE_ERROR_MESSAGES

pytestmark = pytest.mark.e2e

# Cases Firefox's own virtual authenticator answers as a refusing authenticator would: what a
# page gets from Firefox itself for these DOMException names.
FIREFOX_REFUSES = {
    "NotAllowedError": "no credential of allowCredentials",
    "InvalidStateError": "a credential excluded",
}


def run(page: Any, cases: list[tuple[str, str]]) -> dict[str, Any]:
    page.evaluate(PRELUDE)
    return {case: page.evaluate(f"outcome({json.dumps(source)})") for case, source in cases}


@pytest.fixture(scope="module")
def firefox_words(rp: RelyingParty, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Firefox alone: its answer to each case of FIREFOX_REFUSES."""
    with firefox_alone(rp, tmp_path_factory) as page:
        cases = dict(GROUPS[2][1])  # the default authenticator's group
        answers = run(page, [(case, cases[case]) for case in FIREFOX_REFUSES.values()])
        return {name: answers[case] for name, case in FIREFOX_REFUSES.items()}


@pytest.fixture(scope="module")
def vauth_answers(rp: RelyingParty, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Firefox with vauth, a tester daemon with each group's options in turn."""
    base = tmp_path_factory.mktemp("firefox-errors")
    answers: dict[str, Any] = {}
    firefox = None
    try:
        for options, cases in GROUPS:
            with VauthDaemon.start(base, {**BASE, **options}) as daemon:
                if firefox is None:
                    daemon.install_native_host(None, "firefox")
                    firefox = Firefox(Environment(base, daemon.env))
                page = firefox.open(rp.origin + "/")
                answers |= run(page, cases)
                page.close()
    finally:
        if firefox is not None:
            firefox.close()
    return answers


def test_firefox_words_them_as_the_table_says(firefox_words: dict[str, Any]) -> None:
    words = {name: answer["message"] for name, answer in firefox_words.items()}
    assert words == PAGE_ERROR_MESSAGES["firefox"]


@pytest.mark.parametrize("case", [c for c in CASES if c not in FLAGS])
def test_the_page_gets_the_tables_error_in_firefoxs_words(
    firefox_words: dict[str, Any], vauth_answers: dict[str, Any], case: str
) -> None:
    name = CHROMIUM_NAMES[case]
    if name == "resolved":
        assert vauth_answers[case]["name"] == "resolved"
    else:
        assert firefox_words[name]["name"] == name
        assert vauth_answers[case] == firefox_words[name]


@pytest.mark.parametrize("case", FLAGS)
def test_the_flags_are_vauths_on_every_path(vauth_answers: dict[str, Any], case: str) -> None:
    options, source = next((o, s) for o, cases in GROUPS for c, s in cases if c == case)
    assert vauth_answers[case] == in_process(options, source)
