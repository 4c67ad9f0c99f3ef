"""CTAP 2.1 extensions (hmac-secret, hmac-secret-mc, credBlob, largeBlobKey, minPinLength) and
authenticatorLargeBlobs, driven by python-fido2 as a platform would drive a security key."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from typing import Any

import pytest
from fido2 import cbor as fido2_cbor
from fido2.client import DefaultClientDataCollector, Fido2Client
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2, LargeBlobs
from fido2.ctap2.pin import ClientPin, PinProtocol, PinProtocolV1, PinProtocolV2
from fido2.utils import websafe_decode
from fido2.webauthn import (
    AuthenticatorData,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRequestOptions,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
)

from vauth import VirtualAuthenticator
from vauth.ctap import large_blob_array
from vauth.ctap.config import CTAP_EXTENSIONS, MAX_CRED_BLOB_LENGTH
from vauth.ctap.credential import Credential
from vauth.testing.doubles import InMemoryStore, VauthCtapDevice

ERR = CtapError.ERR
RP_ID = "example.com"
RP = {"id": RP_ID, "name": "Example"}
ES256 = [{"type": "public-key", "alg": -7}]
PERM = ClientPin.PERMISSION
# The serialized large-blob array of a fresh authenticator: [] and LEFT(SHA-256([]), 16).
EMPTY_LARGE_BLOB_ARRAY = bytes.fromhex("8076be8b528d0075f7aae98d6fa57a6d3c")


def make_va(**kwargs: Any) -> VirtualAuthenticator:
    va = VirtualAuthenticator(**kwargs)
    assert va.authenticator.config.extensions == CTAP_EXTENSIONS
    return va


def ctap_for(va: VirtualAuthenticator) -> Ctap2:
    return Ctap2(VauthCtapDevice(va))


def client_for(va: VirtualAuthenticator) -> Fido2Client:
    return Fido2Client(VauthCtapDevice(va), DefaultClientDataCollector(f"https://{RP_ID}"))


def code(exc: pytest.ExceptionInfo[CtapError]) -> int:
    return int(exc.value.code)


def stored(store: InMemoryStore) -> list[Credential]:
    return list(asyncio.run(store.all()))


def prf_salt(value: bytes) -> bytes:
    return hashlib.sha256(b"WebAuthn PRF\x00" + value).digest()


def hmac256(key: bytes | None, message: bytes) -> bytes:
    assert key is not None and len(key) == 32
    return hmac.digest(key, message, "sha256")


def extensions_of(auth_data: bytes) -> dict[str, Any]:
    return AuthenticatorData(auth_data).extensions or {}


# -- WebAuthn prf through python-fido2's client (hmac-secret and hmac-secret-mc) ------------


def register(
    client: Fido2Client, user_id: bytes, extensions: dict[str, Any], rk: bool = True
) -> Any:
    options = PublicKeyCredentialCreationOptions(
        rp=PublicKeyCredentialRpEntity(id=RP_ID, name="Example"),
        user=PublicKeyCredentialUserEntity(id=user_id, name=user_id.decode()),
        challenge=os.urandom(32),
        pub_key_cred_params=[PublicKeyCredentialParameters(type="public-key", alg=-7)],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key="required" if rk else "discouraged", user_verification="required"
        ),
        extensions=extensions,
    )
    return client.make_credential(options)


def authenticate(
    client: Fido2Client, credential_id: bytes, extensions: dict[str, Any], uv: str = "required"
) -> Any:
    options = PublicKeyCredentialRequestOptions(
        challenge=os.urandom(32),
        rp_id=RP_ID,
        allow_credentials=[PublicKeyCredentialDescriptor(type="public-key", id=credential_id)],
        user_verification=uv,
        extensions=extensions,
    )
    return client.get_assertion(options).get_response(0)


def prf_first(outputs: Any) -> bytes:
    value = dict(outputs)["prf"]["results"]["first"]
    return value if isinstance(value, bytes) else websafe_decode(value)


def test_prf_outputs_are_hmacs_of_the_stored_cred_random() -> None:
    store = InMemoryStore()
    va = make_va(store=store)
    client = client_for(va)
    a, b = b"first input", b"another input"
    made = register(client, b"alice", {"prf": {"eval": {"first": a}}})
    assert dict(made.client_extension_results)["prf"]["enabled"] is True
    at_creation = prf_first(made.client_extension_results)  # hmac-secret-mc

    (credential,) = stored(store)
    assert credential.cred_random_with_uv is not None
    assert credential.cred_random_without_uv is not None
    assert credential.cred_random_with_uv != credential.cred_random_without_uv
    expected = hmac256(credential.cred_random_with_uv, prf_salt(a))
    assert at_creation == expected

    first = prf_first(
        authenticate(client, made.raw_id, {"prf": {"eval": {"first": a}}}).client_extension_results
    )
    again = prf_first(
        authenticate(client, made.raw_id, {"prf": {"eval": {"first": a}}}).client_extension_results
    )
    other = prf_first(
        authenticate(client, made.raw_id, {"prf": {"eval": {"first": b}}}).client_extension_results
    )
    assert first == again == expected
    assert other == hmac256(credential.cred_random_with_uv, prf_salt(b)) != first

    # Another credential, the same input: another secret.
    bob = register(client, b"bob", {"prf": {}})
    bobs = prf_first(
        authenticate(client, bob.raw_id, {"prf": {"eval": {"first": a}}}).client_extension_results
    )
    assert bobs != first


def test_prf_of_a_non_discoverable_credential_is_derived_not_stored() -> None:
    store = InMemoryStore()
    va = make_va(store=store)
    client = client_for(va)
    made = register(client, b"carol", {"prf": {"eval": {"first": b"x"}}}, rk=False)
    assert stored(store) == []  # nothing kept: not the key, not CredRandom
    wrapper = asyncio.run(va.authenticator.wrapper())
    expected = hmac256(wrapper.cred_random(made.raw_id, True), prf_salt(b"x"))
    assert prf_first(made.client_extension_results) == expected
    for _ in range(2):
        response = authenticate(client, made.raw_id, {"prf": {"eval": {"first": b"x"}}})
        assert prf_first(response.client_extension_results) == expected


# -- hmac-secret at the CTAP level, both PIN/UV auth protocols ------------------------------


def uv_token(ctap: Ctap2, protocol: PinProtocol, permissions: int) -> bytes:
    return ClientPin(ctap, protocol).get_uv_token(PERM(permissions), RP_ID)


def hmac_input(ctap: Ctap2, protocol: PinProtocol, salts: bytes) -> tuple[dict[int, Any], bytes]:
    key_agreement, shared = ClientPin(ctap, protocol)._get_shared_secret()
    salt_enc = protocol.encrypt(shared, salts)
    salt_auth = protocol.authenticate(shared, salt_enc)
    return {1: key_agreement, 2: salt_enc, 3: salt_auth, 4: protocol.VERSION}, shared


def make(
    ctap: Ctap2,
    protocol: PinProtocol,
    extensions: dict[str, Any],
    rk: bool = True,
    user_id: bytes = b"user",
) -> Any:
    client_data_hash = os.urandom(32)
    token = uv_token(ctap, protocol, PERM.MAKE_CREDENTIAL) if rk else None
    return ctap.make_credential(
        client_data_hash,
        RP,
        {"id": user_id, "name": "u"},
        ES256,
        extensions=extensions,
        options={"rk": rk},
        pin_uv_param=protocol.authenticate(token, client_data_hash) if token else None,
        pin_uv_protocol=protocol.VERSION if token else None,
    )


def assertion(
    ctap: Ctap2,
    protocol: PinProtocol,
    credential_id: bytes | None,
    extensions: dict[str, Any],
    uv: bool,
    options: dict[str, bool] | None = None,
) -> Any:
    client_data_hash = os.urandom(32)
    token = uv_token(ctap, protocol, PERM.GET_ASSERTION) if uv else None
    allow = [{"type": "public-key", "id": credential_id}] if credential_id else None
    return ctap.get_assertion(
        RP_ID,
        client_data_hash,
        allow,
        extensions=extensions,
        options=options,
        pin_uv_param=protocol.authenticate(token, client_data_hash) if token else None,
        pin_uv_protocol=protocol.VERSION if token else None,
    )


def hmac_output(
    ctap: Ctap2, protocol: PinProtocol, credential_id: bytes | None, salts: bytes, uv: bool
) -> tuple[bytes, Any]:
    # The token first, then the key agreement for the salts (the order a careful platform uses).
    client_data_hash = os.urandom(32)
    token = uv_token(ctap, protocol, PERM.GET_ASSERTION) if uv else None
    inputs, shared = hmac_input(ctap, protocol, salts)
    response = ctap.get_assertion(
        RP_ID,
        client_data_hash,
        [{"type": "public-key", "id": credential_id}] if credential_id else None,
        extensions={"hmac-secret": inputs},
        pin_uv_param=protocol.authenticate(token, client_data_hash) if token else None,
        pin_uv_protocol=protocol.VERSION if token else None,
    )
    output = protocol.decrypt(shared, extensions_of(response.auth_data)["hmac-secret"])
    return output, response


PROTOCOLS = [PinProtocolV1(), PinProtocolV2()]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["protocol1", "protocol2"])
@pytest.mark.parametrize("rk", [True, False], ids=["discoverable", "non-discoverable"])
def test_hmac_secret_with_and_without_uv(protocol: PinProtocol, rk: bool) -> None:
    store = InMemoryStore()
    va = make_va(store=store)
    ctap = ctap_for(va)
    made = make(ctap, protocol, {"hmac-secret": True}, rk=rk)
    assert extensions_of(made.auth_data)["hmac-secret"] is True
    credential_id = made.auth_data.credential_data.credential_id
    if rk:
        (credential,) = stored(store)
        with_uv, without_uv = credential.cred_random_with_uv, credential.cred_random_without_uv
    else:
        assert stored(store) == []
        wrapper = asyncio.run(va.authenticator.wrapper())
        with_uv = wrapper.cred_random(credential_id, True)
        without_uv = wrapper.cred_random(credential_id, False)

    salt1, salt2 = os.urandom(32), os.urandom(32)
    out_uv, response = hmac_output(ctap, protocol, credential_id, salt1, uv=True)
    assert response.auth_data.is_user_verified()
    out_plain, response = hmac_output(ctap, protocol, credential_id, salt1, uv=False)
    assert not response.auth_data.is_user_verified()
    assert out_uv == hmac256(with_uv, salt1)
    assert out_plain == hmac256(without_uv, salt1)
    assert out_uv != out_plain
    assert hmac_output(ctap, protocol, credential_id, salt1, uv=False)[0] == out_plain

    both, _ = hmac_output(ctap, protocol, credential_id, salt1 + salt2, uv=True)
    assert both == hmac256(with_uv, salt1) + hmac256(with_uv, salt2)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["protocol1", "protocol2"])
def test_hmac_secret_key_agreement_fetched_before_the_token(protocol: PinProtocol) -> None:
    """python-fido2's order: the key for the salts, then the token (which regenerates it)."""
    va = make_va()
    ctap = ctap_for(va)
    made = make(ctap, protocol, {"hmac-secret": True}, rk=False)
    credential_id = made.auth_data.credential_data.credential_id
    salt = os.urandom(32)
    inputs, shared = hmac_input(ctap, protocol, salt)
    response = assertion(ctap, protocol, credential_id, {"hmac-secret": inputs}, uv=True)
    output = protocol.decrypt(shared, extensions_of(response.auth_data)["hmac-secret"])
    wrapper = asyncio.run(va.authenticator.wrapper())
    assert output == hmac256(wrapper.cred_random(credential_id, True), salt)


def test_hmac_secret_mc_gives_the_with_uv_output_at_creation() -> None:
    protocol = PinProtocolV2()
    store = InMemoryStore()
    va = make_va(store=store)
    ctap = ctap_for(va)
    salt = os.urandom(32)
    token = uv_token(ctap, protocol, PERM.MAKE_CREDENTIAL)
    inputs, shared = hmac_input(ctap, protocol, salt)
    client_data_hash = os.urandom(32)
    made = ctap.make_credential(
        client_data_hash,
        RP,
        {"id": b"user", "name": "u"},
        ES256,
        extensions={"hmac-secret": True, "hmac-secret-mc": inputs},
        options={"rk": True},
        pin_uv_param=protocol.authenticate(token, client_data_hash),
        pin_uv_protocol=protocol.VERSION,
    )
    at_creation = protocol.decrypt(shared, extensions_of(made.auth_data)["hmac-secret-mc"])
    (credential,) = stored(store)
    assert at_creation == hmac256(credential.cred_random_with_uv, salt)
    credential_id = made.auth_data.credential_data.credential_id
    assert hmac_output(ctap, protocol, credential_id, salt, uv=True)[0] == at_creation


def test_no_hmac_secret_output_for_a_credential_made_without_it() -> None:
    protocol = PinProtocolV2()
    va = make_va()
    ctap = ctap_for(va)
    made = make(ctap, protocol, {}, rk=False)
    assert "hmac-secret" not in extensions_of(made.auth_data)
    inputs, _ = hmac_input(ctap, protocol, os.urandom(32))
    credential_id = made.auth_data.credential_data.credential_id
    response = assertion(ctap, protocol, credential_id, {"hmac-secret": inputs}, uv=False)
    assert "hmac-secret" not in extensions_of(response.auth_data)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["protocol1", "protocol2"])
def test_hmac_secret_errors(protocol: PinProtocol) -> None:
    va = make_va()
    ctap = ctap_for(va)
    made = make(ctap, protocol, {"hmac-secret": True}, rk=False)
    credential_id = made.auth_data.credential_data.credential_id

    def status(inputs: dict[int, Any], options: dict[str, bool] | None = None) -> int:
        with pytest.raises(CtapError) as exc:
            assertion(ctap, protocol, credential_id, {"hmac-secret": inputs}, False, options)
        return code(exc)

    inputs, _ = hmac_input(ctap, protocol, os.urandom(32))
    assert status({**inputs, 3: bytes(len(inputs[3]))}) == ERR.PIN_AUTH_INVALID
    assert status({**inputs, 4: 3}) == ERR.INVALID_PARAMETER
    assert status({k: v for k, v in inputs.items() if k != 3}) == ERR.MISSING_PARAMETER
    inputs, _ = hmac_input(ctap, protocol, os.urandom(32))
    assert status(inputs, {"up": False}) == ERR.UNSUPPORTED_OPTION
    inputs, _ = hmac_input(ctap, protocol, os.urandom(48))  # neither one salt nor two
    assert status(inputs) == ERR.INVALID_PARAMETER


def test_hmac_secret_without_pin_uv_auth_protocol_means_protocol_one() -> None:
    protocol = PinProtocolV1()
    va = make_va()
    ctap = ctap_for(va)
    made = make(ctap, protocol, {"hmac-secret": True}, rk=False)
    credential_id = made.auth_data.credential_data.credential_id
    salt = os.urandom(32)
    inputs, shared = hmac_input(ctap, protocol, salt)
    del inputs[4]
    response = assertion(ctap, protocol, credential_id, {"hmac-secret": inputs}, uv=False)
    output = protocol.decrypt(shared, extensions_of(response.auth_data)["hmac-secret"])
    wrapper = asyncio.run(va.authenticator.wrapper())
    assert output == hmac256(wrapper.cred_random(credential_id, False), salt)


# -- credBlob -------------------------------------------------------------------------------


def test_cred_blob_round_trip() -> None:
    """CTAP 2.1 section 12.2: getAssertion's input is "credBlob": true (the same identifier as
    makeCredential's), the output is the blob under "credBlob" in the authenticator data."""
    protocol = PinProtocolV2()
    store = InMemoryStore()
    va = make_va(store=store)
    ctap = ctap_for(va)
    blob = os.urandom(MAX_CRED_BLOB_LENGTH)
    made = make(ctap, protocol, {"credBlob": blob})
    assert extensions_of(made.auth_data)["credBlob"] is True
    (credential,) = stored(store)
    assert credential.cred_blob == blob
    credential_id = made.auth_data.credential_data.credential_id
    response = assertion(ctap, protocol, credential_id, {"credBlob": True}, uv=False)
    assert extensions_of(response.auth_data)["credBlob"] == blob
    response = assertion(ctap, protocol, credential_id, {}, uv=False)
    assert "credBlob" not in extensions_of(response.auth_data)
    response = assertion(ctap, protocol, credential_id, {"credBlob": False}, uv=False)
    assert "credBlob" not in extensions_of(response.auth_data)
    # getCredBlob is the WebAuthn client's name: to an authenticator it is an unknown
    # extension, ignored (section 12).
    response = assertion(ctap, protocol, credential_id, {"getCredBlob": True}, uv=False)
    assert extensions_of(response.auth_data) == {}


@pytest.mark.parametrize("rk", [True, False], ids=["discoverable", "non-discoverable"])
def test_cred_blob_through_python_fido2_client(rk: bool) -> None:
    """CTAP 2.1 section 12.2 as python-fido2's Fido2Client speaks it: its CredBlobExtension
    turns WebAuthn credBlob / getCredBlob: true into CTAP credBlob: <bytes> / credBlob: true."""
    va = make_va()
    client = client_for(va)
    blob = b"kept with the credential"
    made = register(client, b"alice", {"credBlob": blob}, rk=rk)
    assert made.response.attestation_object.auth_data.extensions["credBlob"] is rk
    got = authenticate(client, made.raw_id, {"getCredBlob": True})
    assert extensions_of(got.response.authenticator_data) == {"credBlob": blob if rk else b""}
    plain = authenticate(client, made.raw_id, {})
    assert extensions_of(plain.response.authenticator_data) == {}


def test_cred_blob_too_long_or_non_discoverable_is_not_kept() -> None:
    protocol = PinProtocolV2()
    va = make_va()
    ctap = ctap_for(va)
    made = make(ctap, protocol, {"credBlob": os.urandom(MAX_CRED_BLOB_LENGTH + 1)})
    assert extensions_of(made.auth_data)["credBlob"] is False
    credential_id = made.auth_data.credential_data.credential_id
    response = assertion(ctap, protocol, credential_id, {"credBlob": True}, uv=False)
    assert extensions_of(response.auth_data)["credBlob"] == b""

    made = make(ctap, protocol, {"credBlob": b"short"}, rk=False)
    assert extensions_of(made.auth_data)["credBlob"] is False
    credential_id = made.auth_data.credential_data.credential_id
    response = assertion(ctap, protocol, credential_id, {"credBlob": True}, uv=False)
    assert extensions_of(response.auth_data)["credBlob"] == b""


def test_cred_blob_of_the_wrong_type() -> None:
    va = make_va()
    ctap = ctap_for(va)
    with pytest.raises(CtapError) as exc:
        make(ctap, PinProtocolV2(), {"credBlob": "text"})
    assert code(exc) == ERR.CBOR_UNEXPECTED_TYPE
    credential_id = make(ctap, PinProtocolV2(), {}).auth_data.credential_data.credential_id
    with pytest.raises(CtapError) as exc:  # getAssertion's input is a boolean
        assertion(ctap, PinProtocolV2(), credential_id, {"credBlob": b"x"}, uv=False)
    assert code(exc) == ERR.CBOR_UNEXPECTED_TYPE


# -- largeBlobKey ---------------------------------------------------------------------------


def test_large_blob_key_at_creation_and_assertion() -> None:
    protocol = PinProtocolV2()
    store = InMemoryStore()
    va = make_va(store=store)
    ctap = ctap_for(va)
    made = make(ctap, protocol, {"largeBlobKey": True})
    key = made.large_blob_key
    assert key is not None and len(key) == 32
    assert "largeBlobKey" not in extensions_of(made.auth_data)  # a response member, not authData
    (credential,) = stored(store)
    assert credential.large_blob_key == key
    credential_id = made.auth_data.credential_data.credential_id
    response = assertion(ctap, protocol, credential_id, {"largeBlobKey": True}, uv=False)
    assert response.large_blob_key == key
    assert assertion(ctap, protocol, credential_id, {}, uv=False).large_blob_key is None
    # A credential made without one has none to give.
    other = make(ctap, protocol, {}, user_id=b"other")
    other_id = other.auth_data.credential_data.credential_id
    assert other.large_blob_key is None
    assert assertion(ctap, protocol, other_id, {"largeBlobKey": True}, False).large_blob_key is None


def test_large_blob_key_needs_rk_and_true() -> None:
    protocol = PinProtocolV2()
    ctap = ctap_for(make_va())
    with pytest.raises(CtapError) as exc:
        make(ctap, protocol, {"largeBlobKey": True}, rk=False)
    assert code(exc) == ERR.INVALID_OPTION
    with pytest.raises(CtapError) as exc:
        make(ctap, protocol, {"largeBlobKey": False})
    assert code(exc) == ERR.INVALID_OPTION


# -- minPinLength ---------------------------------------------------------------------------


def test_min_pin_length_only_for_listed_rp_ids() -> None:
    protocol = PinProtocolV2()
    va = make_va()
    ctap = ctap_for(va)
    made = make(ctap, protocol, {"minPinLength": True})
    assert "minPinLength" not in extensions_of(made.auth_data)
    pin = asyncio.run(va.authenticator.pin_state())
    pin.min_pin_length_rp_ids = [RP_ID]
    pin.min_pin_length = 6
    made = make(ctap, protocol, {"minPinLength": True}, user_id=b"second")
    assert extensions_of(made.auth_data)["minPinLength"] == 6


# -- extensions off, and several credentials ------------------------------------------------


def test_disabled_extensions_are_ignored() -> None:
    protocol = PinProtocolV2()
    va = VirtualAuthenticator(extensions=["credProtect"])
    va.authenticator.config.extensions = frozenset({"credProtect"})
    ctap = ctap_for(va)
    made = make(
        ctap,
        protocol,
        {"hmac-secret": True, "credBlob": b"x", "largeBlobKey": True, "minPinLength": True},
        rk=False,  # largeBlobKey without rk would be INVALID_OPTION if it were supported
    )
    assert extensions_of(made.auth_data) == {}
    assert made.large_blob_key is None


def test_get_next_assertion_carries_the_extension_outputs() -> None:
    protocol = PinProtocolV2()
    store = InMemoryStore()
    va = make_va(store=store)
    ctap = ctap_for(va)
    blobs = [b"blob-one", b"blob-two"]
    for i, blob in enumerate(blobs):
        make(ctap, protocol, {"hmac-secret": True, "credBlob": blob}, user_id=b"u%d" % i)
    salt = os.urandom(32)
    client_data_hash = os.urandom(32)
    token = uv_token(ctap, protocol, PERM.GET_ASSERTION)
    inputs, shared = hmac_input(ctap, protocol, salt)
    first = ctap.get_assertion(
        RP_ID,
        client_data_hash,
        extensions={"hmac-secret": inputs, "credBlob": True},
        pin_uv_param=protocol.authenticate(token, client_data_hash),
        pin_uv_protocol=protocol.VERSION,
    )
    assert first.number_of_credentials == 2
    second = ctap.get_next_assertion()
    by_user = {}
    for response in (first, second):
        outputs = extensions_of(response.auth_data)
        by_user[response.user["id"]] = (
            outputs["credBlob"],
            protocol.decrypt(shared, outputs["hmac-secret"]),
        )
    assert {blob for blob, _ in by_user.values()} == set(blobs)
    credentials = {c.user_handle: c for c in stored(store)}
    for user_id, (_, output) in by_user.items():
        assert output == hmac256(credentials[user_id].cred_random_with_uv, salt)


# -- authenticatorLargeBlobs ----------------------------------------------------------------


def lbw_blobs(va: VirtualAuthenticator, protocol: PinProtocol | None = None) -> LargeBlobs:
    protocol = protocol or PinProtocolV2()
    ctap = ctap_for(va)
    return LargeBlobs(ctap, protocol, uv_token(ctap, protocol, PERM.LARGE_BLOB_WRITE))


def stored_array(store: InMemoryStore) -> bytes | None:
    return asyncio.run(store.get_setting(large_blob_array.SETTING))


def test_large_blob_through_the_webauthn_extension() -> None:
    va = make_va()
    client = client_for(va)
    made = register(client, b"dave", {"largeBlob": {"support": "required"}})
    assert dict(made.client_extension_results)["largeBlob"] == {"supported": True}
    other = register(client, b"erin", {"largeBlob": {"support": "required"}})
    data = os.urandom(300)
    written = authenticate(client, made.raw_id, {"largeBlob": {"write": data}})
    assert dict(written.client_extension_results)["largeBlob"] == {"written": True}
    read = authenticate(client, made.raw_id, {"largeBlob": {"read": True}})
    blob = dict(read.client_extension_results)["largeBlob"]["blob"]
    assert (blob if isinstance(blob, bytes) else websafe_decode(blob)) == data
    nothing = authenticate(client, other.raw_id, {"largeBlob": {"read": True}})
    assert "blob" not in dict(nothing.client_extension_results)["largeBlob"]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["protocol1", "protocol2"])
def test_large_blob_array_written_and_read_in_fragments(protocol: PinProtocol) -> None:
    store = InMemoryStore()
    va = make_va(store=store)
    va.authenticator.config.max_msg_size = 1024  # maxFragmentLength 960
    blobs = lbw_blobs(va, protocol)
    assert blobs.max_fragment_length == 960
    assert blobs.read_blob_array() == []
    array = [{1: os.urandom(1000), 2: os.urandom(12), 3: 1000}, {1: os.urandom(900)}]
    blobs.write_blob_array(array)
    assert blobs.read_blob_array() == array
    serialized = stored_array(store)
    assert serialized is not None and len(serialized) > 2 * 960
    body = fido2_cbor.encode(array)
    assert serialized == body + hashlib.sha256(body).digest()[:16]


def test_large_blob_get() -> None:
    va = make_va()
    ctap = ctap_for(va)
    assert ctap.large_blobs(0, get=100)[1] == EMPTY_LARGE_BLOB_ARRAY
    assert ctap.large_blobs(5, get=3)[1] == EMPTY_LARGE_BLOB_ARRAY[5:8]
    assert ctap.large_blobs(len(EMPTY_LARGE_BLOB_ARRAY), get=3)[1] == b""
    cases: list[tuple[dict[str, Any], int]] = [
        ({"offset": 0, "get": va.authenticator.config.max_msg_size - 63}, ERR.INVALID_LENGTH),
        ({"offset": 18, "get": 1}, ERR.INVALID_PARAMETER),
        ({"offset": 0, "get": 1, "length": 1}, ERR.INVALID_PARAMETER),
        ({"offset": 0}, ERR.INVALID_PARAMETER),
        ({"offset": 0, "get": 1, "set": b"x"}, ERR.INVALID_PARAMETER),
    ]
    for kwargs, expected in cases:
        with pytest.raises(CtapError) as exc:
            ctap.large_blobs(**kwargs)
        assert code(exc) == expected, kwargs


def serialized(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()[:16]


def set_fragment(
    ctap: Ctap2,
    protocol: PinProtocol,
    token: bytes | None,
    offset: int,
    fragment: bytes,
    length: int | None = None,
) -> None:
    param = None
    if token is not None:
        message = b"\xff" * 32 + b"\x0c\x00" + offset.to_bytes(4, "little")
        param = protocol.authenticate(token, message + hashlib.sha256(fragment).digest())
    ctap.large_blobs(
        offset,
        set=fragment,
        length=length,
        pin_uv_param=param,
        pin_uv_protocol=protocol.VERSION if token else None,
    )


def test_large_blob_set_errors() -> None:
    protocol = PinProtocolV2()
    store = InMemoryStore()
    va = make_va(store=store)
    ctap = ctap_for(va)
    token = uv_token(ctap, protocol, PERM.LARGE_BLOB_WRITE)
    good = serialized(fido2_cbor.encode([{1: b"k", 2: b"n", 3: 1}]))

    def status(*args: Any, **kwargs: Any) -> int:
        with pytest.raises(CtapError) as exc:
            set_fragment(ctap, protocol, *args, **kwargs)
        return code(exc)

    assert status(None, 0, good, len(good)) == ERR.PUAT_REQUIRED
    assert status(token, 0, good) == ERR.INVALID_PARAMETER  # no length at offset 0
    assert status(token, 0, good[:10], 10) == ERR.INVALID_PARAMETER  # shorter than 17
    assert status(token, 0, b"", 4097) == ERR.LARGE_BLOB_STORAGE_FULL
    assert status(token, 5, good[5:]) == ERR.INVALID_SEQ  # no write in progress
    assert status(token, 0, good, len(good) - 1) == ERR.INVALID_PARAMETER  # beyond length
    set_fragment(ctap, protocol, token, 0, good[:10], len(good))
    assert status(token, 11, good[11:]) == ERR.INVALID_SEQ
    assert status(token, 10, good[10:], len(good)) == ERR.INVALID_PARAMETER
    other = uv_token(ctap, protocol, PERM.GET_ASSERTION)  # lacks lbw (and replaced the first)
    assert status(other, 10, good[10:]) == ERR.PIN_AUTH_INVALID
    token = uv_token(ctap, protocol, PERM.LARGE_BLOB_WRITE)
    wrong_param = protocol.authenticate(token, b"something else")
    with pytest.raises(CtapError) as exc:
        ctap.large_blobs(10, set=good[10:], pin_uv_param=wrong_param, pin_uv_protocol=2)
    assert code(exc) == ERR.PIN_AUTH_INVALID
    set_fragment(ctap, protocol, token, 10, good[10:])  # the write in progress is still there
    assert stored_array(store) == good


def test_large_blob_integrity_failure_keeps_the_old_array() -> None:
    protocol = PinProtocolV2()
    store = InMemoryStore()
    va = make_va(store=store)
    ctap = ctap_for(va)
    token = uv_token(ctap, protocol, PERM.LARGE_BLOB_WRITE)
    good = serialized(fido2_cbor.encode([{1: b"old"}]))
    set_fragment(ctap, protocol, token, 0, good, len(good))
    corrupted = bytearray(serialized(fido2_cbor.encode([{1: b"new"}])))
    corrupted[3] ^= 0x01
    set_fragment(ctap, protocol, token, 0, bytes(corrupted[:8]), len(corrupted))
    assert stored_array(store) == good  # nothing is committed before the last fragment
    with pytest.raises(CtapError) as exc:
        set_fragment(ctap, protocol, token, 8, bytes(corrupted[8:]))
    assert code(exc) == ERR.INTEGRITY_FAILURE
    assert stored_array(store) == good
    assert ctap.large_blobs(0, get=100)[1] == good
    with pytest.raises(CtapError) as exc:  # the failed write is over
        set_fragment(ctap, protocol, token, 8, bytes(corrupted[8:]))
    assert code(exc) == ERR.INVALID_SEQ


def test_large_blob_write_on_an_unprotected_authenticator_needs_no_token() -> None:
    store = InMemoryStore()
    va = make_va(store=store, has_user_verification=False)
    ctap = ctap_for(va)
    data = serialized(fido2_cbor.encode([{1: b"free"}]))
    ctap.large_blobs(0, set=data, length=len(data))
    assert stored_array(store) == data


def test_large_blob_write_lost_on_power_cycle() -> None:
    protocol = PinProtocolV2()
    va = make_va()
    ctap = ctap_for(va)
    token = uv_token(ctap, protocol, PERM.LARGE_BLOB_WRITE)
    good = serialized(fido2_cbor.encode([{1: b"x"}]))
    set_fragment(ctap, protocol, token, 0, good[:10], len(good))
    va.power_cycle()
    token = uv_token(ctap, protocol, PERM.LARGE_BLOB_WRITE)
    with pytest.raises(CtapError) as exc:
        set_fragment(ctap, protocol, token, 10, good[10:])
    assert code(exc) == ERR.INVALID_SEQ


def test_reset_wipes_the_large_blob_array() -> None:
    store = InMemoryStore()
    va = make_va(store=store, reset_window_s=None)
    blobs = lbw_blobs(va)
    blobs.write_blob_array([{1: b"secret"}])
    assert stored_array(store) != EMPTY_LARGE_BLOB_ARRAY
    ctap = ctap_for(va)
    ctap.reset()
    assert stored_array(store) == EMPTY_LARGE_BLOB_ARRAY
    assert ctap.large_blobs(0, get=100)[1] == EMPTY_LARGE_BLOB_ARRAY
