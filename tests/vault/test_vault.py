"""The encrypted vault: passphrases, recovery, locking, migrations, nothing readable at rest."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.vault.conftest import PASSPHRASE, fast_kdf
from vauth import (
    VaultError,
    VaultLockedError,
    VirtualAuthenticator,
    WebAuthnError,
    WrongPassphraseError,
)
from vauth.vault import Vault, VaultVersionError
from vauth.vault.database import Database
from vauth.vault.keyfile import KeyFile, keyfile_path
from vauth.vault.schema import LATEST

ORIGIN = "https://secret-site.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def register(va: VirtualAuthenticator, name: str = "alice.secret@example") -> dict[str, object]:
    return va.create(
        {
            "rp": {"id": "secret-site.example", "name": "Secret Site"},
            "user": {"id": b64(name.encode()), "name": name, "displayName": name.title()},
            "challenge": b64(os.urandom(32)),
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            "authenticatorSelection": {"residentKey": "required"},
        },
        ORIGIN,
    )


def sign_in(va: VirtualAuthenticator) -> dict[str, object]:
    return va.get({"challenge": b64(os.urandom(32))}, ORIGIN)


def files_of(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file()}


def test_wrong_passphrase_is_plain_and_changes_nothing(vault_path: Path) -> None:
    before = files_of(vault_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in vault_path.parent.iterdir()}
    with pytest.raises(WrongPassphraseError) as exc:
        VirtualAuthenticator(vault=vault_path, passphrase="not it")
    assert isinstance(exc.value, VaultError)
    assert "wrong passphrase" in str(exc.value) and "nothing was changed" in str(exc.value)
    assert files_of(vault_path) == before
    assert stamps == {p.name: p.stat().st_mtime_ns for p in vault_path.parent.iterdir()}


def test_credentials_persist_and_nothing_is_readable_at_rest(vault_path: Path) -> None:
    va = VirtualAuthenticator(vault=vault_path, passphrase=PASSPHRASE)
    registered = register(va)
    sign_in(va)
    assert "privateKey" not in va.get_credentials()[0]  # a vault shows no private key
    private_key = asyncio.run(va.device.store.all())[0].private_key_der()
    # While the vault is open (the WAL holds the latest pages) and after it closed:
    for moment in ("open", "closed"):
        blob = b"".join(files_of(vault_path).values())
        for secret in (
            b"secret-site.example",
            b"alice.secret",
            b"Secret Site",
            private_key,
            private_key[-32:],
            hashlib.sha256(b"secret-site.example").digest(),
        ):
            assert secret not in blob, (moment, secret[:16])
        if moment == "open":
            va.close()
    again = VirtualAuthenticator(vault=vault_path, passphrase=PASSPHRASE)
    assert [c["credentialId"] for c in again.get_credentials()] == [registered["id"]]
    assert sign_in(again)["id"] == registered["id"]
    again.close()


def test_key_file_holds_no_secret_in_clear(vault_path: Path) -> None:
    text = keyfile_path(vault_path).read_text()
    assert PASSPHRASE not in text
    assert oct(keyfile_path(vault_path).stat().st_mode & 0o777) == "0o600"
    assert oct(vault_path.stat().st_mode & 0o777) == "0o600"


def test_change_passphrase(vault_path: Path) -> None:
    vault = Vault.open(vault_path, PASSPHRASE)
    with pytest.raises(WrongPassphraseError):
        vault.change_passphrase("not it", "new one")
    vault.change_passphrase(PASSPHRASE, "new one", kdf=fast_kdf())
    vault.close()
    with pytest.raises(WrongPassphraseError):
        Vault.open(vault_path, PASSPHRASE)
    Vault.open(vault_path, "new one").close()


def test_recovery_key_sets_a_new_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    vault = Vault.open(path, PASSPHRASE, kdf=fast_kdf())
    recovery = vault.recovery_key
    assert recovery is not None and len(recovery.replace("-", "")) == 32
    vault.close()
    with pytest.raises(WrongPassphraseError, match="recovery key"):
        Vault.recover(path, "0000-0000-0000-0000-0000-0000-0000-0000", "x")
    with pytest.raises(WrongPassphraseError, match="recovery key"):
        Vault.recover(path, "not a key", "x")
    Vault.recover(path, recovery.lower(), "after recovery").close()
    Vault.open(path, "after recovery").close()
    assert Vault.open(path, "after recovery").recovery_key is None  # shown once only


def test_lock_forgets_the_key_and_unlock_restores(vault_path: Path) -> None:
    va = VirtualAuthenticator(vault=vault_path, passphrase=PASSPHRASE)
    register(va)
    assert va.vault is not None
    va.vault.lock()
    assert va.vault.locked and va.vault._data_key is None and va.vault._database is None
    with pytest.raises(VaultLockedError):
        va.get_credentials()
    with pytest.raises(VaultLockedError):  # a ceremony says why it cannot happen
        sign_in(va)
    with pytest.raises(WrongPassphraseError):
        va.vault.unlock("not it")
    va.vault.unlock(PASSPHRASE)
    sign_in(va)
    va.close()


def test_idle_auto_lock(vault_path: Path) -> None:
    vault = Vault.open(vault_path, PASSPHRASE, idle_lock_s=0.05)
    vault.integrity_check()
    time.sleep(0.1)
    with pytest.raises(VaultLockedError):
        vault.integrity_check()
    assert vault.locked
    vault.unlock(PASSPHRASE)
    assert vault.integrity_check() == "ok"
    vault.close()


def test_older_vault_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    keyfile, data_key, _ = KeyFile.create(PASSPHRASE, fast_kdf())
    keyfile.write(keyfile_path(path))
    old = Database(path, data_key, migrate_to=1)
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    old.execute(
        "INSERT INTO credentials (credential_id, rp_id_hash, rp_id, user_handle, algorithm, "
        "private_key, discoverable, sign_count, sign_count_policy, backup_eligible, "
        "backup_state, cred_protect, created) VALUES (?, ?, ?, ?, -7, ?, 1, 5, 'counter', 0, "
        "0, 1, 0)",
        (b"old-credential", hashlib.sha256(b"example.com").digest(), "example.com", b"u", key),
    )
    assert old.user_version() == 1
    old.close()
    va = VirtualAuthenticator(vault=path, passphrase=PASSPHRASE)
    [credential] = va.get_credentials()
    assert credential["credentialId"] == b64(b"old-credential") and credential["signCount"] == 5
    assert va.vault is not None
    assert va.vault.with_database_sync(lambda db: db.user_version()) == LATEST
    va.close()


def test_newer_vault_is_refused(vault_path: Path) -> None:
    vault = Vault.open(vault_path, PASSPHRASE)
    vault.with_database_sync(lambda db: db.query("PRAGMA user_version = 99"))
    vault.close()
    with pytest.raises(VaultVersionError, match="newer than this vauth"):
        Vault.open(vault_path, PASSPHRASE)


def test_missing_or_damaged_key_file(vault_path: Path) -> None:
    keys = keyfile_path(vault_path)
    keys.write_text("{not json")
    with pytest.raises(VaultError, match="unreadable"):
        Vault.open(vault_path, PASSPHRASE)
    keys.unlink()
    with pytest.raises(VaultError, match=r"key file .* is missing"):
        Vault.open(vault_path, PASSPHRASE)


def test_backup_while_in_use(vault_path: Path, tmp_path: Path) -> None:
    va = VirtualAuthenticator(vault=vault_path, passphrase=PASSPHRASE)
    register(va, "one")
    assert va.vault is not None
    copy = va.vault.backup(tmp_path / "backup" / "copy.db")
    register(va, "two")  # the original goes on
    restored = VirtualAuthenticator(vault=copy, passphrase=PASSPHRASE)
    assert len(restored.get_credentials()) == 1
    assert restored.vault is not None and restored.vault.integrity_check() == "ok"
    restored.close()
    va.close()


def test_audit_log_tells_which_passkey_was_used_where(vault_path: Path) -> None:
    va = VirtualAuthenticator(vault=vault_path, passphrase=PASSPHRASE)
    registered = register(va)
    sign_in(va)
    va.set_user_consenting(False)
    with pytest.raises(WebAuthnError):
        sign_in(va)
    assert va.vault is not None
    log = asyncio.run(va.vault.store.audit())
    raw_id = base64.urlsafe_b64decode(str(registered["id"]) + "==")
    assert [(e.ceremony, e.rp_id, e.credential_id, e.outcome) for e in log] == [
        ("getAssertion", "secret-site.example", None, "OPERATION_DENIED"),
        ("getAssertion", "secret-site.example", raw_id, "ok"),
        ("makeCredential", "secret-site.example", raw_id, "ok"),
    ]
    va.close()


def test_a_vault_or_a_store_not_both(vault_path: Path) -> None:
    from vauth.app.store import InMemoryStore

    with pytest.raises(ValueError, match="not both"):
        VirtualAuthenticator(vault=vault_path, passphrase=PASSPHRASE, store=InMemoryStore())
    with pytest.raises(ValueError, match="passphrase"):
        VirtualAuthenticator(vault=vault_path)
