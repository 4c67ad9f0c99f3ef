"""Fuzz the credential importer: ``vauth.vault.exchange.import_credentials`` with plaintext CXF
documents and WebDriver Credential Parameters lists (real exports, mutated byte-wise and
structurally), into an ``InMemoryStore``.

Properties:

- the import gives an ``ImportReport`` or raises a ``VaultError`` (``ExchangeError``), nothing
  else, and nothing it logs is an unexpected exception;
- the store then holds exactly the credentials the report lists as imported (each once), and
  nothing at all after an error;
- importing the same file again imports nothing more;
- what was imported exports (WebDriver, and CXF for the passkeys) and imports into an empty
  store whole: the same credential IDs, nothing skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

with _common.instrumented("vauth"):
    from vauth import base64url
    from vauth.app.store import InMemoryStore
    from vauth.vault import VaultError
    from vauth.vault.exchange import ImportReport, export_credentials, import_credentials

TARGET = "cxf"
LARGE_BLOB_LIMIT = 4096  # a VirtualAuthenticator's maxSerializedLargeBlobArray
T = TypeVar("T")
_errors = _common.LoggedErrors("vauth")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine whose ports never suspend (the in-memory store), without a loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise _common.PropertyViolation("the import suspended on an in-memory store")


def attempt(store: InMemoryStore, data: bytes) -> ImportReport | VaultError:
    try:
        report = run(
            import_credentials(store, data, passphrase=None, large_blob_limit=LARGE_BLOB_LIMIT)
        )
    except VaultError as exc:
        _errors.check()
        return exc
    _errors.check()
    if not isinstance(report, ImportReport):
        raise _common.PropertyViolation(f"import gave {type(report).__name__}")
    return report


def stored_ids(store: InMemoryStore) -> list[str]:
    return [base64url.encode(c.credential_id) for c in run(store.all())]


def test_one_input(data: bytes) -> None:
    with _errors.trapping():
        check_import(data)


def check_import(data: bytes) -> None:
    store = InMemoryStore()
    result = attempt(store, data)
    ids = stored_ids(store)
    if isinstance(result, VaultError):
        if ids:
            raise _common.PropertyViolation(f"the import failed ({result}) but stored {len(ids)}")
        return
    if len(set(result.imported)) != len(result.imported) or set(result.imported) != set(ids):
        raise _common.PropertyViolation(
            f"the report says {len(result.imported)} imported, the store holds {len(ids)}"
        )
    again = attempt(store, data)
    if isinstance(again, VaultError) or again.imported or set(stored_ids(store)) != set(ids):
        raise _common.PropertyViolation(f"a second import of the same file changed things: {again}")
    if ids:
        round_trip(store, ids)


def round_trip(store: InMemoryStore, ids: list[str]) -> None:
    """Both formats carry every credential: CXF keeps the non-discoverable ones in vauth's own
    extension (vauth.vault.cxf.NON_DISCOVERABLE)."""
    for fmt, expected in (("webdriver", set(ids)), ("cxf", set(ids))):
        exported = run(export_credentials(store, fmt, passphrase=None, plaintext=True))
        result = attempt(InMemoryStore(), exported)
        if isinstance(result, VaultError) or result.skipped or set(result.imported) != expected:
            detail = result if isinstance(result, VaultError) else result.skipped[:3]
            raise _common.PropertyViolation(f"a {fmt} re-export does not import whole: {detail}")


if __name__ == "__main__":
    _common.main(TARGET, test_one_input, _common.json_mutator, max_len=16384)
