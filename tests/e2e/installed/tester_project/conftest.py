"""A tester's project, as someone who installed vauth would write it: a relying party of its own
(the standard library's HTTP server, every ceremony verified by py_webauthn) and a ``page``
fixture. Nothing here comes from vauth's source tree; the fixtures come from the installed
package's pytest plugin.

    TESTER_BROWSER=chromium|firefox   the browser of vauth_page (default chromium)
    TESTER_MODE=vauth|cdp             vauth_page, or (the reference) Playwright's Chromium with
                                      Chromium's own CDP virtual authenticator: one browser for
                                      the run, a fresh context and authenticator per test
    TESTER_TESTS=N                    how many register-and-sign-in tests (default 3)
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import webauthn
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

MODE = os.environ.get("TESTER_MODE", "vauth")
BROWSER = os.environ.get("TESTER_BROWSER", "chromium")

PAGE = b"""<!doctype html><meta charset="utf-8"><title>Tester's site</title><script>
async function post(path, body) {
  const r = await fetch(path, {method: "POST", body: JSON.stringify(body)});
  return r.json();
}
window.register = async (name) => {
  try {
    const options = await post("/register/options", {name});
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
    const credential = await navigator.credentials.create({publicKey});
    return await post("/register/verify", credential.toJSON());
  } catch (e) { return {ok: false, name: e.name, message: e.message}; }
};
window.login = async () => {
  try {
    const options = await post("/login/options", {});
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
    const credential = await navigator.credentials.get({publicKey});
    return await post("/login/verify", credential.toJSON());
  } catch (e) { return {ok: false, name: e.name, message: e.message}; }
};
</script>"""


class RelyingParty(http.server.ThreadingHTTPServer):
    """rpId localhost; each ceremony's response checked by py_webauthn."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server_address[1]}"
        self.challenge = b""
        self.credentials: dict[bytes, Any] = {}  # id -> VerifiedRegistration
        self.lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    server: RelyingParty

    def do_GET(self) -> None:
        self.answer(PAGE, "text/html")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            try:
                answer = getattr(self, self.path.strip("/").replace("/", "_"))(body)
            except Exception as exc:  # the test reads why
                answer = {"ok": False, "name": "verification", "message": str(exc)}
        self.answer(json.dumps(answer).encode(), "application/json")

    def answer(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass

    def register_options(self, body: bytes) -> Any:
        self.server.challenge = secrets.token_bytes(32)
        options = webauthn.generate_registration_options(
            rp_id="localhost",
            rp_name="Tester's site",
            user_name=json.loads(body)["name"],
            challenge=self.server.challenge,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
        )
        return json.loads(webauthn.options_to_json(options))

    def register_verify(self, body: bytes) -> Any:
        verified = webauthn.verify_registration_response(
            credential=parse_registration_credential_json(body.decode()),
            expected_challenge=self.server.challenge,
            expected_rp_id="localhost",
            expected_origin=self.server.origin,
        )
        self.server.credentials[verified.credential_id] = verified
        return {"ok": True}

    def login_options(self, body: bytes) -> Any:
        self.server.challenge = secrets.token_bytes(32)
        options = webauthn.generate_authentication_options(
            rp_id="localhost",
            challenge=self.server.challenge,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return json.loads(webauthn.options_to_json(options))

    def login_verify(self, body: bytes) -> Any:
        credential = parse_authentication_credential_json(body.decode())
        registered = self.server.credentials[credential.raw_id]
        webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=self.server.challenge,
            expected_rp_id="localhost",
            expected_origin=self.server.origin,
            credential_public_key=registered.credential_public_key,
            credential_current_sign_count=0,
        )
        return {"ok": True}


@pytest.fixture(scope="session")
def rp() -> Iterator[RelyingParty]:
    server = RelyingParty()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture
def vauth_browser_name() -> str:
    return BROWSER


if MODE == "cdp":

    @pytest.fixture(scope="session")
    def cdp_browser() -> Iterator[Any]:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--headless=new", "--no-sandbox", "--disable-gpu"],
            )
            yield browser
            browser.close()

    @pytest.fixture
    def page(cdp_browser: Any) -> Iterator[Any]:
        """A fresh context, with Chromium's CDP virtual authenticator (WebDriver's defaults
        for a passkey: internal, resident keys, user verification)."""
        context = cdp_browser.new_context()
        page = context.new_page()
        devtools = context.new_cdp_session(page)
        devtools.send("WebAuthn.enable", {"enableUI": False})
        options = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True}
        options |= {"hasUserVerification": True, "isUserVerified": True}
        devtools.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        yield page
        context.close()

else:

    @pytest.fixture
    def page(vauth_page: Any) -> Any:
        return vauth_page
