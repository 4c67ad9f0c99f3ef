"""The options page's export form (issue 10 item 6): it sends the vault passphrase, a wrong one
exports nothing, and a plaintext export needs a confirm() first. Real Chromium, the real
extension, native host and daemon."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import EXTENSION_ID, PASSPHRASE, screenshot
from tests.support import creation


def test_export_form_needs_the_vault_passphrase(browser: Any, start_daemon: Any) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from vauth.transport.unix_socket import Client

    daemon = start_daemon("--presence", "auto")

    async def create() -> dict[str, Any]:
        client = await Client.connect(daemon.socket)
        try:
            return await client.call(
                "create", origin="https://example.com", options=creation("olga")
            )
        finally:
            await client.close()

    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs on this one
        assert thread.submit(asyncio.run, create()).result()["ok"]
    options = browser.new_page()
    options.goto(f"chrome-extension://{EXTENSION_ID}/options/options.html")
    options.wait_for_selector("#passkeys .passkey")
    assert options.get_attribute("#export-vault-passphrase", "required") is not None

    options.fill("#export-vault-passphrase", "a wrong guess")
    options.fill("#export-passphrase", "file secret")
    options.fill("#export-passphrase-again", "file secret")
    options.click("#export")
    options.wait_for_selector("#export-error:not([hidden])")  # beside the form, not at the top
    assert "passphrase is not right" in options.inner_text("#export-error")
    assert options.inner_text("#export-result") == ""

    options.fill("#export-vault-passphrase", PASSPHRASE)
    with options.expect_download() as encrypted:
        options.click("#export")
    assert encrypted.value.suggested_filename.endswith(".cxf.enc")
    assert options.input_value("#export-vault-passphrase") == ""  # not kept in the form

    dialogs: list[str] = []

    def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    options.fill("#export-vault-passphrase", PASSPHRASE)
    options.check("#export-plaintext")
    options.once("dialog", dismiss)
    options.click("#export")
    options.wait_for_timeout(300)
    assert dialogs and "every private key" in dialogs[0]
    assert options.inner_text("#export-result") == "Nothing was exported."

    options.once("dialog", lambda dialog: dialog.accept())
    with options.expect_download() as plain:
        options.click("#export")
    assert plain.value.suggested_filename.endswith(".cxf.json")
    screenshot(options, "options-export")
