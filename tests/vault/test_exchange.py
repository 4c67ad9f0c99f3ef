"""Export and import: CXF and WebDriver formats, the encrypted container, all-or-nothing imports."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from tests.vault.conftest import PASSPHRASE, fast_kdf
from vauth import VaultError, VirtualAuthenticator, base64url
from vauth.ctap import large_blob_array
from vauth.ctap.auth_data import AuthenticatorData, Flags
from vauth.vault import Vault, exchange
from vauth.vault.errors import ExchangeError, ExportDecryptionError
from vauth.vault.exchange import (
    ALREADY_PRESENT,
    CONFLICT,
    CONFLICT_IN_FILE,
    DUPLICATE,
    ImportReport,
    export_credentials,
    import_credentials,
)

RP_ID = "example.com"
ORIGIN = "https://login.example.com"
EXPORT_PASSPHRASE = "export passphrase"
BLOB = b"a large blob, " * 20
CRED_BLOB = b"cred blob: 32 bytes at most"


def b64(data: bytes) -> str:
    return base64url.encode(data)


def creation(user_id: bytes, **extensions: Any) -> dict[str, Any]:
    return {
        "rp": {"id": RP_ID, "name": "Example"},
        "user": {"id": b64(user_id), "name": user_id.decode(), "displayName": "Alice"},
        "challenge": b64(os.urandom(32)),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required"},
        "extensions": extensions,
    }


def request(credential_id: str, **extensions: Any) -> dict[str, Any]:
    return {
        "challenge": b64(os.urandom(32)),
        "rpId": RP_ID,
        "allowCredentials": [{"type": "public-key", "id": credential_id}],
        "extensions": extensions,
    }


def outputs(response: dict[str, Any]) -> dict[str, Any]:
    results = response["clientExtensionResults"]
    assert isinstance(results, dict)
    return results


def prf(va: VirtualAuthenticator, credential_id: str, salt: bytes = b"x") -> str:
    response = va.get(request(credential_id, prf={"eval": {"first": b64(salt)}}), ORIGIN)
    first = outputs(response)["prf"]["results"]["first"]
    assert len(base64url.decode(first)) == 32
    return str(first)


def read_large_blob(va: VirtualAuthenticator, credential_id: str) -> bytes | None:
    output = outputs(va.get(request(credential_id, largeBlob={"read": True}), ORIGIN))["largeBlob"]
    return base64url.decode(output["blob"]) if "blob" in output else None


def cred_blob(va: VirtualAuthenticator, credential_id: str) -> bytes:
    got = outputs(va.get(request(credential_id, getCredBlob=True), ORIGIN))["getCredBlob"]
    return base64url.decode(got)


def verify_assertion(va: VirtualAuthenticator, credential_id: str, spki: bytes) -> Flags:
    """Sign in with ``va`` and check the signature under the registration's public key."""
    response = va.get(request(credential_id), ORIGIN)["response"]
    auth_data = base64url.decode(response["authenticatorData"])
    client_data = base64url.decode(response["clientDataJSON"])
    public_key = serialization.load_der_public_key(spki)
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(  # raises InvalidSignature
        base64url.decode(response["signature"]),
        auth_data + hashlib.sha256(client_data).digest(),
        ec.ECDSA(hashes.SHA256()),
    )
    parsed = AuthenticatorData(auth_data)
    assert parsed.rp_id_hash == hashlib.sha256(RP_ID.encode()).digest()
    return Flags(parsed.flags)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class Source:
    """A vault with two passkeys (one with PRF, credBlob and a large blob) and a WebDriver
    non-resident credential, plus what they gave before any export."""

    def __init__(self, path: Path) -> None:
        self.va = VirtualAuthenticator(vault=path, passphrase=PASSPHRASE)
        alice = self.va.create(
            creation(
                b"alice",
                prf={"eval": {"first": b64(b"x")}},
                credBlob=b64(CRED_BLOB),
                largeBlob={"support": "required"},
            ),
            ORIGIN,
        )
        bob = self.va.create(creation(b"bob", prf={}), ORIGIN)
        self.alice, self.bob = alice["id"], bob["id"]
        self.spki = {
            self.alice: base64url.decode(alice["response"]["publicKey"]),
            self.bob: base64url.decode(bob["response"]["publicKey"]),
        }
        self.prf_at_creation = outputs(alice)["prf"]["results"]["first"]
        written = self.va.get(request(self.alice, largeBlob={"write": b64(BLOB)}), ORIGIN)
        assert outputs(written)["largeBlob"] == {"written": True}
        key = ec.generate_private_key(ec.SECP256R1())
        self.non_resident = b64(b"non-resident credential")
        self.va.add_credential(
            {
                "credentialId": self.non_resident,
                "isResidentCredential": False,
                "rpId": RP_ID,
                "privateKey": b64(pkcs8(key)),
                "signCount": 7,
                "largeBlob": b64(b"webdriver blob"),
            }
        )
        self.prf = {c: prf(self.va, c) for c in (self.alice, self.bob)}
        self.everything = [self.alice, self.bob, self.non_resident]

    def export(self, fmt: str = "cxf") -> bytes:
        return self.va.export_credentials(fmt, passphrase=EXPORT_PASSPHRASE, kdf=fast_kdf())

    def plaintext(self, fmt: str = "cxf") -> Any:
        return json.loads(self.va.export_credentials(fmt, plaintext=True))


def pkcs8(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture
def source(vault_path: Path) -> Iterator[Source]:
    made = Source(vault_path)
    yield made
    made.va.close()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[VirtualAuthenticator]:
    """A fresh, empty vault behind an authenticator."""
    path = tmp_path / "target.db"
    Vault.open(path, PASSPHRASE, kdf=fast_kdf()).close()
    va = VirtualAuthenticator(vault=path, passphrase=PASSPHRASE)
    yield va
    va.close()


def stored_ids(va: VirtualAuthenticator) -> set[str]:
    return {c["credentialId"] for c in va.get_credentials()}


def private_parameters(va: VirtualAuthenticator) -> list[dict[str, object]]:
    """Credential Parameters with private keys, read from the store behind the API."""
    from vauth.testing.virtual import credential_parameters

    return [credential_parameters(c) for c in asyncio.run(va.device.store.all())]


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("into", ["vault", "memory"])
def test_cxf_round_trip_keeps_keys_prf_cred_blob_and_large_blob(
    source: Source, target: VirtualAuthenticator, into: str
) -> None:
    exported = source.export()
    assert json.loads(exported)["format"] == "vauth-export"
    private_keys = [c["privateKey"] for c in private_parameters(source.va)]
    assert all(key not in exported.decode() for key in private_keys)
    assert b"alice" not in exported and RP_ID.encode() not in exported

    va = target if into == "vault" else VirtualAuthenticator()
    report = va.import_credentials(exported, passphrase=EXPORT_PASSPHRASE)

    # The non-resident WebDriver credential travels too, in vauth's own part of the file.
    assert sorted(report.imported) == sorted(source.everything)
    assert report.skipped == [] and report.warnings == []
    assert stored_ids(va) == set(source.everything)
    for credential_id in (source.alice, source.bob):
        flags = verify_assertion(va, credential_id, source.spki[credential_id])
        assert Flags.BE not in flags and Flags.BS not in flags  # as they were: not backed up
        assert prf(va, credential_id) == source.prf[credential_id]
    assert prf(va, source.alice) == source.prf_at_creation
    assert prf(va, source.alice, b"y") == prf(source.va, source.alice, b"y")
    assert cred_blob(va, source.alice) == CRED_BLOB
    assert read_large_blob(va, source.alice) == BLOB
    assert read_large_blob(va, source.bob) is None
    imported = {c["credentialId"]: c for c in va.get_credentials()}
    assert imported[source.alice]["signCount"] > 0  # its counter goes on, never back
    assert imported[source.alice]["userName"] == "alice"
    assert imported[source.alice]["userDisplayName"] == "Alice"
    assert imported[source.alice]["userHandle"] == b64(b"alice")
    if into == "memory":
        va.close()


def test_passkeys_from_another_provider_count_at_zero(
    source: Source, target: VirtualAuthenticator
) -> None:
    """Without vauth's extension (another provider's CXF), passkeys are synced ones: backed
    up, counting at zero (CXF 1.0 expects counters exported and kept at zero)."""
    document = source.plaintext()
    for item in document["accounts"][0]["items"]:
        del item["extensions"]
    target.import_credentials(json.dumps(document).encode(), passphrase=None)
    for _ in range(3):
        response = target.get(request(source.alice), ORIGIN)["response"]
        auth_data = AuthenticatorData(base64url.decode(response["authenticatorData"]))
        assert auth_data.sign_count == 0
        assert Flags.BE in Flags(auth_data.flags) and Flags.BS in Flags(auth_data.flags)


def test_cxf_document_shape(source: Source) -> None:
    document = source.plaintext()
    assert document["version"] == {"major": 1, "minor": 0}
    assert document["exporterDisplayName"] == "vauth"
    assert isinstance(document["exporterRpId"], str) and isinstance(document["timestamp"], int)
    [account] = document["accounts"]
    items = {item["credentials"][0]["credentialId"]: item for item in account["items"]}
    assert set(items) == {source.alice, source.bob}
    item = items[source.alice]
    assert item["title"] == "Example"
    assert item["creationAt"] <= item["modifiedAt"] <= document["timestamp"]
    [passkey] = item["credentials"]
    assert passkey["type"] == "passkey"
    assert passkey["rpId"] == RP_ID
    assert passkey["username"] == "alice" and passkey["userDisplayName"] == "Alice"
    assert passkey["userHandle"] == b64(b"alice")
    keys = {c["credentialId"]: c["privateKey"] for c in private_parameters(source.va)}
    assert passkey["key"] == keys[source.alice]
    extensions = passkey["fido2Extensions"]
    assert extensions["hmacCredentials"]["algorithm"] == "hmac-sha256"
    assert len(base64url.decode(extensions["hmacCredentials"]["credWithUV"])) == 32
    assert len(base64url.decode(extensions["hmacCredentials"]["credWithoutUV"])) == 32
    assert base64url.decode(extensions["credBlob"]) == CRED_BLOB
    assert extensions["largeBlob"]["uncompressedSize"] == len(BLOB)
    compressed = base64url.decode(extensions["largeBlob"]["data"])
    assert len(compressed) < len(BLOB)  # deflated
    assert "largeBlob" not in items[source.bob]["credentials"][0]["fido2Extensions"]


def test_webdriver_round_trip_equals_the_credentials(source: Source) -> None:
    expected = private_parameters(source.va)
    assert len(expected) == 3
    # A vault shows no private key; only an explicit export carries them.
    assert all("privateKey" not in c for c in source.va.get_credentials())
    assert source.plaintext("webdriver") == expected
    va = VirtualAuthenticator()  # in memory: a tester's authenticator shows its keys
    report = va.import_credentials(source.export("webdriver"), passphrase=EXPORT_PASSPHRASE)
    assert sorted(report.imported) == sorted(c["credentialId"] for c in expected)
    assert va.get_credentials() == expected
    verify_assertion(va, source.bob, source.spki[source.bob])


def test_async_api_on_a_vault_store(source: Source, tmp_path: Path) -> None:
    exported = source.export()
    path = tmp_path / "direct.db"
    vault = Vault.open(path, PASSPHRASE, kdf=fast_kdf())
    try:
        calls: list[tuple[int, int]] = []
        report = run(
            import_credentials(
                vault.store, exported, passphrase=EXPORT_PASSPHRASE, progress=_append(calls)
            )
        )
        assert len(report.imported) == 3
        assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
        again = run(export_credentials(vault.store, "webdriver", passphrase=None, plaintext=True))
        assert {c["credentialId"] for c in json.loads(again)} == set(source.everything)
    finally:
        vault.close()


def _append(calls: list[tuple[int, int]]) -> Any:
    return lambda done, total: calls.append((done, total))


# -- idempotence, duplicates, conflicts -----------------------------------------------------------


def test_importing_twice_imports_nothing_the_second_time(
    source: Source, target: VirtualAuthenticator
) -> None:
    exported = source.export()
    first = target.import_credentials(exported, passphrase=EXPORT_PASSPHRASE)
    assert len(first.imported) == 3
    blob_array = run_setting(target)
    second = target.import_credentials(exported, passphrase=EXPORT_PASSPHRASE)
    assert second.imported == []
    assert {(s.credential_id, s.reason) for s in second.skipped} == {
        (credential_id, ALREADY_PRESENT) for credential_id in source.everything
    }
    assert len(target.get_credentials()) == 3
    assert run_setting(target) == blob_array  # no second copy of the large blob
    assert read_large_blob(target, source.alice) == BLOB


def run_setting(va: VirtualAuthenticator) -> bytes | None:
    return asyncio.run(va.device.store.get_setting(large_blob_array.SETTING))


def test_duplicates_and_conflicts_inside_one_file(
    source: Source, target: VirtualAuthenticator
) -> None:
    document = source.plaintext()
    items = document["accounts"][0]["items"]
    twin = copy.deepcopy(items[0])
    impostor = copy.deepcopy(items[0])
    impostor["credentials"][0]["key"] = b64(pkcs8(ec.generate_private_key(ec.SECP256R1())))
    items.extend([twin, impostor])
    first_id = items[0]["credentials"][0]["credentialId"]
    report = target.import_credentials(json.dumps(document).encode(), passphrase=None)
    assert sorted(report.imported) == sorted(source.everything)
    assert [(s.index, s.credential_id, s.reason) for s in report.skipped] == [
        (2, first_id, DUPLICATE),
        (3, first_id, CONFLICT_IN_FILE),
    ]
    assert len(target.get_credentials()) == 3


def test_a_different_key_under_a_stored_id_is_a_conflict(source: Source) -> None:
    params = source.plaintext("webdriver")
    forged = [dict(p) for p in params]
    for p in forged:
        p["privateKey"] = b64(pkcs8(ec.generate_private_key(ec.SECP256R1())))
    before = source.va.get_credentials()
    report = source.va.import_credentials(json.dumps(forged).encode(), passphrase=None)
    assert report.imported == []
    assert {s.reason for s in report.skipped} == {CONFLICT}
    assert source.va.get_credentials() == before


# -- the container ----------------------------------------------------------------------------


def test_wrong_passphrase_imports_nothing(source: Source, target: VirtualAuthenticator) -> None:
    with pytest.raises(ExportDecryptionError) as error:
        target.import_credentials(source.export(), passphrase="not the passphrase")
    assert isinstance(error.value, VaultError)
    assert "wrong passphrase" in str(error.value) and "nothing was imported" in str(error.value)
    assert target.get_credentials() == []


def test_encrypted_export_needs_a_passphrase_to_import(
    source: Source, target: VirtualAuthenticator
) -> None:
    with pytest.raises(ExchangeError, match="encrypted: give its passphrase"):
        target.import_credentials(source.export(), passphrase=None)


def _flip(text: str) -> str:
    return ("B" if text[0] == "A" else "A") + text[1:]


TAMPERINGS = {
    "ciphertext": lambda c: c.update(ciphertext=_flip(c["ciphertext"])),
    "ciphertext end": lambda c: c.update(ciphertext=c["ciphertext"][:-4] + "AAAA"),
    "nonce": lambda c: c.update(nonce=_flip(c["nonce"])),
    "content": lambda c: c.update(content="webdriver"),
    "kdf salt": lambda c: c["kdf"].update(salt="00" * 16),
    "kdf opslimit": lambda c: c["kdf"].update(opslimit=c["kdf"]["opslimit"] + 1),
    "truncated ciphertext": lambda c: c.update(ciphertext=c["ciphertext"][:40]),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_tampered_export_fails_to_decrypt(
    source: Source, target: VirtualAuthenticator, tampering: str
) -> None:
    container = json.loads(source.export())
    TAMPERINGS[tampering](container)
    with pytest.raises(ExportDecryptionError):
        target.import_credentials(json.dumps(container).encode(), passphrase=EXPORT_PASSPHRASE)
    assert target.get_credentials() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "newer vauth"),
        ({"version": "1"}, "version is missing or damaged"),
        ({"content": "passwords"}, "unknown content"),
        ({"kdf": {"algorithm": "scrypt"}}, "header is damaged"),
        ({"nonce": "not base64url!"}, "header is damaged"),
        ({"kdf": "x"}, "header is damaged"),
    ],
)
def test_damaged_header_is_refused(
    source: Source, target: VirtualAuthenticator, change: dict[str, Any], message: str
) -> None:
    container = {**json.loads(source.export()), **change}
    with pytest.raises(ExchangeError, match=message):
        target.import_credentials(json.dumps(container).encode(), passphrase=EXPORT_PASSPHRASE)
    assert target.get_credentials() == []


def test_memory_bomb_kdf_is_refused(source: Source, target: VirtualAuthenticator) -> None:
    container = json.loads(source.export())
    container["kdf"]["memlimit"] = 1 << 40
    with pytest.raises(ExchangeError, match="key-derivation costs"):
        target.import_credentials(json.dumps(container).encode(), passphrase=EXPORT_PASSPHRASE)


@pytest.mark.parametrize("keep", [0, 1, 10, 100, -1])
def test_truncated_file_is_refused(source: Source, target: VirtualAuthenticator, keep: int) -> None:
    exported = source.export()
    with pytest.raises(ExchangeError, match="not JSON: truncated"):
        target.import_credentials(exported[:keep], passphrase=EXPORT_PASSPHRASE)
    assert target.get_credentials() == []


def test_huge_file_is_refused(target: VirtualAuthenticator) -> None:
    huge = b" " * (exchange.MAX_FILE_SIZE + 1)
    with pytest.raises(ExchangeError, match="over the 67108864-byte limit"):
        target.import_credentials(huge, passphrase=EXPORT_PASSPHRASE)


def test_too_many_entries_are_refused(target: VirtualAuthenticator) -> None:
    entries = b"[" + b"0," * exchange.MAX_ENTRIES + b"0]"
    with pytest.raises(ExchangeError, match="1000001 entries, over the limit of 1000000"):
        target.import_credentials(entries, passphrase=None)
    assert target.get_credentials() == []


def test_not_an_export_is_refused(target: VirtualAuthenticator) -> None:
    with pytest.raises(ExchangeError, match="not one vauth can import"):
        target.import_credentials(b'{"hello": "world"}', passphrase=None)
    with pytest.raises(ExchangeError, match="CXF version 2"):
        target.import_credentials(
            b'{"version": {"major": 2, "minor": 0}, "accounts": []}', passphrase=None
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"passphrase": None}, "an export is encrypted: give a passphrase"),
        ({"passphrase": ""}, "an export is encrypted: give a passphrase"),
        ({"passphrase": "p", "plaintext": True}, "not both"),
    ],
)
def test_export_is_encrypted_unless_asked_otherwise(
    source: Source, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExchangeError, match=message):
        source.va.export_credentials("cxf", **kwargs)
    with pytest.raises(ExchangeError, match="unknown export format"):
        source.va.export_credentials("csv", passphrase="p")


# -- entries that cannot be imported --------------------------------------------------------------


def valid_params(name: bytes, **changes: Any) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    params = {
        "credentialId": b64(hashlib.sha256(name).digest()),
        "isResidentCredential": True,
        "rpId": RP_ID,
        "privateKey": b64(pkcs8(key)),
        "userHandle": b64(name),
        "signCount": 0,
        "userName": name.decode(),
    }
    params.update(changes)
    return params


MALFORMED: dict[str, tuple[Any, str]] = {
    "not an object": (42, "not a Credential Parameters object"),
    "no key": ({k: v for k, v in valid_params(b"m1").items() if k != "privateKey"}, "missing"),
    "key not base64url": (valid_params(b"m2", privateKey="***"), "not valid base64url"),
    "key not PKCS#8": (valid_params(b"m3", privateKey=b64(b"garbage")), "not a PKCS#8"),
    "X25519 key": (
        valid_params(b"m4", privateKey=b64(pkcs8(x25519.X25519PrivateKey.generate()))),
        "unsupported key type",
    ),
    "user handle of 65 bytes": (
        valid_params(b"m5", userHandle=b64(bytes(65))),
        "userHandle must be 1 to 64 bytes, not 65",
    ),
    "resident without user handle": (
        valid_params(b"m6", userHandle=None),
        "userHandle is required",
    ),
    "negative signCount": (valid_params(b"m7", signCount=-1), "signCount"),
    "resident not boolean": (valid_params(b"m8", isResidentCredential="yes"), "boolean"),
    "empty credential ID": (valid_params(b"m9", credentialId=""), "credentialId must be 1"),
    "userName not text": (valid_params(b"m10", userName=5), "userName is not a string"),
}


def test_malformed_entries_are_skipped_and_valid_ones_imported(
    target: VirtualAuthenticator,
) -> None:
    good = [valid_params(b"good-1"), valid_params(b"good-2")]
    names = sorted(MALFORMED)
    entries = [good[0], *(MALFORMED[name][0] for name in names), good[1]]
    report = target.import_credentials(json.dumps(entries).encode(), passphrase=None)
    assert report.imported == [good[0]["credentialId"], good[1]["credentialId"]]
    assert [s.index for s in report.skipped] == list(range(1, len(names) + 1))
    for name, skipped in zip(names, report.skipped, strict=True):
        assert MALFORMED[name][1] in skipped.reason, (name, skipped.reason)
    assert stored_ids(target) == {good[0]["credentialId"], good[1]["credentialId"]}


@pytest.mark.parametrize(
    ("rp_id", "reason"),
    [
        ("https://example.com", "not a valid domain"),
        ("example.com/path", "not a valid domain"),
        ("exa mple.com", "not a valid domain"),
        ("-bad.example", "not a valid domain"),
        ("example.com.", "not a valid domain"),
        ("a" * 64 + ".example", "not a valid domain"),
        ("xn--zz.example", "not a valid domain"),
        ("", "rpId is missing"),
        (5, "rpId is missing"),
        ("127.0.0.1", "IP address"),
        ("[::1]", "not a valid domain"),
        ("co.uk", "public suffix"),
        ("com", "public suffix"),
    ],
)
def test_invalid_rp_ids_are_skipped(
    target: VirtualAuthenticator, rp_id: object, reason: str
) -> None:
    entries = [valid_params(b"ok"), valid_params(b"bad", rpId=rp_id)]
    report = target.import_credentials(json.dumps(entries).encode(), passphrase=None)
    assert report.imported == [entries[0]["credentialId"]]
    [skipped] = report.skipped
    assert skipped.index == 1 and skipped.credential_id == entries[1]["credentialId"]
    assert reason in skipped.reason


@pytest.mark.parametrize(
    ("rp_id", "stored"),
    [
        ("bücher.example", "xn--bcher-kva.example"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("Login.Example.COM", "login.example.com"),
        ("localhost", "localhost"),
    ],
)
def test_foreign_rp_ids_are_stored_as_clients_hash_them(
    target: VirtualAuthenticator, rp_id: str, stored: str
) -> None:
    entry = valid_params(b"idn", rpId=rp_id)
    report = target.import_credentials(json.dumps([entry]).encode(), passphrase=None)
    assert report.imported == [entry["credentialId"]]
    [credential] = target.get_credentials()
    assert credential["rpId"] == stored
    found = asyncio.run(target.device.store.find(hashlib.sha256(stored.encode()).digest()))
    assert [c.credential_id for c in found] == [base64url.decode(entry["credentialId"])]


def test_malformed_cxf_passkeys_are_skipped(source: Source, target: VirtualAuthenticator) -> None:
    document = source.plaintext()
    items = document["accounts"][0]["items"]
    template = next(i for i in items if i["credentials"][0]["credentialId"] == source.alice)

    def variant(change: Any) -> Any:
        item = copy.deepcopy(template)
        credential = item["credentials"][0]
        credential["credentialId"] = b64(os.urandom(16))
        change(item, credential, credential["fido2Extensions"])
        return item

    cases = [
        (lambda i, c, e: c.update(type="basic-auth"), "not a passkey"),
        (lambda i, c, e: e["hmacCredentials"].update(algorithm="hmac-md5"), "algorithm"),
        (lambda i, c, e: e["hmacCredentials"].update(credWithUV=b64(bytes(16))), "32 bytes"),
        (lambda i, c, e: e.update(credBlob=b64(bytes(33))), "credBlob is longer"),
        (lambda i, c, e: e["largeBlob"].update(uncompressedSize=3), "uncompressedSize"),
        (lambda i, c, e: e["largeBlob"].update(data=b64(b"not deflate")), "largeBlob data"),
        (lambda i, c, e: e.update(largeBlob={"uncompressedSize": 1 << 30}), "largeBlob"),
        (lambda i, c, e: i.update(creationAt="yesterday"), "creationAt"),
        (lambda i, c, e: c.pop("userHandle"), "userHandle"),
        (lambda i, c, e: c.update(rpId="http://evil"), "rpId"),
    ]
    items.extend(variant(change) for change, _ in cases)
    items.append({"id": "x", "title": "empty", "credentials": []})
    report = target.import_credentials(json.dumps(document).encode(), passphrase=None)
    assert sorted(report.imported) == sorted(source.everything)
    reasons = [s.reason for s in report.skipped]
    assert len(reasons) == len(cases) + 1
    for (_, expected), reason in zip(cases, reasons, strict=False):
        assert expected in reason, (expected, reason)
    assert reasons[-1] == "the item has no credential"
    assert read_large_blob(target, source.alice) == BLOB


def test_large_blob_that_does_not_fit_is_left_out_with_a_warning(source: Source) -> None:
    document = source.plaintext()
    noise = os.urandom(5000)  # incompressible: over the 4096-byte array of the authenticator
    for item in document["accounts"][0]["items"]:
        credential = item["credentials"][0]
        if credential["credentialId"] == source.bob:
            credential["fido2Extensions"]["largeBlob"] = {
                "uncompressedSize": len(noise),
                "data": b64(_deflate(noise)),
            }
    va = VirtualAuthenticator()
    report = va.import_credentials(json.dumps(document).encode(), passphrase=None)
    assert sorted(report.imported) == sorted(source.everything)
    [warning] = report.warnings
    assert warning.startswith(source.bob) and "does not fit" in warning
    assert read_large_blob(va, source.alice) == BLOB
    assert read_large_blob(va, source.bob) is None


def _deflate(data: bytes) -> bytes:
    from vauth.vault.cxf import deflate

    return deflate(data)


# -- all or nothing -------------------------------------------------------------------------------


def test_a_failing_write_leaves_nothing_half_imported(
    source: Source, target: VirtualAuthenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vauth.vault import rows

    original = rows.to_row
    seen: list[object] = []

    def second_row_breaks(credential: Any) -> tuple[Any, ...]:
        row = original(credential)
        seen.append(credential)
        if len(seen) == 2:  # NOT NULL private_key: the INSERT fails after the first one
            row = (*row[:8], None, *row[9:])
        return row

    array_before = run_setting(target)
    monkeypatch.setattr(rows, "to_row", second_row_breaks)
    with pytest.raises(ExchangeError, match="nothing was imported"):
        target.import_credentials(source.export(), passphrase=EXPORT_PASSPHRASE)
    assert len(seen) == 3
    monkeypatch.undo()
    assert target.get_credentials() == []
    assert run_setting(target) == array_before
    # And with the store healthy again, the same file imports whole.
    report = target.import_credentials(source.export(), passphrase=EXPORT_PASSPHRASE)
    assert len(report.imported) == 3


def test_a_failing_large_blob_write_rolls_back_the_credentials(
    source: Source, target: VirtualAuthenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(entries: list[Any]) -> bytes:
        raise RuntimeError("disk on fire")

    exported = source.export()
    monkeypatch.setattr(large_blob_array, "serialize", _only_in_transaction(broken))
    with pytest.raises(ExchangeError, match="disk on fire"):
        target.import_credentials(exported, passphrase=EXPORT_PASSPHRASE)
    monkeypatch.undo()
    assert target.get_credentials() == []
    assert run_setting(target) is None


def _only_in_transaction(replacement: Any) -> Any:
    """``large_blob_array.serialize`` that fails only when called on the vault's worker thread."""
    import threading

    original = large_blob_array.serialize

    def serialize(entries: list[Any]) -> bytes:
        if threading.current_thread().name.startswith("vauth-vault"):
            return bytes(replacement(entries))
        return original(entries)

    return serialize


def test_in_memory_store_batch_is_all_or_nothing() -> None:
    from vauth.app.store import InMemoryStore

    store = InMemoryStore()
    va = VirtualAuthenticator(store=store)
    entries = [valid_params(b"one"), valid_params(b"two")]
    va.import_credentials(json.dumps(entries[:1]).encode(), passphrase=None)
    credentials = [c for c in asyncio.run(store.all())]

    async def put_again() -> None:
        await store.put_many(credentials, {"x": lambda old: b"changed"})

    with pytest.raises(ValueError, match="stored already"):
        asyncio.run(put_again())
    assert asyncio.run(store.get_setting("x")) is None
    assert len(va.get_credentials()) == 1


# -- progress -------------------------------------------------------------------------------------


def test_progress_counts_up_to_the_total(
    target: VirtualAuthenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exchange, "CHUNK", 3)
    entries = [valid_params(f"user-{n}".encode()) for n in range(7)] + [17]
    calls: list[tuple[int, int]] = []
    report = target.import_credentials(
        json.dumps(entries).encode(), passphrase=None, progress=_append(calls)
    )
    assert len(report.imported) == 7 and len(report.skipped) == 1
    assert calls == [(n, 8) for n in range(9)]


def test_an_exception_from_progress_stops_before_any_write(target: VirtualAuthenticator) -> None:
    entries = [valid_params(f"user-{n}".encode()) for n in range(3)]

    def cancel(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        target.import_credentials(json.dumps(entries).encode(), passphrase=None, progress=cancel)
    assert target.get_credentials() == []


def test_report_reasons_by_id() -> None:
    report = ImportReport()
    report.skipped.append(exchange.Skipped(0, "abc", ALREADY_PRESENT))
    assert report.reasons() == {"abc": ALREADY_PRESENT}
