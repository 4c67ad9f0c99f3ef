"""The options page's export form (issue 10 item 6): it sends the vault passphrase, a wrong one
exports nothing, and a plaintext export needs a confirm() first. Real Chromium, the real
extension, native host and daemon."""

from __future__ import annotations

from pathlib import Path
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


def test_options_page_imports_other_managers_files_and_exports_theirs(
    browser: Any, start_daemon: Any, tmp_path: Path
) -> None:
    """Issue 22: a Bitwarden export is imported (its format told from the file), and the
    passkey leaves again as a KeePassXC database that pykeepass reads in KeePassXC's layout."""
    import io

    from pykeepass import PyKeePass

    from tests.vault.foreign import (
        Passkey,
        bitwarden_item,
        bitwarden_passkey,
        bitwarden_plain,
        bitwarden_protected,
        dumps,
    )

    start_daemon("--presence", "auto")
    options = browser.new_page()
    options.goto(f"chrome-extension://{EXTENSION_ID}/options/options.html")
    options.wait_for_selector("#import-file")
    document = bitwarden_plain(bitwarden_item(bitwarden_passkey(Passkey(user_name="bea"))))
    file = tmp_path / "bitwarden_export.json"
    file.write_bytes(dumps(bitwarden_protected(document, "file secret")))
    options.set_input_files("#import-file", str(file))
    options.fill("#import-passphrase", "file secret")
    options.click("#import")
    options.locator("#import-result", has_text="Imported 1 passkey").wait_for(timeout=30_000)
    options.wait_for_selector("#passkeys .passkey")
    options.click("#import")  # the same file again: nothing new, and the page says why
    options.locator("#import-result", has_text="Nothing was imported").wait_for(timeout=30_000)
    assert "already present" in options.inner_text("#import-result")

    options.select_option("#export-format", "keepassxc")
    assert options.is_disabled("#export-plaintext")  # a KeePass database is always encrypted
    options.locator("#export-notice", has_text="The file will hold 1 passkey").wait_for()
    options.fill("#export-vault-passphrase", PASSPHRASE)
    options.fill("#export-passphrase", "kdbx secret")
    options.fill("#export-passphrase-again", "kdbx secret")
    with options.expect_download(timeout=60_000) as exported:
        options.click("#export")
    assert exported.value.suggested_filename.endswith(".kdbx")
    database = PyKeePass(io.BytesIO(Path(exported.value.path()).read_bytes()), "kdbx secret")
    [entry] = [e for e in database.entries if "KPEX_PASSKEY_PRIVATE_KEY_PEM" in e.custom_properties]
    assert entry.custom_properties["KPEX_PASSKEY_USERNAME"] == "bea"
    options.locator("#export-section").scroll_into_view_if_needed()
    screenshot(options, "options-export-keepassxc")
