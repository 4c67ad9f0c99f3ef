"""vauth in a real Firefox (Debian's firefox-esr, headless, WebDriver BiDi): the Firefox add-on,
the native host under ~/.mozilla and a real `vauth serve`, in front of a relying party on
127.0.0.1 that verifies every ceremony with py_webauthn. The same cases as Chromium's
(tests/e2e/test_extension.py, test_origin_checks.py); the ceremony window's prompts are answered
over the daemon's socket (`vauth prompts`), which Firefox's remote agent leaves us."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests import support
from tests.e2e.conftest import PASSPHRASE, Environment
from tests.e2e.firefox.conftest import Firefox, Page
from tests.e2e.rp_server import RelyingParty

pytestmark = pytest.mark.e2e
STATUS_FRESH_S = 2.1  # the add-on reuses the daemon's status for 2 s (background/ceremony.js)
OPAQUE = (
    "The current origin is an opaque origin and hence not allowed to access "
    "'PublicKeyCredential' objects."
)


def open_site(firefox: Firefox, rp: RelyingParty, path: str = "/") -> Page:
    page = firefox.open(rp.origin + path)
    wait(lambda: page.evaluate("typeof window.register === 'function'"), "the page")
    return page


def wait(check: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def start(page: Page, call: str) -> None:
    """Begin a ceremony in the page without waiting for it."""
    page.evaluate(f"window.__result = undefined; ({call}).then(r => window.__result = r); null")


def result(page: Page, timeout: float = 20.0) -> dict[str, Any]:
    return wait(lambda: page.evaluate("window.__result"), "the page's answer", timeout)  # type: ignore[no-any-return]


def pending(page: Page) -> bool:
    return page.evaluate("window.__result === undefined") is True


def prompts(environment: Environment) -> list[dict[str, Any]]:
    return json.loads(environment.cli("prompts", "--json").stdout)  # type: ignore[no-any-return]


def the_prompt(environment: Environment) -> dict[str, Any]:
    """The one prompt waiting for the person (what the ceremony window would show)."""
    found = wait(lambda: prompts(environment), "the daemon's prompt")
    assert len(found) == 1, found
    return found[0]  # type: ignore[no-any-return]


def listed(environment: Environment) -> list[tuple[str, str]]:
    return [
        (c["rpId"], c["userName"]) for c in json.loads(environment.cli("list", "--json").stdout)
    ]


def register_approved(page: Page, environment: Environment, name: str) -> dict[str, Any]:
    start(page, f"register('{name}')")
    prompt = the_prompt(environment)
    assert (prompt["ceremony"], prompt["rpId"], prompt["userName"]) == (
        "makeCredential",
        "localhost",
        name,
    )
    environment.cli("prompts", "approve", prompt["id"])
    return result(page)


# -- tester mode: no prompt ---------------------------------------------------------------------


def test_tester_mode_registers_and_signs_in(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """WebAuthn L3 7.1 / 7.2: the RP (py_webauthn) verifies a registration and an assertion made
    by vauth through Firefox's own PublicKeyCredential objects."""
    start_daemon("--presence", "auto")
    page = open_site(firefox, rp)
    registered = page.evaluate("register('alice')")
    assert registered["ok"], registered
    checks = registered["checks"]
    assert checks["instance"] and checks["response"] and checks["publicKey"]
    assert checks["algorithm"] == -8 and checks["transports"]
    signed_in = page.evaluate("login()")
    assert signed_in == {**signed_in, "ok": True, "user": "alice"}
    assert signed_in["checks"] == {"instance": True, "response": True}
    assert listed(environment) == [("localhost", "alice")]
    page.close()


# -- prompts answered over the daemon's socket --------------------------------------------------


def test_register_and_sign_in_answered_over_the_socket(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    start_daemon("--presence", "prompt")
    page = open_site(firefox, rp)
    registered = register_approved(page, environment, "bob")
    assert registered["ok"], registered
    start(page, "login()")
    prompt = the_prompt(environment)
    assert (prompt["ceremony"], prompt["rpId"]) == ("getAssertion", "localhost")
    environment.cli("prompts", "approve", prompt["id"])
    assert result(page) == {**result(page), "ok": True, "user": "bob"}
    page.close()


def test_account_choice(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """CTAP 2.1 6.2.2 step 11/12: with several discoverable credentials, the person picks one
    (here over the socket, as `vauth prompts approve ID --account N`)."""
    start_daemon("--presence", "prompt")
    page = open_site(firefox, rp)
    for name in ("carol", "dave"):
        assert register_approved(page, environment, name)["ok"]
    start(page, "login()")
    prompt = the_prompt(environment)
    names = [account["userName"] for account in prompt["accounts"]]
    assert sorted(names) == ["carol", "dave"], prompt
    environment.cli("prompts", "approve", prompt["id"], "--account", str(names.index("carol")))
    assert result(page) == {**result(page), "ok": True, "user": "carol"}
    page.close()


def test_cancel_gives_not_allowed(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """WebAuthn L3 6.3.2 step 3 / 5.1.3 step 22: a person who says no is a NotAllowedError, and
    nothing is stored."""
    start_daemon("--presence", "prompt")
    page = open_site(firefox, rp)
    start(page, "register('erin')")
    environment.cli("prompts", "deny", the_prompt(environment)["id"])
    cancelled = result(page)
    assert cancelled["ok"] is False and cancelled["name"] == "NotAllowedError", cancelled
    assert listed(environment) == []
    page.close()


def test_locked_vault_waits_and_goes_on_once_unlocked(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """A locked vault holds the ceremony (the window offers to unlock it); nothing is asked of
    the vault until it is unlocked, here with `vauth unlock`, and then the ceremony goes on."""
    start_daemon("--presence", "prompt")
    environment.cli("lock")
    page = open_site(firefox, rp)
    start(page, "register('grace')")
    time.sleep(2.5)
    assert pending(page) and prompts(environment) == []
    environment.cli("unlock")
    environment.cli("prompts", "approve", the_prompt(environment)["id"])
    assert result(page)["ok"], result(page)
    assert listed(environment) == [("localhost", "grace")]
    page.close()


def test_daemon_down_waits_and_goes_on_when_it_starts(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """Without a daemon the ceremony waits (the window says vauth is not running) instead of
    failing the page; once `vauth serve` runs, it goes on."""
    page = open_site(firefox, rp)
    start(page, "register('heidi')")
    time.sleep(2.5)
    assert pending(page)
    start_daemon("--presence", "auto")
    registered = result(page)
    assert registered["ok"], registered
    assert listed(environment) == [("localhost", "heidi")]
    page.close()


def test_abort_ends_the_ceremony_and_its_prompt(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """WebAuthn L3 5.1.3 step 21 (the AbortSignal): the page gets AbortError, the daemon's
    prompt for that ceremony is withdrawn and the ceremony window closes."""
    start_daemon("--presence", "prompt")
    page = open_site(firefox, rp)
    start(
        page,
        """(async () => {
            const options = await (await fetch('/register/options', {method: 'POST',
                headers: {'Content-Type': 'application/json'}, body: '{"name": "ivan"}'})).json();
            window.__controller = new AbortController();
            try {
                await navigator.credentials.create({signal: window.__controller.signal,
                    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
                return {ok: true};
            } catch (e) { return {ok: false, name: e.name}; }
        })()""",
    )
    the_prompt(environment)
    # The daemon announces the prompt before the window has loaded: wait for the window.
    wait(lambda: firefox.window("true") is True, "the ceremony window to open")
    page.evaluate("window.__controller.abort(); null")
    assert result(page) == {"ok": False, "name": "AbortError"}
    wait(lambda: prompts(environment) == [], "the prompt to be withdrawn")
    wait(lambda: firefox.window("true") is None, "the window to close")
    assert listed(environment) == []
    page.close()


def test_a_daemon_replaced_by_a_prompting_one_gets_its_window(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """The add-on reuses the daemon's status for 2 s. A tester daemon (`--presence auto`)
    replaced meanwhile by one that prompts still gets its ceremony window: the add-on asks again
    when a ceremony it let go ahead without a window has not finished. (The prompting daemon is
    started beforehand on a socket of its own and moved into place, so that the swap is quicker
    than those 2 s on a loaded machine; without the second look, the prompt waits with no
    window, as in a flaky run of the abort test after the daemon-down one.)"""
    runtime = Path(environment.env["XDG_RUNTIME_DIR"])
    waiting = runtime / "vauth-next" / "vauth.sock"
    tester = start_daemon("--presence", "auto", "--ephemeral")
    start_daemon("--presence", "prompt", "--socket", str(waiting))
    page = open_site(firefox, rp)
    assert page.evaluate("register('judy')")["ok"]
    # The add-on now holds "presence: auto", from the start of judy's ceremony. Let that go stale
    # and have the add-on fetch it afresh just before the swap (isUserVerifyingPlatform-
    # AuthenticatorAvailable asks for the daemon's status), and kill the tester rather than stop
    # it: on a loaded machine a graceful stop alone took 1.6 s of the 2.
    time.sleep(STATUS_FRESH_S)
    began = time.monotonic()
    assert page.evaluate("PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()")
    tester.process.kill()
    tester.process.wait(10)
    waiting.rename(runtime / "vauth" / "vauth.sock")
    start(page, "register('kim')")
    assert time.monotonic() - began < 1.5, "the swap took longer than the status is reused"
    prompt = the_prompt(environment)
    assert prompt["userName"] == "kim", prompt
    wait(lambda: firefox.window("true") is True, "the ceremony window to open")
    environment.cli("prompts", "approve", prompt["id"])
    assert result(page)["ok"], result(page)
    wait(lambda: firefox.window("true") is None, "the window to close")
    assert listed(environment) == [("localhost", "kim")]  # judy was the tester's, kept nowhere
    page.close()


# -- clicking through the ceremony window ---------------------------------------------------------
# (BiDi does not reach extension pages; the driver reaches the window with a frame script.)

# (The window's document may not be ceremony.html yet, or not parsed: its script's first render,
# body[data-state], comes first in every check below.)
RENDERED = "Boolean(document.body?.dataset.state)"
APPROVE_READY = f"{RENDERED} && !document.querySelector('#approve').disabled"


def visible(selector: str) -> str:
    return f"(e => Boolean(e) && !e.closest('[hidden]'))(document.querySelector('{selector}'))"


def ready(selector: str) -> str:
    """``selector`` is visible and the window's script listens to it. "Use another
    authenticator" and "Cancel" are in ceremony.html from the start, so they are visible as soon
    as it is parsed; its module script (which adds their click listeners) runs after that, then
    shows the ceremony (``body[data-state]``). A click in between does nothing: on a loaded
    machine the test clicked there and waited for an answer that could not come."""
    return f"{RENDERED} && {visible(selector)}"


def text(selector: str) -> str:
    return f"document.querySelector('{selector}').textContent"


def click(selector: str) -> str:
    return f"(document.querySelector('{selector}').click(), true)"


def in_window(firefox: Firefox, expression: str, what: str) -> Any:
    return wait(lambda: firefox.window(expression), what)


def test_register_and_sign_in_by_clicking(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    start_daemon("--presence", "prompt")
    page = open_site(firefox, rp)
    start(page, "register('bob')")
    in_window(firefox, APPROVE_READY, "the window's Save button")
    assert "localhost" in firefox.window(text("#rp-id"))
    assert "bob" in firefox.window(text("#account"))
    firefox.window(click("#approve"))
    assert result(page)["ok"], result(page)
    wait(lambda: firefox.window("true") is None, "the window to close")
    start(page, "login()")
    in_window(firefox, APPROVE_READY, "the window's Sign in button")
    firefox.window(click("#approve"))
    assert result(page) == {**result(page), "ok": True, "user": "bob"}
    assert listed(environment) == [("localhost", "bob")]
    page.close()


def test_cancel_in_the_window_gives_not_allowed(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    start_daemon("--presence", "prompt")
    page = open_site(firefox, rp)
    start(page, "register('erin')")
    in_window(firefox, ready("#cancel"), "the window's Cancel button")
    firefox.window(click("#cancel"))
    cancelled = result(page)
    assert cancelled["ok"] is False and cancelled["name"] == "NotAllowedError", cancelled
    wait(lambda: prompts(environment) == [], "the prompt to be withdrawn")
    assert listed(environment) == []
    page.close()


def test_use_another_authenticator_in_the_window_reaches_firefox(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """The window's "Use another authenticator": the page script hands the very call to
    Firefox's own WebAuthn (its virtual authenticator), which the RP verifies."""
    start_daemon("--presence", "prompt")
    before = json.loads(firefox.own_credentials())
    page = open_site(firefox, rp)
    start(page, "register('frank')")
    in_window(firefox, ready("#fallback"), "the window's Use another authenticator")
    firefox.window(click("#fallback"))
    registered = result(page)
    assert registered["ok"], registered
    assert json.loads(firefox.own_credentials()) == [*before, "localhost"]
    assert listed(environment) == []
    page.close()


def test_locked_vault_is_unlocked_in_the_window(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    start_daemon("--presence", "prompt")
    environment.cli("lock")
    page = open_site(firefox, rp)
    start(page, "register('grace')")
    in_window(firefox, visible("#passphrase"), "the window's passphrase field")
    fill = "(document.querySelector('#passphrase').value = {!r}, true)"
    firefox.window(fill.format("not the passphrase"))
    firefox.window(click("#unlock"))
    in_window(firefox, visible("#unlock-error"), "the window's unlock error")
    firefox.window(fill.format(PASSPHRASE))
    firefox.window(click("#unlock"))
    in_window(firefox, APPROVE_READY, "the window's Save button")
    firefox.window(click("#approve"))
    assert result(page)["ok"], result(page)
    assert listed(environment) == [("localhost", "grace")]
    page.close()


def test_daemon_down_says_so_and_falls_back(
    firefox: Firefox, rp: RelyingParty, environment: Environment
) -> None:
    before = json.loads(firefox.own_credentials())
    page = open_site(firefox, rp)
    start(page, "register('heidi')")
    in_window(firefox, visible("#unavailable"), "the window's vauth is not running")
    message = firefox.window(text("#unavailable"))
    assert "not running" in message and "vauth serve" in message, message
    firefox.window(click("#fallback"))
    assert result(page)["ok"], result(page)
    assert json.loads(firefox.own_credentials()) == [*before, "localhost"]
    page.close()


# -- what a page cannot do ----------------------------------------------------------------------


def test_foreign_rp_id_is_a_security_error(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any
) -> None:
    start_daemon("--presence", "auto")
    page = open_site(firefox, rp)
    refused = page.evaluate("register('mallory', {rpId: 'example.com'})")
    assert refused["ok"] is False and refused["name"] == "SecurityError", refused
    page.close()


def test_page_cannot_spoof_its_origin(
    firefox: Firefox, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """The origin vauth signs (clientDataJSON.origin, WebAuthn L3 5.8.1) is the one Firefox
    gives the add-on, whatever the page says about itself; nor can the page talk to the
    bridge or the add-on directly."""
    start_daemon("--presence", "auto")
    page = open_site(firefox, rp)
    page.evaluate("""(() => {
        Object.defineProperty(document, 'domain', {get: () => 'evil.example'});
        window.origin = 'https://evil.example';
        Object.defineProperty(Object.prototype, 'origin', {
            get() { return 'https://evil.example'; }, configurable: true});
        Array.prototype.map = function () { return ['polluted']; };
        window.btoa = () => 'polluted';
        return null;
    })()""")
    registered = page.evaluate("register('pat')")
    assert registered["ok"], registered  # py_webauthn checked the origin: rp.origin
    heard = page.evaluate("""new Promise(resolve => {
        let heard = false;
        for (const target of [window, document, document.documentElement]) {
            target.addEventListener('vauth:response', () => { heard = true; });
            for (const type of ['vauth:request', 'vauth:hello']) {
                target.dispatchEvent(new CustomEvent(type, {detail: {
                    id: 1, op: 'create', payload: {origin: 'https://evil.example'}}}));
            }
            window.postMessage({type: 'vauth:request', id: 2, op: 'get'}, '*');
        }
        const runtime = (window.browser || window.chrome || {}).runtime;
        setTimeout(() => resolve({heard, runtime: Boolean(runtime && runtime.sendMessage)}), 1000);
    })""")
    assert heard == {"heard": False, "runtime": False}
    audit = json.loads(environment.cli("audit", "--json").stdout)
    assert [entry["ceremony"] for entry in audit] == ["makeCredential"]  # pat's, nothing else
    page.close()


# (path, frame name or None for the top-level document): documents with an opaque origin (a
# CSP-sandboxed page, a sandboxed same-origin iframe, a data: frame) and a srcdoc frame (it
# inherits its parent's origin).
DOCUMENTS = [("/sandboxed", None), ("/framed", "sandboxed"), ("/framed", "data")]
SRCDOC = ("/framed", "srcdoc")


def probes(firefox: Firefox, origin: str, where: tuple[str, str | None]) -> dict[str, Any]:
    path, frame = where
    page = firefox.open(origin + path)
    wait(lambda: page.evaluate("typeof window.probe === 'function'", frame), where)
    answers = {kind: page.evaluate(f"probe('{kind}')", frame) for kind in ("create", "get")}
    answers["vauth"] = page.evaluate("vauthLoaded()", frame)
    page.close()
    return answers


@pytest.fixture(scope="module")
def firefox_alone_answers(
    rp: RelyingParty, tmp_path_factory: pytest.TempPathFactory
) -> dict[Any, Any]:
    """What Firefox itself (no vauth; its own virtual authenticator) answers each document."""
    base = tmp_path_factory.mktemp("firefox-alone")
    alone = Firefox(Environment(base, support.environment(base, PASSPHRASE)), with_addon=False)
    try:
        return {where: probes(alone, rp.origin, where) for where in [*DOCUMENTS, SRCDOC]}
    finally:
        alone.close()


def test_opaque_origins_answer_as_firefox_itself(
    firefox_alone_answers: dict[Any, Any],
    firefox: Firefox,
    rp: RelyingParty,
    start_daemon: Any,
    environment: Environment,
) -> None:
    """WebAuthn L3 5.1.3 step 5 / 5.1.4.1 step 5 (an opaque callerOrigin is refused): Firefox
    refuses these documents its own way (SecurityError, "The operation is insecure."), not as
    Chromium does, so in Firefox the page script hands them to Firefox and the page gets
    exactly Firefox's answer; vauth sees nothing. A srcdoc frame inherits its parent's origin
    and is served by vauth, as by Firefox's own authenticator."""
    start_daemon("--presence", "auto")
    for where in DOCUMENTS:
        with_vauth = probes(firefox, rp.origin, where)
        alone = firefox_alone_answers[where]
        assert {**with_vauth, "vauth": None} == {**alone, "vauth": None}, where
        assert with_vauth["create"]["ok"] is False, where
    for where in DOCUMENTS[:2]:  # the page script is in the sandboxed documents
        assert firefox_alone_answers[where]["create"]["name"] == "SecurityError"
        assert probes(firefox, rp.origin, where)["vauth"] is True, where
    assert listed(environment) == []
    assert json.loads(environment.cli("audit", "--json").stdout) == []
    served = probes(firefox, rp.origin, SRCDOC)
    expected = {"ok": True, "origin": rp.origin, "crossOrigin": False}
    assert served == {"create": expected, "get": expected, "vauth": True}
    assert {**firefox_alone_answers[SRCDOC], "vauth": True} == served
