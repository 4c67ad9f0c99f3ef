"""Issue 15: the pytest plugin's ``vauth_page`` in Firefox, for a tester's own project. A test
file outside vauth's tests (the plugin loads by its pytest11 entry point, no conftest) sets
``vauth_browser_name`` to "firefox" and registers a passkey from the page: it must pass, not
skip, and the passkey must be in the fixture's vauth daemon (not in Firefox's own virtual
authenticator, which the driver also adds). WebAuthn L3 5.1.3 (create), over vauth's add-on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.firefox.conftest import Firefox
from tests.e2e.rp_server import VAUTH_LOADED, RelyingParty
from vauth.testing.browsers import firefox as bidi

TESTER_PROJECT = '''
import http.server
import threading

import pytest


class Blank(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>blank</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def vauth_browser_name():
    return "firefox"


@pytest.fixture
def site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()


CREATE = """navigator.credentials.create({publicKey: {
  rp: {name: "Example"}, challenge: new Uint8Array(32),
  user: {id: new Uint8Array([7]), name: "tess", displayName: "Tess"},
  pubKeyCredParams: [{type: "public-key", alg: -7}],
  authenticatorSelection: {residentKey: "required"}}}).then(c => c.type)"""


@pytest.mark.vauth_authenticator(hasPrf=True)
def test_a_passkey_from_firefox(vauth_page, vauth_daemon, site):
    vauth_page.goto(site)
    assert "Firefox/" in vauth_page.evaluate("navigator.userAgent")
    vauth_page.wait_for_function(VAUTH_LOADED_EXPRESSION)
    assert vauth_page.evaluate(CREATE) == "public-key"
    (credential,) = vauth_daemon.credentials()
    assert credential["userName"] == "tess" and credential["rpId"] == "localhost"
'''.replace("VAUTH_LOADED_EXPRESSION", repr(VAUTH_LOADED))


def test_a_testers_project_gets_vauth_page_in_firefox(tmp_path: Path) -> None:
    (tmp_path / "test_tester.py").write_text(TESTER_PROJECT)
    done = subprocess.run(  # this Python's pytest on the file just written
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "test_tester.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def test_the_page_surface_passes_arguments_and_fails_clearly(
    firefox: Firefox, rp: RelyingParty
) -> None:
    """Playwright's names on a Firefox page: evaluate(function, arg) calls it with the JSON
    argument; a page error and a wait that never comes true raise FirefoxError saying which."""
    page = firefox.new_page()
    page.goto(rp.origin)
    assert page.wait_for_function("typeof window.register === 'function'") is True
    assert page.evaluate("(a) => a.x + a.y.length", {"x": 40, "y": "ab"}) == 42
    assert page.evaluate("async ([a, b]) => a * b", [6, 7]) == 42  # a promise is awaited
    with pytest.raises(bidi.FirefoxError, match="noSuchFunction"):
        page.evaluate("noSuchFunction()")
    with pytest.raises(bidi.FirefoxError, match=r"stayed falsy for 0\.3 s"):
        page.wait_for_function("window.neverSet", timeout=300)
    page.close()
