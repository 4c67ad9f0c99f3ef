"""What a file to import is, told from its content (never its name), and how to read its passkeys.

vauth's own export (the encrypted container around CXF or WebDriver), a FIDO CXF document, a list
of WebDriver Credential Parameters, a Bitwarden JSON export (unencrypted or password protected),
a KeePass database with KeePassXC's passkeys, a KeePassXC ``.passkey`` file, and a Proton Pass
export (its JSON, or the ZIP around it). Each becomes a ``Source``: the raw entries, and for one
entry its parser and the site, account and ID it claims (to name a skipped one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vauth.secret import Secret
from vauth.vault import bitwarden, container, cxf, keepassxc, protonpass, webdriver
from vauth.vault.errors import ExchangeError
from vauth.vault.portable import Portable

MAX_FILE_SIZE = 64 << 20  # 64 MiB
NOT_AN_EXPORT = (
    "this file is not one vauth can import: it reads its own exports, FIDO CXF, WebDriver "
    "credential lists, Bitwarden JSON exports, KeePass databases with KeePassXC passkeys, "
    "KeePassXC .passkey files and Proton Pass exports (ZIP or JSON)"
)


@dataclass(frozen=True, slots=True)
class Source:
    """A file's passkeys, not yet judged: ``entries`` as the file holds them; ``parse`` makes
    one a Portable or raises EntryError; ``names`` and ``claimed_id`` say which one it is."""

    kind: str
    entries: Sequence[Any]
    parse: Callable[[Any, int], Portable]
    names: Callable[[Any], tuple[str | None, str | None]]
    claimed_id: Callable[[Any], str | None]
    # The name a person gave the vauth that wrote the file (vauth's own exports carry it).
    authenticator_name: str | None = None


def needs_passphrase(data: bytes) -> bool:
    """Whether the file is encrypted under a passphrase of its own (to ask for it first)."""
    if keepassxc.is_database(data):
        return True
    if protonpass.is_zip(data) or len(data) > MAX_FILE_SIZE:
        return False
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return container.is_container(value) or bitwarden.needs_passphrase(value)


def read(data: bytes, passphrase: Secret | None) -> Source:
    """The file's passkeys (decrypted with ``passphrase`` if it is encrypted); ExchangeError
    (ExportDecryptionError for a wrong passphrase) if it cannot be read at all."""
    if len(data) > MAX_FILE_SIZE:
        raise ExchangeError(f"the file is {len(data)} bytes, over the {MAX_FILE_SIZE}-byte limit")
    if keepassxc.is_database(data):
        entries = keepassxc.database_entries(data, None if passphrase is None else str(passphrase))
        return _keepassxc("keepassxc", entries)
    if protonpass.is_zip(data):
        return _proton(
            load_json(protonpass.unzipped(data, MAX_FILE_SIZE), "the Proton Pass export")
        )
    value = load_json(data, "the file")
    if container.is_container(value):
        if not passphrase:
            raise ExchangeError("this export is encrypted: give its passphrase")
        kind, plaintext = container.open_sealed(value, passphrase)
        value = load_json(plaintext, "the decrypted export")
        return _cxf(value) if kind == "cxf" else _webdriver(value)
    if cxf.is_document(value):
        return _cxf(value)
    if isinstance(value, list):
        return _webdriver(value)
    if bitwarden.is_document(value):
        document = bitwarden.opened(value, passphrase)
        return Source(
            "bitwarden",
            bitwarden.raw_entries(document),
            bitwarden.parse,
            bitwarden.names,
            bitwarden.claimed_id,
        )
    if keepassxc.is_passkey_file(value):
        return _keepassxc("passkey", keepassxc.passkey_file_entries(value))
    if protonpass.is_document(value):
        return _proton(value)
    raise ExchangeError(NOT_AN_EXPORT)


def load_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ExchangeError(
            f"{what} is not JSON: truncated, damaged or not an export, so nothing was imported"
        ) from None


def _cxf(document: Any) -> Source:
    return Source(
        "cxf",
        cxf.raw_entries(document),
        cxf.parse,
        _cxf_names,
        _cxf_id,
        cxf.authenticator_name(document),
    )


def _webdriver(document: Any) -> Source:
    if not isinstance(document, list):
        raise ExchangeError("the export's WebDriver content is not a list")
    return Source("webdriver", document, webdriver.parse, _webdriver_names, _webdriver_id)


def _keepassxc(kind: str, entries: list[keepassxc.RawEntry]) -> Source:
    return Source(kind, entries, keepassxc.parse, keepassxc.names, keepassxc.claimed_id)


def _proton(document: Any) -> Source:
    if not protonpass.is_document(document):
        raise ExchangeError("the Proton Pass export holds no vaults: nothing was imported")
    return Source(
        "protonpass",
        protonpass.raw_entries(document),
        protonpass.parse,
        protonpass.names,
        protonpass.claimed_id,
    )


def _cxf_names(entry: Any) -> tuple[str | None, str | None]:
    return _body_names(entry[1], "username")


def _webdriver_names(entry: Any) -> tuple[str | None, str | None]:
    return _body_names(entry, "userName")


def _body_names(body: Any, account_field: str) -> tuple[str | None, str | None]:
    """(site, account) as the entry names them, to tell a person which one was skipped."""
    if not isinstance(body, dict):
        return None, None
    site, account = body.get("rpId"), body.get(account_field)
    return (
        site[:255] if isinstance(site, str) and site else None,
        account[:255] if isinstance(account, str) and account else None,
    )


def _cxf_id(entry: Any) -> str | None:
    return _body_id(entry[1])


def _webdriver_id(entry: Any) -> str | None:
    return _body_id(entry)


def _body_id(body: Any) -> str | None:
    value = body.get("credentialId") if isinstance(body, dict) else None
    return value[:1400] if isinstance(value, str) else None
