"""The proxy comes back (issue 21): in proxy mode, a request vauth hands back to the browser (the
site's passkeys go to "the browser's own authenticators") lets go of chrome.webAuthenticationProxy
until the page's own call to the browser is over; vauth takes the proxy back however that ends:
the call settles, times out, the tab closes or navigates away, or vauth's service worker
restarts. Taken back means: a call vauth's page script never wrapped, from another tab, reaches
vauth again (verified by py_webauthn, the passkey in vauth's vault)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.conftest import EXTENSION_ID, Environment, switch_proxy_mode
from tests.e2e.rp_server import RelyingParty
from tests.e2e.test_extension import open_site, start
from tests.e2e.test_proxy import BYPASS, in_isolated_world

pytestmark = pytest.mark.e2e

# The page's own call, handed back to the browser, which has no authenticator of its own here:
# it waits until the page aborts it (headless Chromium keeps waiting past the page's timeout).
WAITING_CREATE = """(async () => {
    const options = await (await fetch('/register/options', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{"name": "handed"}'})).json();
    options.timeout = 10000;
    window.__controller = new AbortController();
    try {
        await navigator.credentials.create({signal: window.__controller.signal,
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
        return {ok: true};
    } catch (e) { return {ok: false, name: e.name, message: e.message}; }
})()"""
ATTACHED = "async () => !(await PublicKeyCredential.isConditionalMediationAvailable())"


def worker(browser: Any) -> Any:
    return next(w for w in browser.service_workers if EXTENSION_ID in w.url)


def handed_back(browser: Any, rp: RelyingParty) -> Any:
    """A page whose create vauth handed back to the browser, the browser's call pending."""
    settings = "chrome.storage.local.set({settings: {sites: {localhost: 'browser'}}})"
    worker(browser).evaluate(settings)
    page = open_site(browser, rp)
    start(page, WAITING_CREATE)
    page.wait_for_timeout(2000)  # (no other tab now: the page must keep the focus)
    assert page.evaluate("window.__result") is None  # the browser's own call waits
    return page


def stop_the_worker(browser: Any, page: Any) -> None:
    cdp = browser.new_cdp_session(page)
    targets = cdp.send("Target.getTargets")["targetInfos"]
    target = next(t for t in targets if t["type"] == "service_worker" and EXTENSION_ID in t["url"])
    cdp.send("Target.closeTarget", {"targetId": target["targetId"]})
    cdp.detach()


def taken_back(browser: Any, rp: RelyingParty, environment: Environment, seconds: float) -> None:
    """Within ``seconds``, vauth holds the proxy again: an unwrapped call reaches vauth."""
    started = time.monotonic()
    page = browser.new_page()
    page.goto(f"chrome-extension://{EXTENSION_ID}/popup/popup.html")  # (wakes a stopped worker)
    page.wait_for_selector("#proxy-note[data-state]")
    worker(browser).evaluate("chrome.storage.local.set({settings: {sites: {}}})")
    site = open_site(browser, rp)
    while not site.evaluate(ATTACHED):  # (evaluate awaits the promise; wait_for_function not)
        assert time.monotonic() - started < seconds, "the proxy did not come back"
        site.wait_for_timeout(100)
    answer = in_isolated_world(browser, site, BYPASS)
    assert answer["ok"] is True, answer
    listed = json.loads(environment.cli("list", "--json").stdout)
    assert [c["userName"] for c in listed] == ["outsider"]


@pytest.mark.parametrize("ending", ["settled", "timed out", "tab closed", "navigated", "worker"])
def test_the_proxy_comes_back_however_the_hand_back_ends(
    ending: str, browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    assert switch_proxy_mode(browser, on=True) == "on"
    start_daemon("--presence", "auto")
    page = handed_back(browser, rp)
    if ending == "settled":
        page.evaluate("window.__controller.abort()")
    elif ending == "timed out":  # nothing says so: the page's timeout (10 s) passes, and more
        taken_back(browser, rp, environment, seconds=25)
        return
    elif ending == "tab closed":
        page.close()
    elif ending == "navigated":
        page.goto(rp.origin + "/probe")
    else:
        stop_the_worker(browser, page)
    taken_back(browser, rp, environment, seconds=5)
