"""Issue 14 items 1 and 2 in Chromium: proxy mode (chrome.webAuthenticationProxy) and truthful
answers to isUserVerifyingPlatformAuthenticatorAvailable() / getClientCapabilities(), each
compared with Chromium's own CDP virtual authenticator; ceremonies verified by py_webauthn (the
relying party in rp_server.py). The e2e cases of test_extension.py run in both modes too."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    ARTIFACTS,
    EXTENSION_ID,
    Environment,
    launch_with_extension,
    switch_proxy_mode,
)
from tests.e2e.rp_server import RelyingParty
from tests.e2e.test_extension import open_site
from tests.e2e.test_origin_checks import bridge_world_request, chromium_alone

pytestmark = pytest.mark.e2e
HOLDER = Path(__file__).parent / "proxy_holder"
BOTH = pytest.mark.parametrize("mode", ["page", "proxy"])

# A registration made outside vauth's page script: in a fresh isolated world of the page (as
# the browser's own passkey UI or any script the page script never wrapped would call it).
BYPASS = """(async () => {
    const post = async (path, body) => (await fetch(path, {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})).json();
    const options = await post('/register/options', {name: 'outsider'});
    const controller = new AbortController();
    const call = navigator.credentials.create({signal: controller.signal,
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
    // Chromium without an authenticator of its own waits for one: give up after a while.
    const patience = setTimeout(() => controller.abort(), 5000);
    try {
        const credential = await call;
        clearTimeout(patience);
        return await post('/register/verify', credential.toJSON());
    } catch (e) { return {ok: false, name: e.name}; }
})()"""

CAPABILITIES = """async () => {
    const capabilities = await PublicKeyCredential.getClientCapabilities();
    return {
        uvpaa: await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable(),
        conditional: await PublicKeyCredential.isConditionalMediationAvailable(),
        passkeyPlatformAuthenticator: capabilities.passkeyPlatformAuthenticator,
        userVerifyingPlatformAuthenticator: capabilities.userVerifyingPlatformAuthenticator,
        conditionalGet: capabilities.conditionalGet,
    };
}"""


def in_isolated_world(browser: Any, page: Any, expression: str) -> Any:
    cdp = browser.new_cdp_session(page)
    frame = cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
    world = cdp.send("Page.createIsolatedWorld", {"frameId": frame, "worldName": "outside"})
    answer = cdp.send(
        "Runtime.evaluate",
        {
            "contextId": world["executionContextId"],
            "expression": expression,
            "awaitPromise": True,
            "returnByValue": True,
        },
    )
    cdp.detach()
    return answer["result"]["value"]


@BOTH
def test_only_the_proxy_sees_a_call_the_page_script_never_wrapped(
    mode: str, browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """Issue 14 item 1: while attached, every WebAuthn request of the profile goes to vauth,
    whoever got in first in the page. Without the proxy such a call never reaches vauth."""
    start_daemon("--presence", "auto")
    page = open_site(browser, rp)
    answer = in_isolated_world(browser, page, BYPASS)
    listed = json.loads(environment.cli("list", "--json").stdout)
    if mode == "proxy":
        assert answer["ok"] is True, answer  # py_webauthn verified it
        assert [c["userName"] for c in listed] == ["outsider"]
    else:
        assert answer == {"ok": False, "name": "AbortError"}  # Chromium's own has none: waits
        assert listed == []


@pytest.fixture
def chromium_reference(rp: RelyingParty) -> dict[str, Any]:
    """What Chromium says with its own platform authenticator (CDP) and with none."""

    def run(context: Any, new_page: Callable[[], Any]) -> dict[str, Any]:
        bare = context.new_page()
        bare.goto(rp.origin)
        page = new_page()
        page.goto(rp.origin)
        registered = page.evaluate("register('alice')")
        framed = new_page()
        framed.goto(rp.origin + "/cross")
        frame = framed.frame(name="cross")
        assert frame is not None
        frame.wait_for_function("typeof window.probe === 'function'")
        return {
            "none": bare.evaluate(CAPABILITIES),
            "platform": page.evaluate(CAPABILITIES),
            "checks": registered["checks"],
            "cross": {kind: frame.evaluate(f"probe('{kind}')") for kind in ("create", "get")},
        }

    return chromium_alone(run)  # type: ignore[no-any-return]


@BOTH
def test_vauth_says_truthfully_what_it_is(
    mode: str,
    chromium_reference: dict[str, Any],
    browser: Any,
    rp: RelyingParty,
    start_daemon: Any,
) -> None:
    """Issue 14 item 2. WebAuthn L3 5.1.7 (isUserVerifyingPlatformAuthenticatorAvailable) and
    5.1.8 (getClientCapabilities: passkeyPlatformAuthenticator, userVerifyingPlatformAuthenticator):
    while vauth answers, it is the user-verifying platform authenticator Chromium's own reports
    (true, as CDP's internal authenticator); while it does not, the browser's own answer (page
    mode; none here: false). Its passkeys are platform ones (5.4.5 authenticatorAttachment,
    5.8.4 transports), as Chromium reports its own. Autofill: off while the proxy holds
    (Chromium refuses a conditional get then), on with the page script."""
    page = open_site(browser, rp)
    down = page.evaluate(CAPABILITIES)
    reference = chromium_reference["none"]
    keys = ("uvpaa", "passkeyPlatformAuthenticator", "userVerifyingPlatformAuthenticator")
    unavailable = dict.fromkeys(keys, False)
    assert {k: down[k] for k in keys} == {k: reference[k] for k in keys} == unavailable
    start_daemon("--presence", "auto")
    page = open_site(browser, rp)
    up = page.evaluate(CAPABILITIES)
    platform = chromium_reference["platform"]
    assert {k: up[k] for k in keys} == {k: platform[k] for k in keys} == dict.fromkeys(keys, True)
    assert up["conditional"] is up["conditionalGet"] is (mode == "page")
    checks = page.evaluate("register('alice')")["checks"]
    expected = chromium_reference["checks"]
    assert (checks["attachment"], checks["transports"]) == ("platform", ["internal"])
    assert (checks["attachment"], checks["transports"]) == (
        expected["attachment"],
        expected["transports"],
    )


@BOTH
def test_a_cross_origin_frame_signs_its_own_origin_and_the_top_one(
    mode: str,
    chromium_reference: dict[str, Any],
    browser: Any,
    rp: RelyingParty,
    start_daemon: Any,
) -> None:
    """WebAuthn L3 5.10.1 (CollectedClientData): a cross-origin iframe's clientDataJSON has its
    own origin, crossOrigin true and the top-level origin, as Chromium builds it. In proxy mode
    Chromium names no top origin: vauth takes it from its page script's request (`sender`)."""
    start_daemon("--presence", "auto")
    page = browser.new_page()
    page.goto(rp.origin + "/cross")
    frame = page.frame(name="cross")
    assert frame is not None
    frame.wait_for_function("typeof window.probe === 'function'")
    answers = {kind: frame.evaluate(f"probe('{kind}')") for kind in ("create", "get")}
    port = rp.origin.rsplit(":", 1)[1]
    expected = {
        "ok": True,
        "origin": f"http://frame.localhost:{port}",
        "crossOrigin": True,
        "topOrigin": rp.origin,
    }
    assert answers == {"create": expected, "get": expected}
    reference = chromium_reference["cross"]
    assert {k: {**v, "origin": None} for k, v in answers.items()} == {
        k: {**v, "origin": None} for k, v in reference.items()
    }


@pytest.fixture
def held_browser(environment: Environment) -> Iterator[Any]:
    """Chromium with vauth and, loaded first, a test extension that attaches to the proxy."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = launch_with_extension(playwright, environment, HOLDER)
        try:
            yield context
        finally:
            context.close()


def wait_for_holder(context: Any) -> None:
    """Until the holder's attach() has answered "attached"."""
    for _ in range(100):
        for worker in context.service_workers:
            name = worker.evaluate("chrome.runtime.getManifest().name")
            if name.startswith("vauth test") and worker.evaluate("globalThis.held") == "attached":
                return
        context.pages[0].wait_for_timeout(100)
    raise AssertionError("the holder extension did not attach")


def test_another_extension_holding_the_proxy_leaves_vauth_in_its_pages(
    held_browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """Issue 14 item 1: attach() fails while another extension holds the proxy ("Another
    extension is already attached"); vauth stays in page-script mode, says so in the popup,
    and still answers the pages it is in."""
    wait_for_holder(held_browser)
    assert switch_proxy_mode(held_browser, on=True) == "held"
    popup = held_browser.new_page()
    popup.goto(f"chrome-extension://{EXTENSION_ID}/popup/popup.html")
    popup.wait_for_selector("#proxy-note[data-state='held']")
    assert "Another extension already answers" in popup.inner_text("#proxy-note")
    popup.close()
    start_daemon("--presence", "auto")
    page = open_site(held_browser, rp)
    registered = page.evaluate("register('alice')")
    assert registered["ok"], registered
    assert [c["userName"] for c in json.loads(environment.cli("list", "--json").stdout)] == [
        "alice"
    ]
    # What vauth's page script never wraps goes to the holder, which refuses it.
    assert in_isolated_world(held_browser, page, BYPASS) == {"ok": False, "name": "NotAllowedError"}


def test_the_popup_says_autofill_is_off_in_proxy_mode(browser: Any) -> None:
    """Issue 14 item 1: the switch, off by default, and what it costs."""
    popup = browser.new_page()
    popup.goto(f"chrome-extension://{EXTENSION_ID}/popup/popup.html")
    popup.wait_for_selector("#proxy-note[data-state='off']")
    assert not popup.is_checked("#proxy-switch")
    assert "autofill works" in popup.inner_text("#proxy-note")
    popup.click("#proxy-switch")
    popup.wait_for_selector("#proxy-note[data-state='on']")
    assert "autofill in sign-in fields is off" in popup.inner_text("#proxy-note")
    popup.screenshot(path=str(ARTIFACTS / "popup-proxy-on.png"))  # to look at
    popup.reload()
    popup.wait_for_selector("#proxy-note[data-state='on']")  # kept in chrome.storage
    assert popup.is_checked("#proxy-switch")


# The page's own call, given up after a while (Chromium's own authenticators: none here).
PATIENT_CREATE = """async () => {
    const options = await (await fetch('/register/options', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{"name": "zed"}'})).json();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 5000);
    try {
        await navigator.credentials.create({signal: controller.signal,
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
        return {ok: true};
    } catch (e) { return {ok: false, name: e.name, message: e.message}; }
}"""


def test_a_site_left_to_the_browser_is_handed_back_and_the_proxy_taken_again(
    mode: str, browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """Issue 14 item 1: per-site defaults hold in proxy mode. A site whose passkeys go to "the
    browser's own authenticators": vauth ends the proxied request, lets go of the proxy, its
    page script asks the browser again (which waits for an authenticator of its own until the
    page aborts: AbortError, never vauth's hand-back error), and once that call has settled
    vauth holds the proxy again (a call its page script never wrapped reaches vauth)."""
    assert mode == "page"  # the fixture's default; the switch is turned on here
    assert switch_proxy_mode(browser, on=True) == "on"
    start_daemon("--presence", "auto")
    worker = next(w for w in browser.service_workers if EXTENSION_ID in w.url)
    worker.evaluate("chrome.storage.local.set({settings: {sites: {localhost: 'browser'}}})")
    page = open_site(browser, rp)
    answer = page.evaluate(PATIENT_CREATE)
    assert answer == {"ok": False, "name": "AbortError", "message": answer["message"]}
    assert "vauth" not in answer["message"]
    assert json.loads(environment.cli("list", "--json").stdout) == []
    worker.evaluate("chrome.storage.local.set({settings: {sites: {}}})")
    # attached again (autofill is off while it is) once the page script said its call settled
    # (evaluate awaits the promise: wait_for_function takes the promise itself as truthy)
    attached = "async () => !(await PublicKeyCredential.isConditionalMediationAvailable())"
    for _ in range(50):
        if page.evaluate(attached):
            break
        page.wait_for_timeout(100)
    assert page.evaluate(attached)
    assert in_isolated_world(browser, page, BYPASS)["ok"] is True
    assert [c["userName"] for c in json.loads(environment.cli("list", "--json").stdout)] == [
        "outsider"
    ]


def test_only_a_page_handed_a_request_back_makes_vauth_let_go(
    mode: str, browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """Issue 14 item 1: letting go of the proxy (the hand-back) is for the page vauth handed a
    request back to, after the person chose another authenticator there. A frame asking out of
    turn, even from the bridge's own world, is refused and the proxy stays attached."""
    assert switch_proxy_mode(browser, on=True) == "on"
    start_daemon("--presence", "auto")
    page = open_site(browser, rp)
    refused = bridge_world_request(browser, page, "handback", {})
    assert refused["ok"] is False and refused["error"]["name"] == "NotAllowedError", refused
    assert in_isolated_world(browser, page, BYPASS)["ok"] is True  # still vauth's
    assert [c["userName"] for c in json.loads(environment.cli("list", "--json").stdout)] == [
        "outsider"
    ]


TIMED_CREATE = """async () => {
    const options = await (await fetch('/register/options', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{"name": "slow"}'})).json();
    options.timeout = 10000;
    const started = performance.now();
    try {
        await navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
        return {ok: true};
    } catch (e) { return {ok: false, name: e.name, s: (performance.now() - started) / 1000}; }
}"""


@BOTH
def test_the_pages_timeout_holds_in_both_modes(
    mode: str, browser: Any, rp: RelyingParty, start_daemon: Any
) -> None:
    """WebAuthn L3 5.1.3 step 11 (the timeout, clamped by the client: 10 s at least, as Chromium
    does). In proxy mode Chromium always says 180000 and does not enforce the page's timeout;
    vauth takes it from its page script's request instead of waiting 5 minutes."""
    start_daemon("--presence", "prompt")  # nobody answers the window
    page = open_site(browser, rp)
    answer = page.evaluate(TIMED_CREATE)
    assert answer["ok"] is False and answer["name"] == "NotAllowedError", answer
    assert 9 < answer["s"] < 25, answer
