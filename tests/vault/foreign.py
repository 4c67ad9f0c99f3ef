"""Files of other password managers, made here from their formats' documentation and public
source (never copied files, never vauth's own writers), and the check that an imported passkey
signs in: py_webauthn verifies the assertion against the public key derived from the private key
the file held, for the right rpId and origin, with the file's user handle and a counter that
never goes back.

- Bitwarden: bitwarden/clients, libs/common/src/models/export/{cipher,login,fido2-credential}
  .export.ts (the item), libs/tools/export/vault-export/vault-export-core/src/services/
  {individual-vault-export,base-vault-export}.service.ts (the file), key-generation.service.ts
  (PBKDF2-SHA256 / Argon2id over SHA-256 of the salt, HKDF-Expand "enc" and "mac"), EncString
  type 2 "2.iv|data|mac" (AES-256-CBC, HMAC-SHA256 over iv || data).
- KeePassXC: keepassxreboot/keepassxc, src/browser/BrowserService.cpp addPasskeyToEntry (the
  attributes and which are protected), src/gui/passkeys/PasskeyExporter.cpp (the .passkey file).
- Proton Pass: protonpass/pass-contents-proto-definition item_v1.proto (the JSON item) and
  protonpass/proton-pass-common src/passkey/{passkey_handling,protonpasskey}.rs (the MessagePack
  ``content``: {"c": inner, "v": 1}, inner the named ProtonPassKey with its COSE key).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import io
import json
import os
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

import msgpack
import webauthn
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from fido2 import cbor
from fido2.cose import ES256, RS256, CoseKey, EdDSA
from webauthn.helpers.structs import PublicKeyCredentialDescriptor

from vauth import VirtualAuthenticator, base64url
from vauth.ctap.credential import Credential
from vauth.vault import exchange

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
CREATED = datetime.datetime(2024, 5, 17, 9, 30, 12, 345000, tzinfo=datetime.UTC)


@dataclass
class Passkey:
    """A passkey as another password manager holds it."""

    rp_id: str = "example.com"
    user_name: str = "alice"
    user_display_name: str = "Alice Liddell"
    rp_name: str = "Example"
    counter: int = 0
    key: PrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    user_handle: bytes = field(default_factory=lambda: os.urandom(32))
    created: datetime.datetime = CREATED

    def pkcs8(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def cose_public_key(self) -> bytes:
        """The COSE public key python-fido2 derives from the private key's public half."""
        public = self.key.public_key()
        kind: type[CoseKey] = (
            ES256 if isinstance(public, ec.EllipticCurvePublicKey)
            else EdDSA if isinstance(public, ed25519.Ed25519PublicKey)
            else RS256
        )  # fmt: skip
        return bytes(cbor.encode(dict(kind.from_cryptography_key(public))))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- the vault's side ---------------------------------------------------------------------------


def stored(va: VirtualAuthenticator, credential_id: bytes | str) -> Credential:
    raw = base64url.decode(credential_id) if isinstance(credential_id, str) else credential_id
    credential = asyncio.run(va.device.store.get(raw))
    assert credential is not None
    return credential


def notice(va: VirtualAuthenticator, fmt: str) -> dict[str, Any]:
    return asyncio.run(exchange.export_notice(va.device.store, fmt))


def registered(va: VirtualAuthenticator, user: str, alg: int = -7, rp: str = "example.com") -> str:
    """A passkey made by vauth itself (discoverable), for exports; its ID."""
    response = va.create(
        {
            "rp": {"id": rp, "name": "Example Site"},
            "user": {"id": b64url(user.encode()), "name": user, "displayName": user.title()},
            "challenge": b64url(os.urandom(32)),
            "pubKeyCredParams": [{"type": "public-key", "alg": alg}],
            "authenticatorSelection": {"residentKey": "required"},
        },
        f"https://{rp}",
    )
    return str(response["id"])


def sign_count(va: VirtualAuthenticator, credential_id: str, rp: str = "example.com") -> int:
    """One sign-in with vauth's passkey; the counter its authenticator data carries."""
    response = va.get(
        {
            "challenge": b64url(os.urandom(32)),
            "rpId": rp,
            "allowCredentials": [{"type": "public-key", "id": credential_id}],
        },
        f"https://{rp}",
    )
    return int.from_bytes(base64url.decode(response["response"]["authenticatorData"])[33:37])


# -- signing in ---------------------------------------------------------------------------------


def signs_in(va: VirtualAuthenticator, passkey: Passkey, *, discover: bool = False) -> int:
    """One sign-in with ``passkey`` as vauth imported it, checked by py_webauthn against the
    public key of the private key the source file held (WebAuthn L3 7.2 "Verifying an
    Authentication Assertion": rpIdHash, signature over authData || hash(clientDataJSON), the
    origin, and signCount above the stored one unless both are 0). Returns the new counter."""
    origin = f"https://{passkey.rp_id}"
    options = webauthn.generate_authentication_options(
        rp_id=passkey.rp_id,
        challenge=os.urandom(32),
        allow_credentials=(
            [] if discover else [PublicKeyCredentialDescriptor(id=passkey.credential_id)]
        ),
    )
    response = va.get(json.loads(webauthn.options_to_json(options)), origin)
    verified = webauthn.verify_authentication_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=passkey.rp_id,
        expected_origin=origin,
        credential_public_key=passkey.cose_public_key(),
        credential_current_sign_count=passkey.counter,
    )
    assert base64url.decode(response["rawId"]) == passkey.credential_id
    assert base64url.decode(response["response"]["userHandle"]) == passkey.user_handle
    if passkey.counter:  # "signs next with a counter above N"
        assert verified.new_sign_count > passkey.counter
    return int(verified.new_sign_count)


# -- Bitwarden ----------------------------------------------------------------------------------


def bitwarden_passkey(passkey: Passkey, id_form: str = "b64") -> dict[str, Any]:
    """fido2-credential.export.ts: every field a string; the ID a GUID or "b64." + base64url."""
    credential_id = (
        str(uuid.UUID(bytes=passkey.credential_id))
        if id_form == "uuid"
        else "b64." + b64url(passkey.credential_id)
    )
    return {
        "credentialId": credential_id,
        "keyType": "public-key",
        "keyAlgorithm": "ECDSA",
        "keyCurve": "P-256",
        "keyValue": b64url(passkey.pkcs8()),
        "rpId": passkey.rp_id,
        "userHandle": b64url(passkey.user_handle),
        "userName": passkey.user_name,
        "counter": str(passkey.counter),
        "rpName": passkey.rp_name,
        "userDisplayName": passkey.user_display_name,
        "discoverable": "true",
        "creationDate": passkey.created.isoformat().replace("+00:00", "Z"),
    }


def bitwarden_item(*passkeys: dict[str, Any], name: str = "Example") -> dict[str, Any]:
    """cipher.export.ts, a login (type 1), as buildJsonExport writes it."""
    return {
        "passwordHistory": None,
        "revisionDate": "2024-05-17T09:30:12.345Z",
        "creationDate": "2024-05-17T09:30:12.345Z",
        "deletedDate": None,
        "id": str(uuid.uuid4()),
        "organizationId": None,
        "folderId": None,
        "type": 1,
        "reprompt": 0,
        "name": name,
        "notes": None,
        "favorite": False,
        "login": {
            "fido2Credentials": list(passkeys),
            "uris": [{"match": None, "uri": "https://example.com"}],
            "username": passkeys[0]["userName"] if passkeys else "alice",
            "password": "hunter2",
            "totp": None,
        },
        "collectionIds": None,
    }


def bitwarden_plain(*items: dict[str, Any]) -> dict[str, Any]:
    return {"encrypted": False, "folders": [], "items": list(items)}


def _bitwarden_keys(password: str, salt: str, kdf: dict[str, int]) -> tuple[bytes, bytes]:
    if kdf["kdfType"] == 0:
        master = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), salt.encode(), kdf["kdfIterations"]
        )
    else:
        master = hash_secret_raw(
            password.encode(),
            hashlib.sha256(salt.encode()).digest(),
            time_cost=kdf["kdfIterations"],
            memory_cost=kdf["kdfMemory"] * 1024,
            parallelism=kdf["kdfParallelism"],
            hash_len=32,
            type=Type.ID,
        )
    return tuple(HKDFExpand(hashes.SHA256(), 32, info).derive(master) for info in (b"enc", b"mac"))  # type: ignore[return-value]


def enc_string(plaintext: bytes, keys: tuple[bytes, bytes]) -> str:
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(keys[0]), modes.CBC(iv)).encryptor()
    data = encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
    mac = hmac.new(keys[1], iv + data, hashlib.sha256).digest()
    return f"2.{b64(iv)}|{b64(data)}|{b64(mac)}"


PBKDF2 = {"kdfType": 0, "kdfIterations": 5000}  # Bitwarden's lowest accepted, for speed
ARGON2ID = {"kdfType": 1, "kdfIterations": 2, "kdfMemory": 16, "kdfParallelism": 4}


def bitwarden_protected(
    document: dict[str, Any], password: str, kdf: dict[str, int] = PBKDF2
) -> dict[str, Any]:
    """base-vault-export.service.ts buildPasswordExport."""
    salt = b64(os.urandom(16))
    keys = _bitwarden_keys(password, salt, kdf)
    return {
        "encrypted": True,
        "passwordProtected": True,
        "salt": salt,
        **kdf,
        "encKeyValidation_DO_NOT_EDIT": enc_string(str(uuid.uuid4()).encode(), keys),
        "data": enc_string(json.dumps(document).encode(), keys),
    }


def bitwarden_account_restricted() -> dict[str, Any]:
    """individual-vault-export.service.ts getEncryptedExport: sealed under the account's key."""
    key = (os.urandom(32), os.urandom(32))
    item = bitwarden_item(bitwarden_passkey(Passkey()))
    item["name"] = enc_string(b"Example", key)
    return {
        "encrypted": True,
        "encKeyValidation_DO_NOT_EDIT": enc_string(str(uuid.uuid4()).encode(), key),
        "folders": [],
        "items": [item],
    }


def dumps(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode()


# -- KeePassXC ----------------------------------------------------------------------------------

KPEX = {
    "username": "KPEX_PASSKEY_USERNAME",
    "credential_id": "KPEX_PASSKEY_CREDENTIAL_ID",
    "private_key": "KPEX_PASSKEY_PRIVATE_KEY_PEM",
    "relying_party": "KPEX_PASSKEY_RELYING_PARTY",
    "user_handle": "KPEX_PASSKEY_USER_HANDLE",
}


def kdbx(
    entries: list[dict[str, str]],
    password: str,
    recycled: list[dict[str, str]] | None = None,
    others: int = 1,
) -> bytes:
    """A KDBX 4 database written by pykeepass, one entry per dict of attributes (as
    keepassxc_attributes gives them), plus ``others`` ordinary password entries and
    ``recycled`` passkeys in the recycle bin. Cheap key derivation, for speed."""
    from pykeepass import PyKeePass
    from pykeepass.pykeepass import BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD

    database = PyKeePass(BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD)
    database.password = password
    parameters = database.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    parameters["I"].value, parameters["M"].value, parameters["P"].value = 2, 1 << 20, 1
    browser = database.add_group(database.root_group, "KeePassXC-Browser Passwords")
    for n in range(others):
        database.add_entry(browser, f"site {n}", "bob", "a password", url="https://bob.example")
    for n, attributes in enumerate([*entries, *(recycled or [])]):
        entry = database.add_entry(
            browser,
            f"{attributes.get(KPEX['relying_party'], 'x')} (Passkey) {n}",
            attributes.get(KPEX["username"], ""),
            "",
            url=f"https://{attributes.get(KPEX['relying_party'], '')}",
            tags=["Passkey"],
        )
        for name, value in attributes.items():
            protect = name in (KPEX["credential_id"], KPEX["private_key"], KPEX["user_handle"])
            entry.set_custom_property(name, value, protect=protect)
        if n >= len(entries):
            database.trash_entry(entry)
    out = io.BytesIO()
    database.save(out)
    return out.getvalue()


def kdbx31(kdbx4: bytes, password: str) -> bytes:
    """The same database as KDBX 3.1 (AES-KDF, SHA-256-hashed blocks, Salsa20 inner stream),
    built with pykeepass's own KDBX structures (which read and write 3.1)."""
    from construct import Container
    from pykeepass import PyKeePass
    from pykeepass.kdbx_parsing import KDBX

    tree = PyKeePass(io.BytesIO(kdbx4), password=password).kdbx.body.payload.xml
    epoch = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)
    for times in tree.iter("Times"):  # KDBX 4 writes seconds in base64, 3.1 ISO 8601
        for element in times:
            if element.text and element.text.endswith("="):
                seconds = int.from_bytes(base64.b64decode(element.text), "little")
                when = epoch + datetime.timedelta(seconds=seconds)
                element.text = when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def item(name: str, data: Any) -> Container:
        return Container(id=name, data=data)

    header = Container(
        sig1=b"\x03\xd9\xa2\x9a",
        sig2=b"\x67\xfb\x4b\xb5",
        sig_check=None,
        minor_version=1,
        major_version=3,
        dynamic_header=Container(
            cipher_id=item("cipher_id", "aes256"),
            compression_flags=item("compression_flags", Container(compression=True)),
            master_seed=item("master_seed", os.urandom(32)),
            transform_seed=item("transform_seed", os.urandom(32)),
            transform_rounds=item("transform_rounds", 1000),
            encryption_iv=item("encryption_iv", os.urandom(16)),
            protected_stream_key=item("protected_stream_key", os.urandom(32)),
            stream_start_bytes=item("stream_start_bytes", os.urandom(32)),
            protected_stream_id=item("protected_stream_id", "salsa20"),
            end=item("end", b"\r\n\r\n"),
        ),
    )
    body = Container(
        transformed_key=None, master_key=None, payload=Container(cred_check=None, xml=tree)
    )
    out = io.BytesIO()
    KDBX.build_stream(
        Container(header=Container(value=header), body=body),
        out,
        password=password,
        keyfile=None,
        transformed_key=None,
        decrypt=True,
    )
    return out.getvalue()


def keepassxc_attributes(passkey: Passkey) -> dict[str, str]:
    """BrowserService::addPasskeyToEntry's attributes: IDs base64url without padding."""
    return {
        KPEX["username"]: passkey.user_name,
        KPEX["credential_id"]: b64url(passkey.credential_id),
        KPEX["private_key"]: passkey.pem(),
        KPEX["relying_party"]: passkey.rp_id,
        KPEX["user_handle"]: b64url(passkey.user_handle),
    }


def passkey_file(passkey: Passkey) -> bytes:
    """PasskeyExporter::exportSelectedEntry: one JSON object."""
    return json.dumps(
        {
            "relyingParty": passkey.rp_id,
            "url": f"https://{passkey.rp_id}",
            "username": passkey.user_name,
            "credentialId": b64url(passkey.credential_id),
            "userHandle": b64url(passkey.user_handle),
            "privateKey": passkey.pem(),
        },
        indent=4,
    ).encode()


# -- Proton Pass --------------------------------------------------------------------------------


def proton_content(
    passkey: Passkey, version: int = 1, hmac_secret: tuple[bytes, bytes] | None = None
) -> bytes:
    """serialize_passkey: rmp_serde named maps, Vec<u8> as arrays of integers, COSE labels and
    values tagged {"t", "c"}, integers as 16 little-endian bytes."""

    def label(value: int) -> dict[str, Any]:
        return {"t": "int", "c": value}

    def integer(value: int) -> dict[str, Any]:
        return {"t": "int", "c": {"inner": list(value.to_bytes(16, "little", signed=True))}}

    def raw(data: bytes) -> dict[str, Any]:
        return {"t": "bytes", "c": list(data)}

    key = passkey.key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = key.private_numbers()
        size = (key.curve.key_size + 7) // 8
        crv = {"secp256r1": 1, "secp384r1": 2, "secp521r1": 3, "secp256k1": 8}[key.curve.name]
        kty, alg = "EC2", "ES256"
        params = [
            [label(-1), integer(crv)],
            [label(-2), raw(numbers.public_numbers.x.to_bytes(size, "big"))],
            [label(-3), raw(numbers.public_numbers.y.to_bytes(size, "big"))],
            [label(-4), raw(numbers.private_value.to_bytes(size, "big"))],
        ]
    else:
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        kty, alg = "OKP", "EdDSA"
        params = [[label(-1), integer(6)], [label(-4), raw(key.private_bytes_raw())]]
    inner = {
        "key": {
            "kty": {"t": "assign", "c": kty},
            "kid": [],
            "alg": {"t": "assign", "c": alg},
            "kops": [],
            "biv": [],
            "par": params,
        },
        "cid": list(passkey.credential_id),
        "rid": passkey.rp_id,
        "uhd": list(passkey.user_handle),
        "cnt": passkey.counter or None,
        "ext": {
            "hmac_secret": (
                None
                if hmac_secret is None
                else {"cred_with_uv": list(hmac_secret[0]), "cred_without_uv": list(hmac_secret[1])}
            )
        },
        "udn": passkey.user_display_name,
        "un": passkey.user_name,
    }
    return bytes(msgpack.packb({"c": list(msgpack.packb(inner)), "v": version}))


def proton_passkey(passkey: Passkey, content: bytes | None = None) -> dict[str, Any]:
    """item_v1.proto's Passkey in proto3 JSON (bytes as base64)."""
    return {
        "keyId": b64url(os.urandom(8)),
        "content": b64(proton_content(passkey) if content is None else content),
        "domain": passkey.rp_id,
        "rpId": passkey.rp_id,
        "rpName": passkey.rp_name,
        "userName": passkey.user_name,
        "userDisplayName": passkey.user_display_name,
        "userId": b64(passkey.user_handle),
        "createTime": int(passkey.created.timestamp()),
        "note": "",
        "credentialId": b64(passkey.credential_id),
        "userHandle": b64(passkey.user_handle),
        "creationData": {"osName": "Linux", "osVersion": "", "deviceName": "", "appVersion": ""},
    }


def proton_item(*passkeys: dict[str, Any], state: int = 1) -> dict[str, Any]:
    return {
        "itemId": b64url(os.urandom(8)),
        "shareId": "share",
        "data": {
            "metadata": {"name": "Example", "note": "", "itemUuid": str(uuid.uuid4())},
            "extraFields": [],
            "type": "login",
            "content": {
                "itemEmail": "",
                "password": "",
                "urls": ["https://example.com"],
                "totpUri": "",
                "passkeys": list(passkeys),
                "itemUsername": "alice",
            },
        },
        "state": state,
        "aliasEmail": None,
        "contentFormatVersion": 6,
        "createTime": 1715938212,
        "modifyTime": 1715938212,
        "pinned": False,
    }


def proton_export(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "1.21.2",
        "userId": "user",
        "encrypted": False,
        "vaults": {
            "share": {
                "name": "Personal",
                "description": "",
                "display": {"color": 0, "icon": 0},
                "items": list(items),
            }
        },
    }


def proton_zip(document: dict[str, Any], name: str = "Proton Pass/data.json") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, json.dumps(document))
    return out.getvalue()
