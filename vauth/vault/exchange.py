"""Export and import of credentials.

Exports: ``cxf`` (FIDO Credential Exchange Format 1.0, discoverable credentials as passkeys; see
vauth.vault.cxf) and ``webdriver`` (W3C WebDriver Credential Parameters, for testers; see
vauth.vault.webdriver), encrypted in vauth's container unless the caller asks for
``plaintext=True`` (see vauth.vault.container); ``keepassxc`` (a KDBX 4 database in KeePassXC's
layout, always encrypted; see vauth.vault.keepassxc) and ``bitwarden`` (Bitwarden's JSON export,
password protected unless ``plaintext=True``; see vauth.vault.bitwarden).

Imports read any of those, and Proton Pass's exports, told apart by their content
(vauth.vault.sources). An import reads and checks every entry before it writes anything, then
writes all it accepted in one transaction: it imports everything it reports, or nothing.
Importing a file twice imports nothing the second time (each entry is "already present").
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from vauth import base64url
from vauth.ctap import cbor, large_blob_array
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.ctap.large_blob_array import LargeBlobError
from vauth.ctap.ports import CredentialStore
from vauth.vault import bitwarden, container, cxf, keepassxc, sources, webdriver
from vauth.vault.errors import ExchangeError, VaultError
from vauth.vault.kdf import KdfParams
from vauth.vault.portable import EntryError, Portable
from vauth.vault.sources import MAX_FILE_SIZE

logger = logging.getLogger(__name__)
T = TypeVar("T")

FORMATS = ("cxf", "webdriver", "keepassxc", "bitwarden")
MAX_ENTRIES = 1_000_000
CHUNK = 1000  # entries parsed per trip to a worker thread
ALREADY_PRESENT = "already present"
CONFLICT = "conflict: a different credential with this ID is stored"
DUPLICATE = "duplicate of an earlier entry in this file"
CONFLICT_IN_FILE = "conflict: an earlier entry in this file has this ID with a different key"
# A settings value rewritten inside the import's transaction, from the value stored then.
SettingUpdate = Callable[[bytes | None], bytes]


@runtime_checkable
class BatchStore(Protocol):
    async def put_many(
        self,
        credentials: Sequence[Credential],
        settings: Mapping[str, SettingUpdate] | None = None,
    ) -> Sequence[bytes]:
        """Insert new credentials and rewrite settings, all or nothing; the IDs of those that
        stay on this computer only although the store syncs new ones (their counter moved)."""


# A sealed credential's record -> the credential with its key (vauth.ctap.lookup.unsealed).
Unseal = Callable[[Credential], Awaitable[Credential | None]]


@runtime_checkable
class TrashStore(Protocol):
    async def trash(self) -> Sequence[Any]:
        """What is in the trash."""


@dataclass(frozen=True, slots=True)
class Skipped:
    index: int  # the entry's position in the file, from 0
    credential_id: str | None  # base64url, as the file gave it, if it gave one
    reason: str
    rp_id: str | None = None  # the site and account, as the file named them, if it did
    user_name: str | None = None

    def sentence(self) -> str:
        """Which passkey, as a person knows it, and why: "example.com (alice): ..."."""
        site = self.rp_id or f"entry {self.index + 1} of the file"
        who = f" ({self.user_name})" if self.user_name else ""
        return f"{site}{who}: {self.reason}"


@dataclass(slots=True)
class ImportReport:
    imported: list[str] = field(default_factory=list)  # base64url credential IDs
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # imported, but not quite whole
    authenticator_name: str | None = None  # the name of the vauth that exported the file

    def reasons(self) -> dict[str | None, str]:
        """Skipped credential ID -> reason (the last one, for an ID skipped twice)."""
        return {skipped.credential_id: skipped.reason for skipped in self.skipped}


# -- export ---------------------------------------------------------------------------------------


async def export_credentials(
    store: CredentialStore,
    fmt: str,
    *,
    passphrase: str | None,
    plaintext: bool = False,
    kdf: KdfParams | None = None,
    unseal: Unseal | None = None,
    exporter_name: str | None = None,
) -> bytes:
    """Every exportable credential of ``store`` in format ``fmt`` (one of FORMATS), sealed
    under ``passphrase`` (for cxf and webdriver: Argon2id with ``kdf``, default: fresh salt,
    moderate cost; keepassxc and bitwarden: their own formats' encryption), or in the clear only
    with ``plaintext=True`` (never keepassxc). A credential whose key is sealed in its ID goes
    whole, opened by ``unseal`` (without it, it stays behind); one the format cannot carry stays
    behind (export_notice names it). Without a running event loop (a caller driving the
    coroutine by hand), the slow work runs on the calling thread."""
    if fmt not in FORMATS:
        raise ExchangeError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if plaintext and passphrase is not None:
        raise ExchangeError("give a passphrase or plaintext=True, not both")
    if plaintext and fmt == "keepassxc":
        raise ExchangeError("a KeePass database is always encrypted: give it a passphrase")
    if not plaintext and not passphrase:
        raise ExchangeError(
            "an export is encrypted: give a passphrase (or plaintext=True to write the private "
            "keys in the clear)"
        )
    credentials = []
    for credential in await store.all():
        if credential.sealed:
            whole = None if unseal is None or not credential.rp_id else await unseal(credential)
            if whole is None:
                continue
            credential = whole
        credentials.append(credential)
    if fmt == "keepassxc":
        assert passphrase is not None
        content = await _blocking(lambda: keepassxc.write(credentials, passphrase))
    elif fmt == "bitwarden":
        content = await _blocking(lambda: bitwarden.write(credentials, passphrase))
    else:
        if fmt == "cxf":
            array = await large_blob_array.load(store)
            content = await _blocking(lambda: _cxf_export(credentials, array, exporter_name))
        else:
            content = await _blocking(lambda: _json([webdriver.parameters(c) for c in credentials]))
        if passphrase is not None:
            params = kdf or KdfParams.fresh()
            sealed = content
            content = await _blocking(lambda: container.seal(sealed, fmt, passphrase, params))
    if len(content) > MAX_FILE_SIZE:
        raise ExchangeError(
            f"the export would be {len(content)} bytes, over the {MAX_FILE_SIZE}-byte limit an "
            "import accepts"
        )
    return content


def _cxf_export(
    credentials: Sequence[Credential], array: bytes, exporter_name: str | None = None
) -> bytes:
    try:
        entries = large_blob_array.deserialize(array)
    except LargeBlobError:
        logger.warning("the large-blob array is damaged: exporting passkeys without large blobs")
        entries = []
    passkeys = [
        Portable(c, large_blob_array.find(c.large_blob_key, entries) if c.large_blob_key else None)
        for c in credentials
        if c.user_handle or not c.discoverable
    ]
    return _json(cxf.document(passkeys, int(time.time()), exporter_name))


# -- what an export leaves behind, said before it is made ---------------------------------------


async def export_notice(store: CredentialStore, fmt: str) -> dict[str, Any]:
    """How many credentials an export in ``fmt`` holds, and a sentence for each thing that
    cannot travel in it (``losses``), for a person to read before confirming."""
    if fmt not in FORMATS:
        raise ExchangeError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    credentials = list(await store.all())
    trashed = len(await store.trash()) if isinstance(store, TrashStore) else 0
    staying = [c for c in credentials if c.sealed and not c.rp_id]  # made through U2F
    going = [c for c in credentials if c not in staying]
    losses = []
    if trashed:
        losses.append(f"{_count(trashed, 'passkey')} in the trash {_are(trashed)} not exported.")
    if staying:
        losses.append(
            f"{_count(len(staying), 'older security-key registration')} cannot leave this vault: "
            f"{'it works' if len(staying) == 1 else 'they work'} only here."
        )
    if fmt in _CARRIES:
        behind = [c for c in going if not _CARRIES[fmt](c)]
        going = [c for c in going if c not in behind]
        if behind:
            losses.append(_BEHIND[fmt](behind))
    lost = _LOSSES[fmt](going)
    if lost:
        losses.append(lost)
    return {
        "format": fmt,
        "count": len(going),
        "losses": losses,
        "notice": " ".join(losses) if losses else "Everything in your vault travels in it.",
    }


def _cxf_losses(credentials: Sequence[Credential]) -> str:
    hidden = sum(1 for c in credentials if not c.discoverable)
    parts = _vendor_only(credentials)
    if hidden:
        parts.append(f"the {_count(hidden, 'passkey')} that sites must name (not discoverable)")
    if not parts:
        return ""
    return (
        "Another vauth gets everything. Another password manager reads only what the standard "
        f"file format defines, so it will not get {_and(parts)}."
    )


def _vendor_only(credentials: Sequence[Credential]) -> list[str]:
    parts = []
    if any(c.nickname for c in credentials):
        parts.append("nicknames")
    if any(c.last_used for c in credentials):
        parts.append("when each passkey was last used")
    if any(c.sign_count_policy is SignCountPolicy.COUNTER for c in credentials):
        parts.append("signature counters")
    if any(not (c.backup_eligible and c.backup_state) for c in credentials):
        parts.append("which passkeys are not backed up")
    if any(c.cred_protect > 1 for c in credentials):
        parts.append("the extra protection some sites asked for")
    return parts


def _webdriver_losses(credentials: Sequence[Credential]) -> str:
    parts = _missing(
        credentials,
        _some(credentials, lambda c: c.nickname, "the nicknames"),
        _some(credentials, lambda c: c.rp_name, "the site names"),
        "when passkeys were created and last used" if credentials else None,
    )
    return _cannot_carry("This format", parts)


def _keepassxc_losses(credentials: Sequence[Credential]) -> str:
    parts = _missing(
        credentials,
        _some(
            credentials,
            lambda c: c.sign_count_policy is SignCountPolicy.COUNTER,
            "the signature counters (KeePassXC signs with 0)",
        ),
        _some(credentials, lambda c: c.nickname, "the nicknames"),
        _some(credentials, lambda c: c.user_display_name, "the display names"),
        _some(credentials, lambda c: c.last_used, "when passkeys were last used"),
    )
    return _cannot_carry("A KeePassXC database", parts)


def _bitwarden_losses(credentials: Sequence[Credential]) -> str:
    parts = _missing(
        credentials,
        _some(credentials, lambda c: c.nickname, "the nicknames"),
        _some(credentials, lambda c: c.last_used, "when passkeys were last used"),
        _some(
            credentials,
            lambda c: not (c.backup_eligible and c.backup_state),
            "which passkeys are not backed up",
        ),
    )
    return _cannot_carry("A Bitwarden export", parts)


def _cannot_carry(what: str, parts: Sequence[str]) -> str:
    if not parts:
        return ""
    return f"{what} cannot carry {_and(parts)}: use the CXF format to keep them."


def _missing(credentials: Sequence[Credential], *parts: str | None) -> list[str]:
    """The named parts, then what no format but CXF carries."""
    return [
        part
        for part in (
            *parts,
            _some(credentials, lambda c: c.cred_protect > 1, "the extra protection"),
            _some(
                credentials,
                lambda c: c.cred_random_with_uv or (c.sealed and c.rp_id),
                "the secrets that sites may use to encrypt your data (PRF)",
            ),
            _some(credentials, lambda c: c.cred_blob, "the small data sites stored"),
            _some(credentials, lambda c: c.large_blob_key, "the larger data sites stored"),
        )
        if part
    ]


def _some(
    credentials: Sequence[Credential], test: Callable[[Credential], object], what: str
) -> str | None:
    n = sum(1 for c in credentials if test(c))
    return f"{what} of {_count(n, 'passkey')}" if n else None


def _keepassxc_behind(credentials: Sequence[Credential]) -> str:
    return (
        "KeePassXC keeps only passkeys it can offer by itself, so these that sites must name "
        f"(not discoverable) stay behind: {_named(credentials)}."
    )


def _bitwarden_behind(credentials: Sequence[Credential]) -> str:
    return (
        f"Bitwarden holds only P-256 (ES256) passkeys, so these stay behind: {_named(credentials)}."
    )


def _named(credentials: Sequence[Credential], shown: int = 20) -> str:
    """The passkeys by site and account, as a person knows them."""
    listed = [
        f"{c.rp_id or 'an older security-key registration'}"
        + (f" ({c.user_name})" if c.user_name else "")
        for c in credentials[:shown]
    ]
    more = len(credentials) - shown
    return ", ".join(listed) + (f" and {more} more" if more > 0 else "")


_LOSSES: dict[str, Callable[[Sequence[Credential]], str]] = {
    "cxf": _cxf_losses,
    "webdriver": _webdriver_losses,
    "keepassxc": _keepassxc_losses,
    "bitwarden": _bitwarden_losses,
}
_CARRIES: dict[str, Callable[[Credential], bool]] = {
    "keepassxc": keepassxc.carries,
    "bitwarden": bitwarden.carries,
}
_BEHIND: dict[str, Callable[[Sequence[Credential]], str]] = {
    "keepassxc": _keepassxc_behind,
    "bitwarden": _bitwarden_behind,
}


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# -- import ---------------------------------------------------------------------------------------


async def import_credentials(
    store: CredentialStore,
    data: bytes,
    *,
    passphrase: str | None,
    progress: Callable[[int, int], None] | None = None,
    large_blob_limit: int | None = None,
) -> ImportReport:
    """Import a file into ``store``: any format vauth.vault.sources recognises.

    Entries that cannot be imported are skipped with their reason; the rest are written in
    one transaction. ``progress(examined, total)`` follows the checks (an exception from it
    stops the import before anything is written). Large blobs go into the large-blob array
    under a fresh largeBlobKey while the array stays within ``large_blob_limit`` bytes (the
    authenticator's maxSerializedLargeBlobArray); one that does not fit is left out, with a
    warning. Raises ExchangeError (a VaultError) and writes nothing if the file is refused,
    holds no passkeys, or does not decrypt (ExportDecryptionError).
    """
    if not isinstance(store, BatchStore):
        raise ExchangeError("this credential store cannot import all-or-nothing (no put_many)")
    source = await _blocking(lambda: sources.read(data, passphrase))
    raw = source.entries
    if not raw:
        raise ExchangeError("the file holds no passkeys: nothing was imported")
    if len(raw) > MAX_ENTRIES:
        raise ExchangeError(f"the file holds {len(raw)} entries, over the limit of {MAX_ENTRIES}")
    now_ms = time.time_ns() // 1_000_000
    stored = {c.credential_id: c for c in await store.all()}
    report = ImportReport(authenticator_name=source.authenticator_name)
    accepted: dict[bytes, Portable] = {}
    total = len(raw)
    if progress is not None:
        progress(0, total)
    for start in range(0, total, CHUNK):
        chunk = raw[start : start + CHUNK]
        results = await _blocking(functools.partial(_parse_all, source.parse, chunk, now_ms))
        for index, (entry, result) in enumerate(zip(chunk, results, strict=True), start):
            reason = str(result) if isinstance(result, EntryError) else None
            if isinstance(result, Portable):
                reason = _clash(result, stored, accepted)
                if reason is None:
                    accepted[result.credential.credential_id] = result
            if reason is not None:
                report.skipped.append(
                    Skipped(index, source.claimed_id(entry), reason, *source.names(entry))
                )
            if progress is not None:
                progress(index + 1, total)
    settings = await _large_blob_update(store, accepted.values(), large_blob_limit, report)
    try:
        counted = await store.put_many([p.credential for p in accepted.values()], settings)
    except VaultError:
        raise
    except Exception as exc:
        raise ExchangeError(f"writing the credentials failed, nothing was imported: {exc}") from exc
    report.imported = [base64url.encode(credential_id) for credential_id in accepted]
    if counted:
        report.warnings.append(_kept_here([accepted[i].credential for i in counted]))
    return report


def _kept_here(credentials: Sequence[Credential]) -> str:
    """What an import into a synced vault says of the passkeys whose counter had moved."""
    names = [f"{c.rp_id} ({c.user_name})" if c.user_name else c.rp_id for c in credentials]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    one = len(credentials) == 1
    return (
        f"{len(credentials)} imported passkey{'' if one else 's'} "
        f"{'stays' if one else 'stay'} on this computer only, not synced to your other "
        f"computers: {shown}. {'It was' if one else 'They were'} used with a signature "
        "counter, which sites check goes up, and a synced passkey's counter stays at 0."
    )


def _parse_all(
    parse: Callable[[Any, int], Portable], chunk: Sequence[Any], now_ms: int
) -> list[Portable | EntryError]:
    results: list[Portable | EntryError] = []
    for entry in chunk:
        try:
            results.append(parse(entry, now_ms))
        except EntryError as exc:
            results.append(exc)
    return results


def _clash(
    incoming: Portable, stored: Mapping[bytes, Credential], accepted: Mapping[bytes, Portable]
) -> str | None:
    """Why ``incoming`` is not imported although valid, or None if it is new."""
    credential_id = incoming.credential.credential_id
    earlier = accepted.get(credential_id)
    if earlier is not None:
        return DUPLICATE if incoming.same_as(earlier.credential) else CONFLICT_IN_FILE
    existing = stored.get(credential_id)
    if existing is not None:
        return ALREADY_PRESENT if incoming.same_as(existing) else CONFLICT
    return None


async def _large_blob_update(
    store: CredentialStore,
    accepted: Iterable[Portable],
    limit: int | None,
    report: ImportReport,
) -> dict[str, SettingUpdate] | None:
    """The rewrite of the large-blob array that adds the imported blobs, sealed now."""
    with_blobs = [p for p in accepted if p.large_blob is not None]
    if not with_blobs:
        return None
    try:
        current = large_blob_array.deserialize(await large_blob_array.load(store))
    except LargeBlobError:
        for passkey in with_blobs:
            report.warnings.append(
                f"{_id(passkey)}: imported without its large blob: the stored large-blob array "
                "is damaged"
            )
        return None
    size = len(large_blob_array.serialize(current)) + 8  # the array's length prefix may grow
    added: list[dict[int, Any]] = []
    for passkey in with_blobs:
        credential, blob = passkey.credential, passkey.large_blob
        assert blob is not None
        if credential.large_blob_key is None:
            credential.large_blob_key = secrets.token_bytes(cxf.LARGE_BLOB_KEY_LENGTH)
        entry = large_blob_array.seal(credential.large_blob_key, blob)
        entry_size = len(cbor.encode(entry))
        if limit is not None and size + entry_size > limit:
            report.warnings.append(
                f"{_id(passkey)}: imported without its large blob ({len(blob)} bytes): it does "
                f"not fit the {limit}-byte large-blob array"
            )
            continue
        size += entry_size
        added.append(entry)
    if not added:
        return None

    def update(value: bytes | None) -> bytes:
        return large_blob_array.serialize(
            [*large_blob_array.deserialize(value or large_blob_array.EMPTY_ARRAY), *added]
        )

    return {large_blob_array.SETTING: update}


def _id(passkey: Portable) -> str:
    return base64url.encode(passkey.credential.credential_id)


async def _blocking(work: Callable[[], T]) -> T:
    """Slow work (Argon2id, parsing keys) off the event loop, when there is one to keep free."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    return await asyncio.to_thread(work)
