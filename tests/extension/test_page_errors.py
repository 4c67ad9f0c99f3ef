"""The one table of what a page gets when a ceremony fails (issue 21): every CTAP status and every
failure of vauth's client (vauth/webauthn/errors.py), and every code a daemon, the native host or
the extension answers with (extension/shared/protocol.js PAGE_ERRORS, which must be the Python
PAGE_ERRORS). A DOMException the client raises reaches a page unchanged, so in-process and
in-page callers get the same answer. tests/e2e/test_error_table.py checks the table against
Chromium's own answers, side by side with its CDP virtual authenticator."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import support
from vauth import VirtualAuthenticator
from vauth.app.service import ErrorCode
from vauth.ctap.status import CtapStatus
from vauth.webauthn.errors import (
    CLIENT_FAILURE_TO_DOM,
    PAGE_ERROR_MESSAGES,
    PAGE_ERRORS,
    STATUS_TO_DOM,
    WebAuthnError,
)

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "extension" / "shared" / "protocol.js"
NODE = shutil.which("node")
ORIGIN = "https://example.com"
# What the options' conversion and the origin checks raise (WebIDL, WebAuthn L3 5.1.3/5.1.4),
# before the client has an authenticator to fail: a page gets these as they are.
BEFORE_ANY_AUTHENTICATOR = {"TypeError", "SecurityError", "NotSupportedError", "EncodingError"}


@pytest.fixture(scope="module")
def extension_side() -> dict[str, Any]:
    if NODE is None:
        pytest.skip("node is not installed")
    script = (
        f"import * as p from {json.dumps(PROTOCOL.as_uri())};"
        "console.log(JSON.stringify({errors: p.ERRORS, pageErrors: p.PAGE_ERRORS,"
        " messages: p.PAGE_ERROR_MESSAGES}));"
    )
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_extension_has_the_same_table(extension_side: dict[str, Any]) -> None:
    assert extension_side["pageErrors"] == PAGE_ERRORS
    assert extension_side["messages"] == PAGE_ERROR_MESSAGES
    page_script = (ROOT / "extension" / "page" / "page.js").read_text()
    for browser in ("chromium", "firefox"):  # its own NotAllowedError, when nothing answers
        assert json.dumps(PAGE_ERROR_MESSAGES[browser]["NotAllowedError"]) in page_script


def test_every_code_a_ceremony_can_end_with_is_in_the_table(extension_side: dict[str, Any]) -> None:
    assert set(PAGE_ERRORS) == set(extension_side["errors"].values())
    assert {code.value for code in ErrorCode} <= set(PAGE_ERRORS)


def test_a_name_the_client_raises_reaches_the_page_as_it_is() -> None:
    """The daemon answers with the client's DOMException name as its code; the extension passes
    it on, so a page and an in-process caller get the same name."""
    raised = set(STATUS_TO_DOM.values()) | set(CLIENT_FAILURE_TO_DOM.values())
    raised |= BEFORE_ANY_AUTHENTICATOR
    assert {name: PAGE_ERRORS[name] for name in raised} == {name: name for name in raised}


def test_every_status_is_chromiums_answer() -> None:
    """Chromium shows an authenticator's failure to the person and gives the page
    NotAllowedError; only CTAP2_ERR_CREDENTIAL_EXCLUDED is InvalidStateError (WebAuthn L3
    6.3.2 step 3)."""
    assert set(STATUS_TO_DOM) == set(CtapStatus) - {CtapStatus.OK}
    assert {s for s, name in STATUS_TO_DOM.items() if name != "NotAllowedError"} == {
        CtapStatus.CREDENTIAL_EXCLUDED
    }
    assert STATUS_TO_DOM[CtapStatus.CREDENTIAL_EXCLUDED] == "InvalidStateError"
    assert set(CLIENT_FAILURE_TO_DOM.values()) == {"NotAllowedError"}


@pytest.mark.parametrize("status", [s for s in CtapStatus if s is not CtapStatus.OK], ids=str)
def test_each_status_an_authenticator_answers_is_what_the_client_raises(status: CtapStatus) -> None:
    """vauth's own client, in process, against an authenticator made to fail with ``status``."""
    with VirtualAuthenticator() as va:
        va.fail_next(int(status))
        with pytest.raises(WebAuthnError) as failed:
            options = support.creation("failing")
            options["rp"]["id"] = "example.com"
            va.create(options, ORIGIN)
        assert failed.value.name == STATUS_TO_DOM[status]
