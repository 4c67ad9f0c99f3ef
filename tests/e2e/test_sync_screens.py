"""Issue 13's screens in Chromium with the real extension, native host and daemon: the options
page's Devices section (status, a join request's fingerprint, approving) and the ceremony
window's "Saved to your N devices" / "Only on this computer" choice.

The choice is checked where it lands: the new passkey's backup eligibility (BE, WebAuthn L3
6.1), 0 for "Only on this computer"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import EXTENSION_ID, Environment, screenshot
from tests.e2e.rp_server import RelyingParty
from tests.e2e.test_extension import ceremony_window, open_site, result
from tests.support import cli
from tests.support import environment as computer_environment
from tests.sync.computers import eventually

pytestmark = pytest.mark.e2e


def join_request(tmp_path: Path, folder: Path) -> dict[str, Any]:
    """Another computer (its own vault, no daemon) asks to join through ``folder``."""
    other = tmp_path / "other"
    other.mkdir()
    env = computer_environment(other)
    cli(env, "init")
    return json.loads(cli(env, "sync", "join", str(folder), "--name", "desktop", "--json").stdout)  # type: ignore[no-any-return]


def test_options_page_shows_devices_and_approves_after_the_fingerprint(
    browser: Any, environment: Environment, start_daemon: Any, tmp_path: Path
) -> None:
    start_daemon("--presence", "auto")
    options = browser.new_page()
    options.goto(f"chrome-extension://{EXTENSION_ID}/options/options.html")
    options.wait_for_selector("#sync-off:not([hidden])")
    assert "vauth sync init FOLDER" in options.inner_text("#sync-off")

    folder = tmp_path / "Sync"
    folder.mkdir()
    environment.cli("sync", "init", str(folder), "--name", "laptop")
    request = join_request(tmp_path, folder)
    options.reload()
    options.wait_for_selector("#sync-pending .pending")
    assert request["fingerprint"] in options.inner_text("#sync-pending")
    assert "laptop (this computer)" in options.inner_text("#sync-devices")
    approve = f"#sync-pending .pending[data-device-id='{request['deviceId']}'] button"
    assert options.is_disabled(approve)  # not before the person says the fingerprints match
    options.locator("#devices-section").scroll_into_view_if_needed()
    screenshot(options, "options-devices-pending")
    options.check(f"#same-{request['deviceId']}")
    options.click(approve)
    options.wait_for_selector(f"#sync-devices tr[data-device-id='{request['deviceId']}']")
    assert options.locator("#sync-pending .pending").count() == 0
    assert "desktop" in options.inner_text("#sync-devices")
    assert options.input_value("#sync-default") == "synced"
    options.select_option("#sync-default", "device")
    options.wait_for_function("true")

    def default() -> str:
        return str(json.loads(environment.cli("sync", "default", "--json").stdout)["default"])

    eventually(lambda: default() == "device", 10, "the new default")
    screenshot(options, "options-devices")


def test_ceremony_window_offers_synced_or_this_computer(
    browser: Any, environment: Environment, start_daemon: Any, rp: RelyingParty, tmp_path: Path
) -> None:
    start_daemon("--presence", "prompt")
    folder = tmp_path / "Sync"
    folder.mkdir()
    environment.cli("sync", "init", str(folder), "--name", "laptop")
    request = join_request(tmp_path, folder)
    fingerprint = request["fingerprint"]
    environment.cli("sync", "approve", request["deviceId"], "--fingerprint", fingerprint)

    page = open_site(browser, rp)
    window = ceremony_window(browser, page, "register('erin')")
    window.wait_for_selector("#sync-choice:not([hidden])")
    assert window.inner_text("#sync-synced-text") == "Saved to your 2 devices"
    assert window.is_checked("#sync-synced")  # the vault's default
    screenshot(window, "ceremony-sync-choice")
    window.check("#sync-device")
    window.wait_for_selector("#approve:not([disabled])")
    window.click("#approve", no_wait_after=True)
    page.wait_for_function("window.__result !== undefined")
    assert result(page)["ok"], result(page)
    passkeys = json.loads(environment.cli("list", "--json").stdout)
    assert [p["backupEligibility"] for p in passkeys if p["userName"] == "erin"] == [False]
