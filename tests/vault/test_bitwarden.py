"""Bitwarden's JSON export in and out (issue 22): unencrypted and password protected (PBKDF2-SHA256
and Argon2id), both credential ID forms, counters, duplicates, unusable keys, damaged files, the
account-restricted export refused, and vauth -> Bitwarden -> vauth. Fixtures are made by
tests/vault/foreign.py from Bitwarden's source; every imported passkey signs in, checked by
py_webauthn."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.vault.conftest import PASSPHRASE, fast_kdf
from tests.vault.foreign import (
    ARGON2ID,
    PBKDF2,
    Passkey,
    bitwarden_account_restricted,
    bitwarden_item,
    bitwarden_passkey,
    bitwarden_plain,
    bitwarden_protected,
    dumps,
    notice,
    registered,
    sign_count,
    signs_in,
    stored,
)
from vauth import VirtualAuthenticator, base64url
from vauth.ctap.credential import SignCountPolicy
from vauth.vault import Vault, bitwarden, exchange
from vauth.vault.errors import ExchangeError, ExportDecryptionError

FILE_PASSPHRASE = "the file's own passphrase"


def test_unencrypted_export_in_both_id_forms_signs_in(va: VirtualAuthenticator) -> None:
    """fido2-credential.export.ts's fields, a GUID ID and a "b64." one; counter 7 goes on
    above 7, counter 0 may stay 0."""
    guid = Passkey(user_name="alice", credential_id=bytes(range(16)))
    counting = Passkey(
        rp_id="count.example", user_name="bob", counter=7, credential_id=b"\xfe" * 40
    )
    document = bitwarden_plain(
        bitwarden_item(bitwarden_passkey(guid, "uuid")),
        bitwarden_item(bitwarden_passkey(counting, "b64")),
        bitwarden_item(),  # a login with no passkey
    )
    report = va.import_credentials(dumps(document))
    assert len(report.imported) == 2 and report.skipped == []
    assert signs_in(va, guid, discover=True) == 0
    first = signs_in(va, counting)
    counting.counter = first
    assert signs_in(va, counting) > first  # and never back
    credential = stored(va, guid.credential_id)
    assert (credential.user_name, credential.user_display_name, credential.rp_name) == (
        "alice",
        "Alice Liddell",
        "Example",
    )
    assert credential.created == int(guid.created.timestamp() * 1000)
    assert credential.discoverable and credential.backup_eligible and credential.backup_state
    assert stored(va, counting.credential_id).sign_count_policy is SignCountPolicy.COUNTER


@pytest.mark.parametrize("kdf", [PBKDF2, ARGON2ID], ids=["pbkdf2-sha256", "argon2id"])
def test_password_protected_export_opens_with_its_passphrase(
    va: VirtualAuthenticator, kdf: dict[str, int]
) -> None:
    passkey = Passkey()
    document = bitwarden_plain(bitwarden_item(bitwarden_passkey(passkey)))
    sealed = dumps(bitwarden_protected(document, FILE_PASSPHRASE, kdf))
    with pytest.raises(ExportDecryptionError, match="wrong passphrase for this Bitwarden"):
        va.import_credentials(sealed, passphrase="not " + FILE_PASSPHRASE)
    with pytest.raises(ExchangeError, match="give its passphrase"):
        va.import_credentials(sealed)
    assert va.get_credentials() == []  # nothing changed
    assert len(va.import_credentials(sealed, passphrase=FILE_PASSPHRASE).imported) == 1
    signs_in(va, passkey)


def test_account_restricted_export_is_refused_naming_the_export_to_make(
    va: VirtualAuthenticator,
) -> None:
    with pytest.raises(ExchangeError, match="account-restricted") as refused:
        va.import_credentials(dumps(bitwarden_account_restricted()), passphrase=FILE_PASSPHRASE)
    assert '"Password protected"' in str(refused.value)
    assert va.get_credentials() == []


def test_one_credential_in_both_id_forms_is_imported_once(va: VirtualAuthenticator) -> None:
    passkey = Passkey(credential_id=bytes.fromhex("0123456789abcdef0123456789abcdef"))
    document = bitwarden_plain(
        bitwarden_item(bitwarden_passkey(passkey, "uuid")),
        bitwarden_item(bitwarden_passkey(passkey, "b64")),
    )
    report = va.import_credentials(dumps(document))
    assert len(report.imported) == 1
    [skipped] = report.skipped
    assert (skipped.rp_id, skipped.user_name, skipped.reason) == (
        "example.com",
        "alice",
        exchange.DUPLICATE,
    )
    signs_in(va, passkey)
    again = va.import_credentials(dumps(document))  # and once in the vault, already present
    assert again.imported == [] and {s.reason for s in again.skipped} == {exchange.ALREADY_PRESENT}


def test_unusable_keys_are_skipped_by_site_and_account_while_the_rest_imports(
    va: VirtualAuthenticator,
) -> None:
    good = Passkey(rp_id="good.example", user_name="gina")
    other_curve = Passkey(
        rp_id="k1.example", user_name="kim", key=ec.generate_private_key(ec.SECP256K1())
    )
    unreadable = bitwarden_passkey(Passkey(rp_id="broken.example", user_name="bo"))
    unreadable["keyValue"] = base64url.encode(b"\x30\x03\x02\x01\x00")
    claimed_ed = bitwarden_passkey(
        Passkey(rp_id="ed.example", user_name="ed", key=ed25519.Ed25519PrivateKey.generate())
    )
    document = bitwarden_plain(
        bitwarden_item(bitwarden_passkey(good)),
        bitwarden_item(bitwarden_passkey(other_curve)),
        bitwarden_item(unreadable),
        bitwarden_item({**claimed_ed, "keyCurve": "Ed25519"}),
    )
    report = va.import_credentials(dumps(document))
    assert len(report.imported) == 1
    reasons = {(s.rp_id, s.user_name): s.reason for s in report.skipped}
    assert "unsupported key type" in reasons[("k1.example", "kim")]
    assert "not a PKCS#8 private key" in reasons[("broken.example", "bo")]
    assert "unsupported key type" in reasons[("ed.example", "ed")]
    signs_in(va, good)


def test_truncated_or_damaged_files_are_refused_and_nothing_is_imported(
    va: VirtualAuthenticator,
) -> None:
    passkeys = [Passkey(user_name=f"user{n}") for n in range(3)]
    document = bitwarden_plain(*(bitwarden_item(bitwarden_passkey(p)) for p in passkeys))
    plain = dumps(document)
    for cut in (1, len(plain) // 2, len(plain) - 2):
        with pytest.raises(ExchangeError, match="not JSON: truncated"):
            va.import_credentials(plain[:cut])
    sealed = bitwarden_protected(document, FILE_PASSPHRASE)
    iv, data, mac = sealed["data"][2:].split("|")
    for damaged in (
        {**sealed, "data": sealed["data"][: len(sealed["data"]) // 2]},  # truncated inside
        {**sealed, "data": f"2.{iv}|{data[:-8]}AAAAAAA=|{mac}"},  # altered: the MAC says so
        {**sealed, "data": "3.nonsense"},
    ):
        with pytest.raises(ExchangeError, match="damaged") as refused:
            va.import_credentials(dumps(damaged), passphrase=FILE_PASSPHRASE)
        assert not isinstance(refused.value, ExportDecryptionError)  # not "wrong passphrase"
    text = dumps(sealed)
    with pytest.raises(ExchangeError, match="not JSON"):
        va.import_credentials(text[: len(text) - 40], passphrase=FILE_PASSPHRASE)
    assert va.get_credentials() == []


@pytest.mark.parametrize(
    "kdf",
    [
        {"kdfType": 1, "kdfIterations": 3, "kdfMemory": 1 << 20, "kdfParallelism": 4},
        {"kdfType": 0, "kdfIterations": 1 << 40},
        {"kdfType": 0, "kdfIterations": 1},
        {"kdfType": 7, "kdfIterations": 5000},
    ],
    ids=["argon2id-1TiB", "pbkdf2-2^40", "pbkdf2-1", "unknown"],
)
def test_a_key_derivation_bitwarden_never_writes_is_refused_before_deriving(
    va: VirtualAuthenticator, kdf: dict[str, int]
) -> None:
    sealed = bitwarden_protected(bitwarden_plain(), FILE_PASSPHRASE)
    header = {k: v for k, v in sealed.items() if not k.startswith("kdf")} | kdf
    with pytest.raises(ExchangeError, match="key derivation Bitwarden itself does not use"):
        va.import_credentials(dumps(header), passphrase=FILE_PASSPHRASE)


def test_a_file_without_passkeys_is_refused(va: VirtualAuthenticator) -> None:
    with pytest.raises(ExchangeError, match="holds no passkeys"):
        va.import_credentials(dumps(bitwarden_plain(bitwarden_item())))


# -- vauth -> Bitwarden -> vauth ------------------------------------------------------------


def test_vauth_to_bitwarden_to_vauth_keeps_what_bitwarden_carries(
    va: VirtualAuthenticator, tmp_path: Path
) -> None:
    alice = registered(va, "alice")
    bob = registered(va, "bob")
    registered(va, "eddie", alg=-8, rp="ed.example")
    for _ in range(3):  # bob's counter moves
        sign_count(va, bob)
    said = notice(va, "bitwarden")
    assert said["count"] == 2
    assert "only P-256" in said["notice"] and "ed.example (eddie)" in said["notice"]

    exported = va.export_credentials("bitwarden", passphrase=FILE_PASSPHRASE)
    # the project's own reader opens it; it has Bitwarden's layout
    document = bitwarden.opened(json.loads(exported), FILE_PASSPHRASE)
    assert [item["type"] for item in document["items"]] == [1, 1]
    fields = document["items"][0]["login"]["fido2Credentials"][0]
    assert set(fields) == set(bitwarden_passkey(Passkey()))
    assert all(isinstance(v, str) for k, v in fields.items() if k != "userDisplayName")
    assert fields["credentialId"].startswith("b64.") and fields["keyCurve"] == "P-256"

    path = tmp_path / "second.db"
    Vault.open(path, PASSPHRASE, kdf=fast_kdf()).close()
    with VirtualAuthenticator(vault=path, passphrase=PASSPHRASE) as second:
        report = second.import_credentials(exported, passphrase=FILE_PASSPHRASE)
        assert len(report.imported) == 2
        for credential_id in (alice, bob):
            before, after = stored(va, credential_id), stored(second, credential_id)
            for name in ("rp_id", "user_handle", "user_name", "user_display_name", "rp_name",
                         "discoverable", "created"):  # fmt: skip
                assert getattr(after, name) == getattr(before, name), name
            assert after.key.to_raw() == before.key.to_raw()
        # bob signed 3 times in the first vault: the second goes on above that
        assert sign_count(second, bob) > 3


def test_plaintext_bitwarden_export_is_bitwardens_unencrypted_layout(
    va: VirtualAuthenticator,
) -> None:
    registered(va, "alice")
    document = json.loads(va.export_credentials("bitwarden", plaintext=True))
    assert document["encrypted"] is False and document["folders"] == []
    copy.deepcopy(document)  # plain JSON
    [item] = document["items"]
    assert item["login"]["uris"] == [{"match": None, "uri": "https://example.com"}]
    assert item["login"]["username"] == "alice"
