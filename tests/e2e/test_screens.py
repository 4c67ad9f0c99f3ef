"""Issue 11 items 5, 13, 14, 15, 16, 17: the extension's screens as a person meets them. Real
Chromium with the real extension, native host and daemon; every screen is saved as a PNG under
tests/e2e/artifacts/ (screens-*.png) and was looked at."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    EXTENSION_ID,
    PASSPHRASE,
    Environment,
    screenshot,
    serve_rp,
    virtual_platform_authenticator,
)
from tests.e2e.rp_server import RelyingParty
from tests.e2e.test_extension import ceremony_window, open_site, result

pytestmark = pytest.mark.e2e
EXT = f"chrome-extension://{EXTENSION_ID}"
# The ceremony window opens at 520x680 (background/ceremony.js); its page gets that less the
# window's title bar, so the decision must fit in 520x640.
WINDOW_VIEWPORT = {"width": 520, "height": 640}


def settings(browser: Any) -> dict[str, Any]:
    page = browser.new_page()
    page.goto(f"{EXT}/popup/popup.html")
    stored = page.evaluate("chrome.storage.local.get('settings').then((s) => s.settings ?? {})")
    page.close()
    return stored  # type: ignore[no-any-return]


def done(page: Any) -> Any:
    page.wait_for_function("window.__result !== undefined", timeout=30_000)
    return result(page)


def at_window_size(window: Any) -> None:
    window.set_viewport_size(WINDOW_VIEWPORT)


def in_view(window: Any, selector: str) -> bool:
    return window.evaluate(  # type: ignore[no-any-return]
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
            return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }""",
        selector,
    )


def looks_disabled(window: Any, selector: str) -> bool:
    style = window.evaluate(
        """(s) => { const c = getComputedStyle(document.querySelector(s));
            return {border: c.borderTopStyle, cursor: c.cursor}; }""",
        selector,
    )
    return style == {"border": "dashed", "cursor": "not-allowed"}  # type: ignore[no-any-return]


# -- item 5: "Remember my choice" ---------------------------------------------------------------


def test_remembered_choice_holds_for_the_whole_site(
    browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    """Remembered per site as the window names it (the rpId, "localhost"), for every origin of
    that site: here a second relying party on another port. vauth remembered: the window says so
    and preselects it. The browser remembered: no window at all, the browser's own authenticator
    (Chromium's CDP virtual one) answers."""
    start_daemon("--presence", "prompt")
    page = open_site(browser, rp)
    window = ceremony_window(browser, page, "register('rita')")
    window.wait_for_selector("#approve:not([disabled])")
    assert window.inner_text("#remember-site + span") == "Remember my choice for localhost"
    window.check("#remember-site")
    window.click("#approve", no_wait_after=True)
    assert done(page)["ok"]
    assert settings(browser)["sites"] == {"localhost": "vauth"}

    with serve_rp() as other:
        assert other.origin != rp.origin  # another origin (port) of the same site
        elsewhere = open_site(browser, other)
        virtual_platform_authenticator(browser, elsewhere)
        window = ceremony_window(browser, elsewhere, "register('rita')")
        window.wait_for_selector("#approve:not([disabled])")
        assert window.is_checked("#remember-site")  # was: "Ask me again", every time
        assert "You chose vauth for localhost" in window.inner_text("#remembered")
        at_window_size(window)
        screenshot(window, "screens-remembered-vauth")
        # Now the person picks the browser for this site, and is not asked again.
        window.click("#fallback", no_wait_after=True)
        assert done(elsewhere)["ok"]
    assert settings(browser)["sites"] == {"localhost": "browser"}

    virtual_platform_authenticator(browser, page)
    page.bring_to_front()  # Chromium's own create() needs a focused page
    opened: list[Any] = []
    browser.on("page", lambda p: opened.append(p))
    page.evaluate(
        "() => { window.__result = undefined; register('sam').then(r => window.__result = r); }"
    )
    assert done(page)["ok"], result(page)  # straight to the browser's own authenticator
    assert opened == []  # no vauth window: the remembered choice took effect
    assert [c["userName"] for c in json.loads(environment.cli("list", "--json").stdout)] == ["rita"]

    options = browser.new_page()
    options.goto(f"{EXT}/options/options.html")
    options.wait_for_selector('#sites tr.site[data-origin="localhost"]')
    assert "counts on all of its addresses" in options.inner_text("#defaults-section")
    options.click('#sites tr.site[data-origin="localhost"] .site-remove')
    options.wait_for_selector('#sites tr.site[data-origin="localhost"]', state="detached")
    assert settings(browser)["sites"] == {}


# -- items 13 and 16: disabled buttons, and the window at its own size ---------------------------


def test_unavailable_state_disables_save_and_says_why(browser: Any, rp: RelyingParty) -> None:
    page = open_site(browser, rp)
    window = ceremony_window(browser, page, "register('uma')")
    window.wait_for_selector("#unavailable:visible")
    at_window_size(window)
    assert window.is_disabled("#approve") and looks_disabled(window, "#approve")
    assert not looks_disabled(window, "#fallback")
    why = window.inner_text("#approve-why")
    assert "vauth is not running" in why and "Try again" in why
    assert "`" not in window.inner_text("main")  # no literal backticks
    assert in_view(window, "#approve") and in_view(window, "#fallback")
    screenshot(window, "screens-unavailable")
    window.click("#cancel", no_wait_after=True)
    assert done(page)["name"] == "NotAllowedError"


def test_locked_state_fits_the_window_and_lines_up(
    browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    start_daemon("--presence", "prompt")
    assert environment.cli("lock").returncode == 0
    page = open_site(browser, rp)
    window = ceremony_window(browser, page, "register('vera')")
    window.wait_for_selector("#passphrase")
    at_window_size(window)
    assert window.is_disabled("#approve") and looks_disabled(window, "#approve")
    assert "Unlock your vault above" in window.inner_text("#approve-why")
    box = {
        s: window.locator(s).bounding_box()
        for s in ("label[for=passphrase]", "#passphrase", "#unlock")
    }
    label, field, button = box["label[for=passphrase]"], box["#passphrase"], box["#unlock"]
    assert label["y"] + label["height"] <= field["y"]  # the label is not under its input
    assert abs(field["height"] - button["height"]) <= 1  # input and button the same height
    for radio in ("#remember-none", "#remember-site", "#remember-global"):
        r = window.locator(radio).bounding_box()
        text = window.locator(f"{radio} + span").bounding_box()
        assert abs((r["y"] + r["height"] / 2) - (text["y"] + text["height"] / 2)) <= 2, radio
    assert in_view(window, "#approve")
    screenshot(window, "screens-locked")
    window.fill("#passphrase", PASSPHRASE)
    window.click("#unlock")
    window.wait_for_selector("#approve:not([disabled])", timeout=30_000)
    assert not looks_disabled(window, "#approve") and window.locator("#approve-why").is_hidden()
    assert in_view(window, "#approve")  # at 520x640, without scrolling
    screenshot(window, "screens-create")
    window.click("#approve", no_wait_after=True)
    assert done(page)["ok"]


def test_no_passkey_state_and_the_account_chooser(
    browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment
) -> None:
    start_daemon("--presence", "prompt")
    page = open_site(browser, rp)
    window = ceremony_window(browser, page, "login()")
    window.wait_for_selector("#no-passkeys:visible")
    at_window_size(window)
    assert window.is_disabled("#approve") and looks_disabled(window, "#approve")
    assert "no passkey" in window.inner_text("#approve-why")
    screenshot(window, "screens-no-passkeys")
    window.click("#cancel", no_wait_after=True)
    done(page)
    for name in ("wendy", "xavier"):
        window = ceremony_window(browser, page, f"register('{name}')")
        window.wait_for_selector("#approve:not([disabled])")
        window.click("#approve", no_wait_after=True)
        assert done(page)["ok"]
    window = ceremony_window(browser, page, "login()")
    window.wait_for_selector("#approve:not([disabled])")
    window.click("#approve", no_wait_after=True)  # xavier, the newest: now used once
    assert done(page)["user"] == "xavier"
    wendy = next(
        c for c in json.loads(environment.cli("list", "--json").stdout) if c["userName"] == "wendy"
    )
    environment.cli("rename", "--", wendy["credentialId"][:12], "Work account")
    window = ceremony_window(browser, page, "login()")
    window.wait_for_selector("#account-1")
    at_window_size(window)
    chooser = window.inner_text("#accounts")
    assert "Work account" in chooser and "wendy" in chooser  # the nickname, then the name
    assert "Last used" in chooser and "Never used yet" in chooser
    assert in_view(window, "#approve")
    screenshot(window, "screens-accounts")
    window.click("#cancel", no_wait_after=True)
    done(page)


# -- items 14 and 15: the options page -----------------------------------------------------------


def test_options_page_locked_sections_sort_group_audit_and_delete(
    browser: Any, rp: RelyingParty, start_daemon: Any, environment: Environment, tmp_path: Path
) -> None:
    start_daemon("--presence", "auto")
    page = open_site(browser, rp)
    for name in ("yara", "zoe"):
        assert page.evaluate(f"register('{name}')")["ok"]
    assert page.evaluate("login()")["ok"]
    assert environment.cli("lock").returncode == 0
    options = browser.new_page()
    options.set_viewport_size({"width": 1000, "height": 900})
    options.goto(f"{EXT}/options/options.html")
    options.wait_for_selector("#locked-note:visible")
    assert "Unlock it above to see your passkeys" in options.inner_text("#locked-note")
    for hidden in (
        "#trash-section",
        "#audit-section",
        "#export-section",
        "#import-section",
        "#passkeys-tools",
    ):
        assert options.locator(hidden).is_hidden(), hidden
    label = options.locator("label[for=passphrase]").bounding_box()
    field = options.locator("#passphrase").bounding_box()
    assert label["x"] + label["width"] <= field["x"]  # not clipped by its input
    assert abs(field["height"] - options.locator("#unlock").bounding_box()["height"]) <= 1
    screenshot(options, "screens-options-locked")
    options.fill("#passphrase", "wrong")
    options.click("#unlock")
    options.wait_for_selector("#unlock-error:visible")
    assert options.locator("#error").is_hidden()
    options.fill("#passphrase", PASSPHRASE)
    options.click("#unlock")
    options.wait_for_selector("#passkeys .passkey", timeout=30_000)

    # The search placeholder is not cut off.
    assert options.evaluate("""() => { const i = document.querySelector('#search');
        const c = document.createElement('canvas').getContext('2d');
        c.font = getComputedStyle(i).font;
        return c.measureText(i.placeholder).width < i.clientWidth - 16; }""")

    # Sort and group by site.
    def order() -> list[str]:
        return [n.strip() for n in options.locator("#passkeys .nickname").all_inner_texts()]

    options.select_option("#sort", "created")
    assert order() == ["zoe", "yara"]
    options.select_option("#sort", "lastUsed")
    assert order()[0] == "zoe"  # the one signed in with (the newest, chosen first)
    options.check("#group")
    assert (
        options.locator('#passkeys li.site-group[data-rp-id="localhost"] h3').inner_text()
        == "localhost (2)"
    )
    # The audit in plain words: no protocol names.
    audit = options.inner_text("#audit")
    assert "Created" in audit and "Signed in" in audit and "Done" in audit
    for jargon in ("makeCredential", "getAssertion", "OPERATION_DENIED", "ES256", "Algorithm"):
        assert jargon not in options.inner_text("body"), jargon
    screenshot(options, "screens-options")

    # Delete: the question names the passkey; afterwards, what to do on the site.
    card = options.locator(".passkey", has_text="yara")
    card.locator(".delete").click()
    assert "Move the passkey for yara on localhost to the trash?" in card.inner_text()
    card.locator(".rename").click()
    assert card.locator(".rename-cancel").inner_text() == "Cancel"
    card.locator(".rename-cancel").click()
    card.locator(".delete-confirm").click()
    options.wait_for_selector("#passkeys-result:visible")
    after = options.inner_text("#passkeys-result")
    assert "localhost still lists it" in after and "sign in to localhost" in after
    options.wait_for_selector("#audit tr.audit-entry[data-ceremony=delete]")
    assert (
        options.locator("#audit tr.audit-entry[data-ceremony=delete] .what").inner_text()
        == "Moved to the trash"
    )
    screenshot(options, "screens-options-deleted")

    # Export: a second field for the file's passphrase; its error beside the form.
    options.fill("#export-vault-passphrase", PASSPHRASE)
    options.fill("#export-passphrase", "file secret")
    options.fill("#export-passphrase-again", "file secreT")
    options.click("#export")
    options.wait_for_selector("#export-error:visible")
    assert "differ" in options.inner_text("#export-error") and options.locator("#error").is_hidden()
    options.locator("#export-section").scroll_into_view_if_needed()
    screenshot(options, "screens-options-export-error")
    options.fill("#export-passphrase-again", "file secret")
    with options.expect_download() as exported:
        options.click("#export")
    file = tmp_path / exported.value.suggested_filename
    exported.value.save_as(file)

    # Import: progress while it runs, the counts when done, errors beside the form.
    options.set_input_files("#import-file", str(file))
    options.fill("#import-passphrase", "not it")
    options.click("#import")
    options.wait_for_selector("#import-error:visible", timeout=30_000)
    assert options.locator("#error").is_hidden()
    options.fill("#import-passphrase", "file secret")
    options.evaluate("""() => { window.__sawProgress = false;
        new MutationObserver(() => { if (!document.querySelector('#import-progress').hidden)
            window.__sawProgress = true; }).observe(document.querySelector('#import-progress'),
            {attributes: true}); }""")
    options.click("#import")
    options.locator("#import-result", has_text="Imported").wait_for(timeout=30_000)
    assert options.evaluate("window.__sawProgress")
    assert (
        options.locator("#import-progress").is_hidden()
        and options.locator("#import-error").is_hidden()
    )
    options.locator("#import-section").scroll_into_view_if_needed()
    screenshot(options, "screens-options-import")


# -- item 17: "What is a passkey?" ---------------------------------------------------------------


def test_help_page_opens_from_every_screen_and_its_links_work(
    browser: Any, rp: RelyingParty, start_daemon: Any
) -> None:
    start_daemon("--presence", "prompt")
    for where in ("popup/popup.html", "options/options.html"):
        opener = browser.new_page()
        opener.goto(f"{EXT}/{where}")
        with browser.expect_page() as opened:
            opener.click("#help-link")
        help_page = opened.value
        help_page.wait_for_load_state()
        assert help_page.url == f"{EXT}/help/help.html"
        assert help_page.inner_text("h1") == "What is a passkey?"
    page = open_site(browser, rp)
    window = ceremony_window(browser, page, "register('yves')")
    window.wait_for_selector("#help-link")
    with browser.expect_page(lambda p: "help.html" in p.url) as opened:
        window.click("#help-link")
    opened.value.wait_for_load_state()
    window.click("#cancel", no_wait_after=True)
    done(page)

    text = help_page.inner_text("main")
    for question in (
        "Is this a passkey?",
        "Where is it kept?",
        "What does the site learn",
        "lose this computer",
        "remove a passkey",
    ):
        assert question in text, question
    for term in ("makeCredential", "rpId", "CTAP", "attestation", "`"):
        assert term not in text, term
    anchors = help_page.eval_on_selector_all("#questions a", "as => as.map(a => a.hash)")
    assert len(anchors) == 7  # issue 20: why vauth asks for its permissions
    for anchor in anchors:  # every question jumps to its answer
        assert help_page.locator(anchor).count() == 1
        help_page.click(f'#questions a[href="{anchor}"]')
        assert help_page.evaluate("location.hash") == anchor
    help_page.set_viewport_size({"width": 800, "height": 900})
    help_page.evaluate("window.scrollTo(0, 0)")
    screenshot(help_page, "screens-help")
    help_page.click("#options-link")
    help_page.wait_for_url(f"{EXT}/options/options.html")
    help_page.wait_for_selector("#passkeys-section")
