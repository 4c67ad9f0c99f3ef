"""vauth to vauth loses nothing (issue 11, item 3): an export imported into a fresh vault gives
back every field of every credential, flags and counters included; what a format cannot carry
is said in a sentence before the export; skipped entries are named by site and account."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2

from tests.vault.conftest import PASSPHRASE, fast_kdf
from vauth import VirtualAuthenticator, base64url
from vauth.app.operations import Passkeys
from vauth.app.service import Prompts, Service
from vauth.ctap import large_blob_array
from vauth.ctap.credential import Credential
from vauth.testing.doubles import VauthCtapDevice
from vauth.vault import Vault
from vauth.vault.cxf import NON_DISCOVERABLE, VENDOR

RP_ID, ORIGIN = "example.com", "https://example.com"
EXPORT_PASSPHRASE = "export passphrase"
BLOB = b"a large blob " * 10


def b64(data: bytes) -> str:
    return base64url.encode(data)


def creation(user: bytes, resident_key: str = "required", **extensions: Any) -> dict[str, Any]:
    return {
        "rp": {"id": RP_ID, "name": "Example Inc."},
        "user": {"id": b64(user), "name": user.decode(), "displayName": user.decode().title()},
        "challenge": b64(os.urandom(32)),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": resident_key, "userVerification": "required"},
        "extensions": extensions,
    }


def get(credential_id: str, **extensions: Any) -> dict[str, Any]:
    return {
        "challenge": b64(os.urandom(32)),
        "rpId": RP_ID,
        "allowCredentials": [{"type": "public-key", "id": credential_id}],
        "userVerification": "required",
        "extensions": extensions,
    }


def new_vault(path: Path) -> VirtualAuthenticator:
    Vault.open(path, PASSPHRASE, kdf=fast_kdf()).close()
    return VirtualAuthenticator(vault=path, passphrase=PASSPHRASE)


def credentials(va: VirtualAuthenticator) -> dict[bytes, Credential]:
    found = asyncio.run(va.device.store.all())
    return {c.credential_id: c for c in found}


def blob_of(va: VirtualAuthenticator, credential: Credential) -> bytes | None:
    array = asyncio.run(large_blob_array.load(va.device.store))
    if credential.large_blob_key is None:
        return None
    return large_blob_array.find(credential.large_blob_key, large_blob_array.deserialize(array))


@pytest.fixture
def source(tmp_path: Path) -> Iterator[VirtualAuthenticator]:
    """A vault holding every kind of credential vauth keeps, with every field set."""
    va = new_vault(tmp_path / "source.db")
    full = va.create(
        creation(
            b"alice",
            prf={"eval": {"first": b64(b"salt")}},
            credBlob=b64(b"cred blob"),
            largeBlob={"support": "required"},
            credentialProtectionPolicy="userVerificationRequired",
            enforceCredentialProtectionPolicy=True,
        ),
        ORIGIN,
    )
    va.get(get(full["id"], largeBlob={"write": b64(BLOB)}), ORIGIN)
    va.set_credential_properties(full["id"], backup_eligibility=True, backup_state=False)
    store = va.device.store
    alice = asyncio.run(store.get(base64url.decode(full["id"])))
    alice.nickname = "work laptop"
    asyncio.run(store.update(alice))
    sealed = va.create(creation(b"bob", "discouraged", prf={}), ORIGIN)
    va.get(get(sealed["id"]), ORIGIN)  # a last use for it too
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    va.add_credential(
        {
            "credentialId": b64(b"webdriver credential"),
            "isResidentCredential": False,
            "rpId": RP_ID,
            "privateKey": b64(key),
            "signCount": 41,
            "largeBlob": b64(b"webdriver blob"),
        }
    )
    trashed = va.create(creation(b"carol"), ORIGIN)
    asyncio.run(store.delete(base64url.decode(trashed["id"])))
    yield va
    va.close()


# Fields that may differ after the journey, and why: the key of a credential sealed in its ID
# travels whole (the new vault cannot open the old one's IDs), so there it is stored, with
# its own counter starting where the old vault's authenticator-wide counter stood.
MOVES_INTO_THE_VAULT = {"sealed", "private_key", "cred_random_with_uv", "cred_random_without_uv"}


def test_vauth_to_vauth_keeps_every_field(source: VirtualAuthenticator, tmp_path: Path) -> None:
    before = credentials(source)
    assert len(before) == 3  # the one in the trash is not among them
    exported = source.export_credentials("cxf", passphrase=EXPORT_PASSPHRASE, kdf=fast_kdf())
    target = new_vault(tmp_path / "target.db")
    try:
        report = target.import_credentials(exported, passphrase=EXPORT_PASSPHRASE)
        assert report.skipped == [] and report.warnings == []
        after = credentials(target)
        assert set(after) == set(before)
        for credential_id, old in before.items():
            new = after[credential_id]
            for field in dataclasses.fields(Credential):
                name = field.name
                if name.startswith("_") or not field.compare:
                    continue
                if old.sealed and name in MOVES_INTO_THE_VAULT | {"sign_count"}:
                    continue
                assert getattr(new, name) == getattr(old, name), (old, name)
            assert new.key.to_raw() == _key(source, old).to_raw()
            assert blob_of(target, new) == blob_of(source, old)
        sealed = next(c for c in before.values() if c.sealed)
        moved = after[sealed.credential_id]
        assert not moved.sealed and moved.private_key and moved.cred_random_with_uv
        assert moved.sign_count > 0
        # Each one is there in the new vault, as python-fido2 sees it; the one made with
        # credProtect userVerificationRequired stays hidden from a request without UV
        # (CTAP 2.1 section 12.1): its protection travelled too.
        ctap = Ctap2(VauthCtapDevice(target))
        for credential_id, credential in after.items():
            allow = [{"type": "public-key", "id": credential_id}]
            probe = hashlib.sha256(b"x").digest()
            if credential.cred_protect == 3:
                with pytest.raises(CtapError) as hidden:
                    ctap.get_assertion(RP_ID, probe, allow_list=allow, options={"up": False})
                assert hidden.value.code == CtapError.ERR.NO_CREDENTIALS
                continue
            assertion = ctap.get_assertion(RP_ID, probe, allow_list=allow, options={"up": False})
            assert assertion.credential["id"] == credential_id
        # PRF (hmac-secret) outputs are the same on both sides, sealed credential included
        for credential_id in before:
            if before[credential_id].cred_random_with_uv or before[credential_id].sealed:
                request = get(b64(credential_id), prf={"eval": {"first": b64(b"s")}})
                ours = source.get(request, ORIGIN)["clientExtensionResults"]["prf"]
                theirs = target.get(request, ORIGIN)["clientExtensionResults"]["prf"]
                assert ours == theirs
    finally:
        target.close()


def _key(va: VirtualAuthenticator, credential: Credential) -> Any:
    if not credential.sealed:
        return credential.key
    wrapped = asyncio.run(va.authenticator.wrapper()).unwrap(
        credential.rp_id_hash, credential.credential_id
    )
    return wrapped.key


def test_cxf_carries_the_standard_fields_and_vauth_keeps_its_own_apart(
    source: VirtualAuthenticator,
) -> None:
    document = json.loads(source.export_credentials("cxf", plaintext=True))
    [account] = document["accounts"]
    [item] = account["items"]  # the one discoverable passkey (the trashed one stays behind)
    [passkey] = item["credentials"]
    assert passkey["username"] == "alice" and passkey["userHandle"] == b64(b"alice")
    assert set(passkey["fido2Extensions"]) == {"hmacCredentials", "credBlob", "largeBlob"}
    [vendor] = item["extensions"]
    assert vendor["name"] == VENDOR and vendor["nickname"] == "work laptop"
    assert vendor["backupEligible"] is True and vendor["backupState"] is False
    assert vendor["credProtect"] == 3 and vendor["signCount"] > 0
    [hidden] = account["extensions"]
    assert hidden["name"] == NON_DISCOVERABLE and len(hidden["items"]) == 2


def test_what_cannot_travel_is_said_before_the_export(source: VirtualAuthenticator) -> None:
    vault = Passkeys(Service(source.device, Prompts()))
    webdriver = asyncio.run(vault.export_notice("webdriver"))
    assert webdriver["count"] == 3
    notice = webdriver["notice"]
    assert "1 passkey in the trash is not exported." in notice
    for lost in (
        "the nicknames of 1 passkey",
        "when passkeys were created and last used",
        "the extra protection of 1 passkey",
        "the secrets that sites may use to encrypt your data (PRF) of 2 passkeys",
        "the small data sites stored of 1 passkey",
    ):
        assert lost in notice, (lost, notice)
    cxf = asyncio.run(vault.export_notice("cxf"))["notice"]
    assert "Another vauth gets everything." in cxf
    assert "nicknames" in cxf and "the 2 passkeys that sites must name" in cxf


def test_skipped_entries_are_named_by_site_and_account(
    source: VirtualAuthenticator, tmp_path: Path
) -> None:
    document = json.loads(source.export_credentials("cxf", plaintext=True))
    [item] = document["accounts"][0]["items"]
    item["credentials"][0]["key"] = b64(b"not a key")
    target = new_vault(tmp_path / "target.db")
    try:
        vault = Passkeys(Service(target.device, Prompts()))
        report = asyncio.run(vault.import_(json.dumps(document).encode(), via="options"))
    except Exception:
        target.close()
        raise
    target.close()
    [skipped] = report["skipped"]
    assert skipped["rpId"] == RP_ID and skipped["userName"] == "alice"
    assert skipped["sentence"] == "example.com (alice): key is not a PKCS#8 private key"
