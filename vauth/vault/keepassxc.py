"""KeePassXC's passkeys: in a KeePass database (KDBX 4, and 3.1 read), and in KeePassXC's
single-passkey export files (``.passkey``).

Written from KeePassXC's public source (github.com/keepassxreboot/keepassxc), not copied:

- src/browser/BrowserService.cpp (addPasskeyToGroup, addPasskeyToEntry): one entry per passkey,
  titled "RP (Passkey)", its URL the site, its user name the account, tagged "Passkey", with
  the attributes KPEX_PASSKEY_USERNAME and KPEX_PASSKEY_RELYING_PARTY in the clear and
  KPEX_PASSKEY_CREDENTIAL_ID, KPEX_PASSKEY_PRIVATE_KEY_PEM and KPEX_PASSKEY_USER_HANDLE
  protected;
- src/browser/BrowserMessageBuilder.cpp (getBase64FromArray): the credential ID and the user
  handle are base64url without padding;
- src/browser/BrowserPasskeys.cpp: the key is a PKCS#8 PEM ("BEGIN PRIVATE KEY") of ES256,
  EdDSA or RS256; the signature counter is always 0; KPEX_PASSKEY_FLAG_BE and _FLAG_BS hold the
  backup flags as "1" or "0" (newer versions; absent, a passkey is backed up);
- src/browser/PasskeyUtils.cpp (getCredentialIdFromEntry, getUsernameFromEntry): StrongBox's
  KPEX_PASSKEY_GENERATED_USER_ID and KPXC_PASSKEY_USERNAME take precedence when an entry has them;
- src/gui/passkeys/PasskeyExporter.cpp: a ``.passkey`` file is one JSON object {"relyingParty",
  "url", "username", "credentialId", "userHandle", "privateKey"}.

The database itself is read and written by pykeepass: vauth writes KDBX 4 under the file's
passphrase, with pykeepass's default key derivation (Argon2d, 64 MiB). A database's header is
judged before any key is derived: a file asking for more than KDBX_LIMITS allow is refused.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from vauth import base64url
from vauth.ctap.cose import CoseKey, algorithm_for_key
from vauth.ctap.credential import Credential, SignCountPolicy
from vauth.vault import portable
from vauth.vault.errors import ExchangeError, ExportDecryptionError
from vauth.vault.portable import EntryError, Portable

USERNAME = "KPEX_PASSKEY_USERNAME"
CREDENTIAL_ID = "KPEX_PASSKEY_CREDENTIAL_ID"
PRIVATE_KEY = "KPEX_PASSKEY_PRIVATE_KEY_PEM"
RELYING_PARTY = "KPEX_PASSKEY_RELYING_PARTY"
USER_HANDLE = "KPEX_PASSKEY_USER_HANDLE"
FLAG_BE = "KPEX_PASSKEY_FLAG_BE"
FLAG_BS = "KPEX_PASSKEY_FLAG_BS"
STRONGBOX_CREDENTIAL_ID = "KPEX_PASSKEY_GENERATED_USER_ID"
STRONGBOX_USERNAME = "KPXC_PASSKEY_USERNAME"
TAG = "Passkey"
GROUP = "Imported Passkeys"  # the group KeePassXC's own passkey import makes
KDBX_SIGNATURE = bytes.fromhex("03d9a29a67fb4bb5")  # 0x9AA2D903, 0xB54BFB67, little-endian
# What a database's header may ask of the key derivation: more than KeePassXC offers is refused.
KDBX_LIMITS = {"argon2_memory": 1 << 30, "argon2_iterations": 1000, "argon2_parallelism": 64}
AES_KDF_ROUNDS = 100_000_000
NOT_OPENED = "wrong passphrase for this KeePass database: nothing was imported"
DAMAGED = "the KeePass database is damaged or truncated: nothing was imported"

# One passkey as found in a file: the fields that KeePassXC's .passkey file names (plus the
# entry's own dates and backup flags when it came from a database).
RawEntry = dict[str, Any]


# -- detection -------------------------------------------------------------------------------


def is_database(data: bytes) -> bool:
    return data[:8] == KDBX_SIGNATURE


def is_passkey_file(value: Any) -> bool:
    return isinstance(value, dict) and "privateKey" in value and "relyingParty" in value


# -- reading ----------------------------------------------------------------------------------


def database_entries(data: bytes, passphrase: str | None) -> list[RawEntry]:
    """The passkeys of a KeePass database: ExportDecryptionError for a wrong passphrase,
    ExchangeError for a damaged one, one that asks too much, or no passphrase."""
    from pykeepass import PyKeePass
    from pykeepass.exceptions import CredentialsError

    _check_costs(data)
    if not passphrase:
        raise ExchangeError("this KeePass database is encrypted: give its passphrase")
    try:
        database = PyKeePass(io.BytesIO(data), password=passphrase)
    except CredentialsError:
        raise ExportDecryptionError(NOT_OPENED) from None
    except Exception:  # construct's, lxml's and pykeepass's own: the file is not whole
        raise ExchangeError(DAMAGED) from None
    recycled = database.recyclebin_group
    found = []
    for entry in database.entries:
        fields = entry.custom_properties
        if PRIVATE_KEY not in fields and CREDENTIAL_ID not in fields:
            continue
        if recycled is not None and _inside(entry, recycled):
            continue
        found.append(_raw(entry, fields))
    return found


def _inside(entry: Any, group: Any) -> bool:
    parent = entry.group
    while parent is not None:
        if parent.uuid == group.uuid:
            return True
        parent = parent.parentgroup
    return False


def _raw(entry: Any, fields: dict[str, str | None]) -> RawEntry:
    try:
        created = entry.ctime
    except (ValueError, TypeError, OverflowError):  # a date pykeepass cannot read
        created = None
    return {
        "relyingParty": fields.get(RELYING_PARTY),
        "username": fields.get(STRONGBOX_USERNAME) or fields.get(USERNAME) or entry.username,
        "credentialId": fields.get(STRONGBOX_CREDENTIAL_ID) or fields.get(CREDENTIAL_ID),
        "userHandle": fields.get(USER_HANDLE),
        "privateKey": fields.get(PRIVATE_KEY),
        "backupEligible": fields.get(FLAG_BE),
        "backupState": fields.get(FLAG_BS),
        "created": int(created.timestamp() * 1000) if created is not None else None,
    }


def _check_costs(data: bytes) -> None:
    """Refuse, before deriving anything, a header whose key derivation is out of bounds (an
    Argon2 asking for 100 GiB is an attack, not a database)."""
    from pykeepass.kdbx_parsing import KDBX

    try:
        # the header alone: parsing the whole file, even without decrypting, derives the key
        header = KDBX.subcons[0].parse(data).value
        dynamic = header.dynamic_header
        if header.major_version >= 4:
            parameters = {k: v.value for k, v in dynamic.kdf_parameters.data.dict.items()}
            rounds = parameters.get("R", 0)
            memory, iterations = parameters.get("M", 0), parameters.get("I", 0)
            lanes = parameters.get("P", 0)
        else:
            rounds, memory, iterations, lanes = dynamic.transform_rounds.data, 0, 0, 0
    except Exception:
        raise ExchangeError(DAMAGED) from None
    if (
        rounds > AES_KDF_ROUNDS
        or memory > KDBX_LIMITS["argon2_memory"]
        or iterations > KDBX_LIMITS["argon2_iterations"]
        or lanes > KDBX_LIMITS["argon2_parallelism"]
    ):
        raise ExchangeError(
            "the KeePass database asks for a key derivation far costlier than KeePassXC "
            "offers (damaged, or made to exhaust this computer): nothing was imported"
        )


def parse(entry: RawEntry, now_ms: int) -> Portable:
    """One KeePassXC passkey, or EntryError saying why it cannot be used."""
    domain = portable.rp_id(entry.get("relyingParty"))
    raw_id = portable.credential_id(entry.get("credentialId"))
    handle = portable.user_handle(entry.get("userHandle"))
    key = _pem_key(entry.get("privateKey"))
    created = entry.get("created")
    credential = portable.new_credential(
        raw_id,
        domain,
        handle,
        key,
        discoverable=True,
        user_name=portable.text_field(entry.get("username"), "username") or None,
        sign_count=0,  # KeePassXC does not count
        sign_count_policy=SignCountPolicy.ZERO,
        backup_eligible=_flag(entry.get("backupEligible"), FLAG_BE),
        backup_state=_flag(entry.get("backupState"), FLAG_BS),
        created=created if isinstance(created, int) else now_ms,
    )
    return Portable(credential)


def _pem_key(value: Any) -> CoseKey:
    if not isinstance(value, str) or "-----BEGIN" not in value:
        raise EntryError("the private key is missing or not in PEM form")
    try:
        key = serialization.load_pem_private_key(value.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise EntryError("the private key is not a PKCS#8 key vauth can read") from None
    try:
        return CoseKey(algorithm_for_key(key), key)  # type: ignore[arg-type]
    except ValueError as exc:
        raise EntryError(f"unsupported key type: {exc}") from None


def _flag(value: Any, name: str) -> bool:
    if value is None or value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise EntryError(f"{name} is not 1 or 0")


def names(entry: RawEntry) -> tuple[str | None, str | None]:
    site, account = entry.get("relyingParty"), entry.get("username")
    return _short(site), _short(account)


def claimed_id(entry: RawEntry) -> str | None:
    value = entry.get("credentialId")
    return value[:1400] if isinstance(value, str) else None


def _short(value: Any) -> str | None:
    return value[:255] if isinstance(value, str) and value else None


def passkey_file_entries(value: dict[str, Any]) -> list[RawEntry]:
    """A .passkey file holds one passkey."""
    return [{name: value.get(name) for name in PASSKEY_FILE_FIELDS}]


PASSKEY_FILE_FIELDS = (
    "relyingParty",
    "url",
    "username",
    "credentialId",
    "userHandle",
    "privateKey",
)


# -- writing ----------------------------------------------------------------------------------


def carries(credential: Credential) -> bool:
    """KeePassXC offers every passkey by itself (discoverable), with its user handle."""
    return credential.discoverable and credential.user_handle is not None


def write(
    credentials: Sequence[Credential],
    passphrase: str,
    argon2: tuple[int, int, int] | None = None,
) -> bytes:
    """A KDBX 4 database under ``passphrase`` with one entry per passkey it carries, in
    KeePassXC's layout; ``argon2``: (iterations, memory in bytes, parallelism) instead of
    pykeepass's default (for tests)."""
    from pykeepass import PyKeePass
    from pykeepass.entry import Entry
    from pykeepass.pykeepass import BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD

    database = PyKeePass(BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD)
    database.password = passphrase
    if argon2 is not None:
        parameters = database.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
        parameters["I"].value, parameters["M"].value, parameters["P"].value = argon2
    group = database.add_group(database.root_group, GROUP)
    entries = []
    for credential in credentials:
        if carries(credential):
            entries.append(_entry(database, Entry, credential))
    group.append(entries)  # add_entry would search the group for each new entry: quadratic
    out = io.BytesIO()
    database.save(out)
    return out.getvalue()


def _entry(database: Any, entry_type: Any, credential: Credential) -> Any:
    assert credential.user_handle is not None
    pem = credential.key.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    entry = entry_type(
        title=f"{credential.rp_name or credential.rp_id} (Passkey)",
        username=credential.user_name or "",
        password="",
        url=f"https://{credential.rp_id}",
        tags=[TAG],
        kp=database,
    )
    when = datetime.datetime.fromtimestamp(credential.created / 1000, datetime.UTC)
    entry.ctime = entry.mtime = when
    entry.set_custom_property(USERNAME, credential.user_name or "")
    entry.set_custom_property(CREDENTIAL_ID, base64url.encode(credential.credential_id), True)
    entry.set_custom_property(PRIVATE_KEY, pem.decode(), True)
    entry.set_custom_property(RELYING_PARTY, credential.rp_id)
    entry.set_custom_property(USER_HANDLE, base64url.encode(credential.user_handle), True)
    entry.set_custom_property(FLAG_BE, "1" if credential.backup_eligible else "0")
    entry.set_custom_property(FLAG_BS, "1" if credential.backup_state else "0")
    return entry
