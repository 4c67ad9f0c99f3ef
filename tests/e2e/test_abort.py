"""Abort and pages that go away (issue 21), in page mode and in proxy mode, with `--presence
prompt` and `auto`: nothing is signed or made after a page aborts its request (AbortSignal,
WebAuthn L3 5.6 "abort the operation") or goes away (a reload, a closed tab), on any path.
The daemon's audit log, its signature counters, its CDP events and its pending prompts say so;
the ceremony window closes by itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Environment
from tests.e2e.rp_server import RelyingParty
from tests.e2e.test_extension import open_site, result, start
from tests.e2e.test_proxy import in_isolated_world
from vauth.testing.harness import VauthDaemon

pytestmark = pytest.mark.e2e
BOTH = pytest.mark.parametrize("mode", ["page", "proxy"])
WINDOW = "ui/ceremony.html"

# A sign-in the test can abort (window.__controller), its outcome in window.__result.
ABORTABLE_GET = """(async () => {
    const options = await (await fetch('/login/options', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{}'})).json();
    window.__controller = new AbortController();
    try {
        await navigator.credentials.get({signal: window.__controller.signal,
            publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
        return {ok: true};
    } catch (e) { return {ok: false, name: e.name}; }
})()"""

# A registration aborted right after the call, in the same run of the page's script.
ABORTED_AT_ONCE = """(async () => {
    const options = await (await fetch('/register/options', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{"name": "quick"}'})).json();
    const controller = new AbortController();
    const call = navigator.credentials.create({signal: controller.signal,
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
    controller.abort();
    try { await call; return {ok: true}; } catch (e) { return {ok: false, name: e.name}; }
})()"""


def wait(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout} s")
        time.sleep(0.1)


def prompts(environment: Environment) -> list[dict[str, Any]]:
    return json.loads(environment.cli("prompts", "--json").stdout)  # type: ignore[no-any-return]


def the_prompt(environment: Environment) -> dict[str, Any]:
    (prompt,) = wait(lambda: prompts(environment), "prompt")
    return prompt  # type: ignore[no-any-return]


def signed(environment: Environment) -> list[tuple[str, str]]:
    """What the daemon signed or made: its audit log's successful ceremonies."""
    audit = json.loads(environment.cli("audit", "--json").stdout)
    return [(e["ceremony"], e["credentialId"]) for e in audit if e["outcome"] == "ok"]


def counters(environment: Environment) -> dict[str, int]:
    listed = json.loads(environment.cli("list", "--json").stdout)
    return {c["credentialId"]: c["signCount"] for c in listed}


def registered_by_prompt(page: Any, environment: Environment, name: str) -> None:
    start(page, f"register('{name}')")
    environment.cli("prompts", "approve", the_prompt(environment)["id"])
    page.wait_for_function("window.__result !== undefined", timeout=20_000)
    assert result(page)["ok"], result(page)


def windows_open(browser: Any) -> list[Any]:
    browser.pages[0].wait_for_timeout(100)  # (Playwright hears of pages while it waits)
    return [p for p in browser.pages if WINDOW in p.url and not p.is_closed()]


@BOTH
def test_an_aborted_get_ends_its_prompt_and_window_and_is_never_signed(
    mode: str, browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    start_daemon("--presence", "prompt")
    page = open_site(browser, rp)
    registered_by_prompt(page, environment, "ada")
    before, counts = signed(environment), counters(environment)
    start(page, ABORTABLE_GET)
    prompt = the_prompt(environment)
    wait(lambda: windows_open(browser), "ceremony window")
    page.evaluate("window.__controller.abort()")
    page.wait_for_function("window.__result !== undefined")
    assert result(page) == {"ok": False, "name": "AbortError"}
    wait(lambda: not prompts(environment), "end of the prompt", 10)
    wait(lambda: not windows_open(browser), "closed window", 15)
    late = environment.cli("prompts", "approve", prompt["id"], check=False)
    assert late.returncode != 0
    assert signed(environment) == before
    assert counters(environment) == counts


@BOTH
def test_a_held_get_aborted_is_not_signed_when_presence_comes(
    mode: str, browser: Any, rp: RelyingParty, environment: Environment
) -> None:
    """Tester mode (`--presence auto`): CDP's automaticPresenceSimulation off holds a get; the
    page aborts it; presence comes back on: no assertion, no event, the counter stays."""
    base = "/webauthn/authenticator/vault"
    with VauthDaemon.start(environment.base) as daemon:
        page = open_site(browser, rp)
        assert page.evaluate("register('bea')")["ok"]
        (before,) = daemon.credentials()
        names: list[str] = []
        with daemon.events() as events:
            threading.Thread(target=collect, args=(events, names), daemon=True).start()
            daemon.request("POST", base + "/presence-simulation", {"enabled": False})
            start(page, ABORTABLE_GET)
            time.sleep(1.5)  # the get reaches the daemon and waits for presence
            assert page.evaluate("window.__result === undefined")
            page.evaluate("window.__controller.abort()")
            page.wait_for_function("window.__result !== undefined")
            assert result(page) == {"ok": False, "name": "AbortError"}
            time.sleep(0.5)
            daemon.request("POST", base + "/presence-simulation", {"enabled": True})
            time.sleep(1)
        (after,) = daemon.credentials()
        assert after["signCount"] == before["signCount"]
        assert names == []


def collect(events: Any, names: list[str]) -> None:
    try:
        while True:
            names.append(events.next()[0])
    except Exception:  # the stream ends with the test
        return


@BOTH
@pytest.mark.parametrize("presence", ["prompt", "auto"])
def test_a_request_aborted_at_once_never_reaches_the_daemon(
    mode: str,
    presence: str,
    browser: Any,
    rp: RelyingParty,
    start_daemon: Any,
    environment: Environment,
) -> None:
    """Aborted right after the call: in page mode through vauth's page script; in proxy mode
    as a call the page script never wrapped makes it (Chromium hands it to the proxy, and
    cancels it right after, before the service worker has made its ceremony)."""
    start_daemon("--presence", presence)
    page = open_site(browser, rp)
    if mode == "page":
        answer = page.evaluate(ABORTED_AT_ONCE)
    else:
        answer = in_isolated_world(browser, page, ABORTED_AT_ONCE)
    assert answer == {"ok": False, "name": "AbortError"}
    time.sleep(2)
    assert prompts(environment) == []
    assert windows_open(browser) == []
    assert json.loads(environment.cli("audit", "--json").stdout) == []
    assert json.loads(environment.cli("list", "--json").stdout) == []


@BOTH
@pytest.mark.parametrize("departure", ["reload", "close"])
def test_a_page_that_goes_away_ends_window_and_prompt(
    mode: str,
    departure: str,
    browser: Any,
    rp: RelyingParty,
    start_daemon: Any,
    environment: Environment,
) -> None:
    """A page reloads or closes while vauth's window waits on its request: the window and the
    prompt end ("The page went away"), and nothing is made for a page that no longer exists."""
    start_daemon("--presence", "prompt")
    page = open_site(browser, rp)
    start(page, "register('gone')")
    prompt = the_prompt(environment)
    wait(lambda: windows_open(browser), "ceremony window")
    if departure == "reload":
        page.reload()
    else:
        page.close()
    wait(lambda: not prompts(environment), "end of the prompt", 10)
    wait(lambda: not windows_open(browser), "closed window", 15)
    assert environment.cli("prompts", "approve", prompt["id"], check=False).returncode != 0
    assert json.loads(environment.cli("list", "--json").stdout) == []
    assert signed(environment) == []
