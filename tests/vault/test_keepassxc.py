"""KeePassXC's passkeys in and out (issue 22): KDBX 4 databases written by pykeepass with
KeePassXC's KPEX_PASSKEY_* attributes, its .passkey files, wrong passphrases, damaged files and a
header asking too much, and vauth -> KDBX -> vauth, read back by pykeepass in KeePassXC's layout.
Every imported passkey signs in, checked by py_webauthn (tests/vault/foreign.py)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.vault.conftest import PASSPHRASE, fast_kdf
from tests.vault.foreign import (
    KPEX,
    Passkey,
    b64url,
    kdbx,
    kdbx31,
    keepassxc_attributes,
    notice,
    passkey_file,
    registered,
    sign_count,
    signs_in,
    stored,
)
from vauth import VirtualAuthenticator, base64url
from vauth.ctap.credential import SignCountPolicy
from vauth.vault import Vault, keepassxc
from vauth.vault.errors import ExchangeError, ExportDecryptionError

FILE_PASSPHRASE = "the database's passphrase"
CHEAP = (2, 1 << 20, 1)  # Argon2 iterations, memory, lanes: for speed in tests


def test_a_kdbx4_database_s_passkeys_sign_in(va: VirtualAuthenticator) -> None:
    """KeePassXC makes ES256, EdDSA and RS256 passkeys (BrowserPasskeys.cpp); StrongBox's
    alternates win where present (PasskeyUtils.cpp); the recycle bin and ordinary entries are
    left alone."""
    es256 = Passkey(rp_id="es.example", user_name="erin")
    eddsa = Passkey(rp_id="ed.example", user_name="ed", key=ed25519.Ed25519PrivateKey.generate())
    rs256 = Passkey(rp_id="rs.example", user_name="ros", key=rsa.generate_private_key(65537, 2048))
    strongbox = Passkey(rp_id="sb.example", user_name="sam")
    strongbox_attributes = {
        **keepassxc_attributes(strongbox),
        KPEX["credential_id"]: b64url(b"not this one"),
        KPEX["username"]: "not this one",
        "KPEX_PASSKEY_GENERATED_USER_ID": b64url(strongbox.credential_id),
        "KPXC_PASSKEY_USERNAME": "sam",
    }
    flagged = Passkey(rp_id="flags.example", user_name="fay")
    flagged_attributes = {
        **keepassxc_attributes(flagged),
        "KPEX_PASSKEY_FLAG_BE": "1",
        "KPEX_PASSKEY_FLAG_BS": "0",
    }
    binned = Passkey(rp_id="bin.example")
    data = kdbx(
        [keepassxc_attributes(p) for p in (es256, eddsa, rs256)]
        + [strongbox_attributes, flagged_attributes],
        FILE_PASSPHRASE,
        recycled=[keepassxc_attributes(binned)],
        others=2,
    )
    assert data[:8] == bytes.fromhex("03d9a29a67fb4bb5")
    report = va.import_credentials(data, passphrase=FILE_PASSPHRASE)
    assert len(report.imported) == 5 and report.skipped == []
    for passkey in (es256, eddsa, rs256, strongbox, flagged):
        assert signs_in(va, passkey, discover=True) == 0  # KeePassXC does not count
    assert stored(va, strongbox.credential_id).user_name == "sam"
    assert stored(va, es256.credential_id).sign_count_policy is SignCountPolicy.ZERO
    flags = stored(va, flagged.credential_id)
    assert (flags.backup_eligible, flags.backup_state) == (True, False)
    unflagged = stored(va, es256.credential_id)  # before KeePassXC wrote flags: backed up
    assert (unflagged.backup_eligible, unflagged.backup_state) == (True, True)


def test_a_kdbx31_database_s_passkeys_sign_in(va: VirtualAuthenticator) -> None:
    """pykeepass reads KDBX 3.1 as well (AES-KDF; KeePassXC wrote it before 2.7)."""
    passkey = Passkey(rp_id="old.example", user_name="olga")
    data = kdbx31(kdbx([keepassxc_attributes(passkey)], FILE_PASSPHRASE), FILE_PASSPHRASE)
    assert data[8:12] == b"\x01\x00\x03\x00"  # minor 1, major 3
    with pytest.raises(ExportDecryptionError):
        va.import_credentials(data, passphrase="not " + FILE_PASSPHRASE)
    assert len(va.import_credentials(data, passphrase=FILE_PASSPHRASE).imported) == 1
    signs_in(va, passkey, discover=True)


def test_a_passkey_file_imports_and_signs_in(va: VirtualAuthenticator) -> None:
    passkey = Passkey(rp_id="file.example", user_name="fiona")
    report = va.import_credentials(passkey_file(passkey))
    assert len(report.imported) == 1
    signs_in(va, passkey, discover=True)
    missing = json.loads(passkey_file(Passkey(rp_id="other.example", user_name="olly")))
    missing["privateKey"] = ""
    [skipped] = va.import_credentials(json.dumps(missing).encode()).skipped
    assert (skipped.rp_id, skipped.user_name) == ("other.example", "olly")
    assert "private key is missing" in skipped.reason


def test_unusable_keys_are_skipped_while_the_rest_imports(va: VirtualAuthenticator) -> None:
    good = Passkey(rp_id="good.example", user_name="gina")
    other_curve = Passkey(
        rp_id="k1.example", user_name="kim", key=ec.generate_private_key(ec.SECP256K1())
    )
    broken = {**keepassxc_attributes(Passkey(rp_id="broken.example", user_name="bo"))}
    broken[KPEX["private_key"]] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    data = kdbx(
        [keepassxc_attributes(good), keepassxc_attributes(other_curve), broken],
        FILE_PASSPHRASE,
    )
    report = va.import_credentials(data, passphrase=FILE_PASSPHRASE)
    assert len(report.imported) == 1
    reasons = {(s.rp_id, s.user_name): s.reason for s in report.skipped}
    assert "unsupported key type" in reasons[("k1.example", "kim")]
    assert "not a PKCS#8 key" in reasons[("broken.example", "bo")]
    signs_in(va, good)


def test_wrong_passphrase_damaged_and_truncated_databases_change_nothing(
    va: VirtualAuthenticator,
) -> None:
    data = kdbx([keepassxc_attributes(Passkey())], FILE_PASSPHRASE)
    with pytest.raises(ExportDecryptionError, match="wrong passphrase for this KeePass"):
        va.import_credentials(data, passphrase="not " + FILE_PASSPHRASE)
    with pytest.raises(ExchangeError, match="give its passphrase"):
        va.import_credentials(data)
    for broken in (data[:12], data[:200], data[: len(data) // 2], data[:-40]):
        with pytest.raises(ExchangeError, match="damaged or truncated") as refused:
            va.import_credentials(broken, passphrase=FILE_PASSPHRASE)
        assert not isinstance(refused.value, ExportDecryptionError)
    flipped = bytearray(data)
    flipped[len(data) - 100] ^= 0x01  # inside the encrypted payload: its HMAC block fails
    with pytest.raises(ExchangeError, match="damaged or truncated"):
        va.import_credentials(bytes(flipped), passphrase=FILE_PASSPHRASE)
    assert va.get_credentials() == []


def test_a_header_asking_for_an_exhausting_key_derivation_is_refused(
    va: VirtualAuthenticator,
) -> None:
    from pykeepass.kdbx_parsing import KDBX

    data = kdbx([keepassxc_attributes(Passkey())], FILE_PASSPHRASE)
    parsed = KDBX.parse_stream(
        io.BytesIO(data), password=None, keyfile=None, transformed_key=None, decrypt=False
    )
    memory = parsed.header.value.dynamic_header.kdf_parameters.data.dict["M"].value
    # KDBX 4's VariantDictionary: key length, "M", value length 8, the value (little-endian)
    entry = b"\x01\x00\x00\x00M\x08\x00\x00\x00"
    start = data.index(entry + memory.to_bytes(8, "little")) + len(entry)
    header = (
        data[:start] + (64 << 30).to_bytes(8, "little") + data[start + 8 : len(parsed.header.data)]
    )
    # an attacker recomputes the header's SHA-256 (not a secret); its HMAC needs the key
    bomb = header + hashlib.sha256(header).digest() + data[len(header) + 32 :]
    with pytest.raises(ExchangeError, match="far costlier"):
        va.import_credentials(bomb, passphrase=FILE_PASSPHRASE)


# -- vauth -> KDBX -> vauth -----------------------------------------------------------------


def test_vauth_to_kdbx_to_vauth_in_keepassxc_s_layout(
    va: VirtualAuthenticator, tmp_path: Path
) -> None:
    from pykeepass import PyKeePass

    alice = registered(va, "alice")
    eddie = registered(va, "eddie", alg=-8, rp="ed.example")
    sign_count(va, alice)
    hidden = va.create(
        {
            "rp": {"id": "hidden.example", "name": "Hidden"},
            "user": {"id": b64url(b"hal"), "name": "hal", "displayName": "Hal"},
            "challenge": b64url(b"c" * 32),
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            "authenticatorSelection": {"residentKey": "discouraged"},
        },
        "https://hidden.example",
    )
    said = notice(va, "keepassxc")
    assert said["count"] == 2
    assert "signature counters" in said["notice"] and "hidden.example (hal)" in said["notice"]

    data = keepassxc.write(
        [stored(va, alice), stored(va, eddie), stored(va, hidden["id"])],
        FILE_PASSPHRASE,
        argon2=CHEAP,
    )
    database = PyKeePass(io.BytesIO(data), password=FILE_PASSPHRASE)
    assert database.version == (4, 0)
    entries = {e.custom_properties[KPEX["relying_party"]]: e for e in database.entries}
    assert set(entries) == {"example.com", "ed.example"}  # hal's stays behind
    entry = entries["example.com"]
    assert (entry.title, entry.username, entry.url) == (
        "Example Site (Passkey)",
        "alice",
        "https://example.com",
    )
    assert "Passkey" in entry.tags
    fields = entry.custom_properties
    assert fields[KPEX["username"]] == "alice"
    assert fields[KPEX["credential_id"]] == alice  # base64url without padding
    assert fields[KPEX["user_handle"]] == b64url(b"alice")
    assert fields[KPEX["private_key"]].startswith("-----BEGIN PRIVATE KEY-----")
    for name in ("credential_id", "private_key", "user_handle"):
        assert entry.is_custom_property_protected(KPEX[name]), name
    for name in ("username", "relying_party"):
        assert not entry.is_custom_property_protected(KPEX[name]), name

    path = tmp_path / "second.db"
    Vault.open(path, PASSPHRASE, kdf=fast_kdf()).close()
    with VirtualAuthenticator(vault=path, passphrase=PASSPHRASE) as second:
        assert len(second.import_credentials(data, passphrase=FILE_PASSPHRASE).imported) == 2
        for credential_id in (alice, eddie):
            before, after = stored(va, credential_id), stored(second, credential_id)
            for name in ("rp_id", "user_handle", "user_name", "backup_eligible", "backup_state"):
                assert getattr(after, name) == getattr(before, name), name
            assert after.key.to_raw() == before.key.to_raw()
            assert after.created // 1000 == before.created // 1000  # KDBX keeps seconds
        assert sign_count(second, eddie, rp="ed.example") == 0  # "one at 0 may stay at 0"
        assert base64url.decode(alice)
